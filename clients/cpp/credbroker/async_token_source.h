// AsyncHeldSessionTokenSource: the held-session token source (broker custody)
// for services built on gRPC's callback API. Token() never blocks the calling
// thread: it answers at once from the cache, or asks GetAccessToken through
// the stub's async() callback methods and answers when the broker does.
// Concurrent callers share one call (single flight), as with
// HeldSessionTokenSource.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "credbroker/broker_error.h"
#include "credbroker/token_source.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace credbroker::client {

class AsyncHeldSessionTokenSource {
 public:
  // Called once per Token() call, either on the caller's thread (cached
  // token) or on a gRPC thread: keep it short and never block in it.
  // `error` is null on success; SESSION_NOT_FOUND or REFRESH_TOKEN_INVALID
  // mean the person logs in again.
  using Done = std::function<void(const std::string& token, const BrokerError* error)>;

  // Same arguments as HeldSessionTokenSource; the stub must offer async()
  // (every generated stub does). Throws std::invalid_argument otherwise, for
  // a missing stub or an empty session id.
  AsyncHeldSessionTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                              std::string session_id,
                              std::chrono::seconds min_validity = std::chrono::seconds(60),
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // A call in flight finishes and answers its callers after the source is gone.
  // Keep the stub's channel for as long as callbacks may run, and a little
  // after: gRPC 1.51 may still be finishing a call on its callback thread
  // when the callback returns, and a channel destroyed in that moment
  // double-frees its callback queue. A service keeps its channel for its
  // whole life anyway.
  ~AsyncHeldSessionTokenSource();

  void Token(Done done);
  // Drops the cached token: the next Token() asks the broker.
  void Invalidate();
  // Ends the session at the broker (RevokeSession), then calls `done` with
  // null or the error.
  void Revoke(std::function<void(const BrokerError* error)> done);
  const std::string& session_id() const { return session_id_; }

 private:
  struct State;
  const std::string session_id_;
  // Held here, never by a call's callback: the last reference to a channel
  // must not be dropped on gRPC's own callback thread.
  std::shared_ptr<v1::CredentialBroker::StubInterface> stub_;
  std::shared_ptr<State> state_;
};

}  // namespace credbroker::client
