// The reactor of every unary call: it tells the domain when gRPC cancels the
// call (the caller gave up, its deadline passed, or shutdown cut it), so a
// site call started for it stops, and it holds the caller's in-flight place
// until the answer is ready. The place is given back before the answer
// leaves, so a caller that has its answer can start its next call at once.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <utility>

#include "broker/api/status_mapping.h"
#include "broker/common/cancel_signal.h"

namespace credbroker {

class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall() : cancel_(std::make_shared<CancelSignal>()) {}

  const std::shared_ptr<CancelSignal>& cancel_signal() const { return cancel_; }
  // Kept until the answer is sent (see CallerInFlight).
  void Hold(std::shared_ptr<void> place) { place_ = std::move(place); }

  // Gives the caller's place back, then answers.
  void Answer(const absl::Status& status) {
    place_.reset();
    Finish(ToGrpcStatus(status));
  }

  void OnCancel() override { cancel_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<CancelSignal> cancel_;
  std::shared_ptr<void> place_;
};

}  // namespace credbroker
