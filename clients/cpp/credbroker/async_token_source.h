// The token sources for services built on gRPC's callback API. Token() never
// blocks the calling thread: it answers at once from the cache, or asks the
// broker through the stub's async() callback methods and answers when the
// broker does. Concurrent callers share one call (single flight), as with the
// blocking sources in token_source.h:
//   AsyncSessionTokenSource: a person's session (caller custody), refreshed
//     with RefreshSession, keeping the rotated refresh token.
//   AsyncScriptTokenSource: IssueScriptSession, REST access tokens or
//     /api3/json session tokens (ScriptOptions::kind).
//   AsyncHeldSessionTokenSource: a session the broker keeps (broker
//     custody), through GetAccessToken.
//
// Every source holds its stub itself, never in a call's callback: the last
// reference to a channel must not be dropped on gRPC's own callback thread.
// A call in flight finishes and answers its callers after the source is
// gone. Keep the stub's channel for as long as callbacks may run, and a
// little after: gRPC 1.51 may still be finishing a call on its callback
// thread when the callback returns, and a channel destroyed in that moment
// double-frees its callback queue. A service keeps its channel for its whole
// life anyway.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "credbroker/broker_error.h"
#include "credbroker/token_source.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace credbroker::client {

// Called once per Token() call, either on the caller's thread (cached token)
// or on a gRPC thread: keep it short and never block in it. `error` is null
// on success.
using TokenCallback = std::function<void(const std::string& token, const BrokerError* error)>;
// Called once when a Revoke() is done: `error` is null on success.
using RevokeCallback = std::function<void(const BrokerError* error)>;

namespace detail {
// The callback single flight every async source shares
// (async_token_source.cc).
class AsyncTokenState;
}  // namespace detail

class AsyncSessionTokenSource {
 public:
  using Done = TokenCallback;

  // Same arguments as SessionTokenSource; options.on_update runs on a gRPC
  // thread. Throws std::invalid_argument for a missing stub (or one without
  // async()) or a session without a refresh token.
  AsyncSessionTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                          v1::Session session, TokenSourceOptions options = {});
  ~AsyncSessionTokenSource();

  // The access token; REFRESH_TOKEN_INVALID means the person logs in again.
  void Token(Done done);
  // `token` was refused by the site: if it is the cached one, the next
  // Token() refreshes.
  void Invalidate(const std::string& token);
  // The current (latest rotated) refresh token.
  std::string RefreshToken() const;
  v1::Session CurrentSession() const;
  // Spends the refresh token at the site (RevokeSession), then calls `done`.
  void Revoke(RevokeCallback done);

 private:
  std::shared_ptr<v1::CredentialBroker::StubInterface> stub_;
  std::shared_ptr<detail::AsyncTokenState> state_;
};

class AsyncScriptTokenSource {
 public:
  using Done = TokenCallback;

  // Same arguments as ScriptTokenSource (an empty key: the broker's
  // keyring). Throws std::invalid_argument for a missing stub or one
  // without async().
  AsyncScriptTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                         std::string script_name, std::string script_key, ScriptOptions script = {},
                         TokenSourceOptions options = {});
  ~AsyncScriptTokenSource();

  // The access token, or with CREDENTIAL_KIND_SESSION_TOKEN the session
  // token; INVALID_SCRIPT_KEY, CALLER_NOT_ALLOWED, ... as errors.
  void Token(Done done);
  // `token` was refused by the site: if it is the cached one, the next
  // Token() asks the broker with rejected_token set.
  void Invalidate(const std::string& token);
  // The last session issued (empty before the first answer).
  v1::Session CurrentSession() const;

 private:
  const std::string script_name_;
  const std::string script_key_;
  const ScriptOptions script_;
  std::shared_ptr<v1::CredentialBroker::StubInterface> stub_;
  std::shared_ptr<detail::AsyncTokenState> state_;
};

class AsyncHeldSessionTokenSource {
 public:
  using Done = TokenCallback;

  // Same arguments as HeldSessionTokenSource; the stub must offer async()
  // (every generated stub does). Throws std::invalid_argument otherwise, for
  // a missing stub or an empty session id.
  AsyncHeldSessionTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                              std::string session_id,
                              std::chrono::seconds min_validity = std::chrono::seconds(60),
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~AsyncHeldSessionTokenSource();

  // SESSION_NOT_FOUND or REFRESH_TOKEN_INVALID mean the person logs in again.
  void Token(Done done);
  // Drops the cached token: the next Token() asks the broker.
  void Invalidate();
  // `token` was refused by the site: if it is the cached one, the next
  // Token() has the broker refresh the session now (RefreshSession).
  void Invalidate(const std::string& token);
  // Ends the session at the broker (RevokeSession), then calls `done`.
  void Revoke(RevokeCallback done);
  const std::string& session_id() const { return session_id_; }

 private:
  const std::string session_id_;
  std::chrono::seconds min_validity_;
  std::shared_ptr<v1::CredentialBroker::StubInterface> stub_;
  std::shared_ptr<detail::AsyncTokenState> state_;
};

}  // namespace credbroker::client
