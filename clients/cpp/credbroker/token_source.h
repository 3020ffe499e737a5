// Token sources: hand out an access token that stays valid for at least a
// margin, asking the broker for a new one first when needed. Thread-safe;
// concurrent callers share one call to the broker (single flight).
//   SessionTokenSource: a person's session (caller custody), refreshed with
//     RefreshSession; keeps the rotated refresh token (refresh tokens are
//     single use).
//   ScriptTokenSource: IssueScriptSession with a script's name and key.
//   HeldSessionTokenSource: a person's session kept by the broker (broker
//     custody), named by its session id; GetAccessToken hands out the token
//     and the broker refreshes it. The caller holds no refresh token.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "credbroker/v1/broker.grpc.pb.h"

namespace credbroker::client {

struct TokenSourceOptions {
  // AccessToken() returns a token valid for at least this long, when the
  // site's token lifetime allows it (a token that lives less than the margin
  // is handed out once fetched, rather than fetched again and again).
  std::chrono::seconds margin{60};
  // Deadline of each broker call.
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  // Called (outside the lock) with the new session after each successful
  // fetch, e.g. to store the rotated refresh token.
  std::function<void(const v1::Session&)> on_update;
};

namespace detail {
// The shared single-flight cache behind both sources.
class TokenCache {
 public:
  using Fetch = std::function<v1::Session(const v1::Session& current)>;
  TokenCache(TokenSourceOptions options, Fetch fetch);
  void Set(v1::Session session);
  std::string AccessToken();
  v1::Session Current() const;
  // Drops the cached access token: the next AccessToken() fetches. A fetch in
  // flight meanwhile still answers its callers but is not cached.
  void Invalidate();

 private:
  bool FreshLocked(std::chrono::seconds margin) const;

  const TokenSourceOptions options_;
  const Fetch fetch_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  bool has_session_ = false;
  v1::Session session_;
  bool in_flight_ = false;
  uint64_t flights_ = 0;
  uint64_t invalidations_ = 0;
  std::exception_ptr last_error_;
};
}  // namespace detail

class SessionTokenSource {
 public:
  // `session` from Login() (or a stored one); it must carry a refresh token.
  // Throws std::invalid_argument otherwise.
  SessionTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub, v1::Session session,
                     TokenSourceOptions options = {});

  // Throws BrokerError when a needed refresh fails (REFRESH_TOKEN_INVALID:
  // the person logs in again).
  std::string AccessToken();
  // The current (latest rotated) refresh token.
  std::string RefreshToken() const;
  v1::Session CurrentSession() const;
  // Spends the refresh token at the site (RevokeSession). Throws BrokerError.
  void Revoke();

 private:
  std::shared_ptr<v1::CredentialBroker::StubInterface> stub_;
  TokenSourceOptions options_;
  std::unique_ptr<detail::TokenCache> cache_;
};

struct ScriptOptions {
  // Empty: the broker's default site.
  std::string site;
  // Act as this user (ShotGrid sudo), optional.
  std::string sudo_as_login;
};

class ScriptTokenSource {
 public:
  ScriptTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                    std::string script_name, std::string script_key, ScriptOptions script = {},
                    TokenSourceOptions options = {});

  // Throws BrokerError (INVALID_SCRIPT_KEY, ...).
  std::string AccessToken();
  // The last session issued (empty before the first AccessToken()).
  v1::Session CurrentSession() const;

 private:
  std::unique_ptr<detail::TokenCache> cache_;
};

// The longest min_validity the broker honours (site tokens live about 600 s).
inline constexpr std::chrono::seconds kMaxMinValidity{300};

class HeldSessionTokenSource {
 public:
  // `session_id` from a broker-custody login (Session::session_id()).
  // Token() returns an access token valid for at least `min_validity`
  // (capped at kMaxMinValidity, as the broker caps it). Throws
  // std::invalid_argument for a missing stub or an empty session id.
  HeldSessionTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                         std::string session_id,
                         std::chrono::seconds min_validity = std::chrono::seconds(60),
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // The cached token while it has more than min_validity left, else one
  // GetAccessToken shared by every concurrent caller. Throws BrokerError:
  // SESSION_NOT_FOUND or REFRESH_TOKEN_INVALID mean the person logs in again.
  std::string Token();
  // Drops the cached token (e.g. after the site answered 401 to it): the
  // next Token() asks the broker.
  void Invalidate();
  // Ends the session at the broker (RevokeSession: the refresh token is spent
  // at the site). Idempotent. Later Token() calls throw SESSION_NOT_FOUND.
  void Revoke();
  const std::string& session_id() const { return session_id_; }

 private:
  std::shared_ptr<v1::CredentialBroker::StubInterface> stub_;
  const std::string session_id_;
  const std::chrono::milliseconds timeout_;
  std::unique_ptr<detail::TokenCache> cache_;
};

}  // namespace credbroker::client
