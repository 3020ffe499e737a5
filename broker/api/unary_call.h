// The one object a handler answers a unary call through, now or later.
//
// A call answered before its handler returns (a cached script token, a
// refusal) is finished on the context's default reactor, which gRPC completes
// inline on the thread that ran the handler. Only a call still waiting when
// its handler returns (a site or store call under way) gets a reactor of its
// own; it tells the domain when gRPC cancels the call (the caller gave up,
// its deadline passed, or shutdown cut it), so a site call started for it
// stops. A custom reactor's completion runs on gRPC's executor thread, a
// thread hop per call that the inline path avoids.
//
// The call holds the caller's in-flight place until the answer is ready and
// gives it back before the answer leaves, so a caller that has its answer can
// start its next call at once. An error that says when to try again also says
// it the way gRPC's own retry reads it (the grpc-retry-pushback-ms trailer,
// gRFC A6), so a client's service-config retry waits as long as asked.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <optional>

#include "absl/status/status.h"
#include "broker/common/cancel_signal.h"

namespace credbroker {

class UnaryCall {
 public:
  explicit UnaryCall(grpc::CallbackServerContext* context)
      : context_(context), cancel_(std::make_shared<CancelSignal>()) {}
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;

  const std::shared_ptr<CancelSignal>& cancel_signal() const { return cancel_; }
  // Kept until the answer is ready (see CallerInFlight).
  void Hold(std::shared_ptr<void> place) { place_ = std::move(place); }

  // Answers the call, from any thread; the first answer counts. The call
  // may be gone when this returns.
  void Answer(const absl::Status& status);

  // Called once, by the handler that made `call` with new, after it has run:
  // the reactor to give gRPC. Takes ownership of `call`.
  static grpc::ServerUnaryReactor* Release(UnaryCall* call);

 private:
  class Waiting;

  grpc::CallbackServerContext* const context_;
  std::shared_ptr<CancelSignal> cancel_;
  std::shared_ptr<void> place_;
  std::mutex mu_;
  bool answered_ = false;
  // Set by Answer while the handler still runs (the inline path).
  std::optional<grpc::Status> inline_answer_;
  // Set by Release when the handler returned unanswered.
  Waiting* waiting_ = nullptr;
};

}  // namespace credbroker
