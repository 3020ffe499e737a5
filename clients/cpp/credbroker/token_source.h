// Token sources: hand out an access token that stays valid for at least a
// margin, asking the broker for a new one first when needed. Thread-safe;
// concurrent callers share one call to the broker (single flight).
//   SessionTokenSource: a person's session (caller custody), refreshed with
//     RefreshSession; keeps the rotated refresh token (refresh tokens are
//     single use).
//   ScriptTokenSource: IssueScriptSession with a script's name and key, for
//     REST access tokens or /api3/json session tokens (ScriptOptions::kind).
//   HeldSessionTokenSource: a person's session kept by the broker (broker
//     custody), named by its session id; GetAccessToken hands out the token
//     and the broker refreshes it. The caller holds no refresh token.
// Invalidate(token) is for a token the site refused (HTTP 401, or fault 102
// from /api3/json): the next call gets a fresh one. A script source tells the
// broker which token was refused (IssueScriptSession.rejected_token) so that
// the broker stops handing it out to every caller; a held source has the
// broker refresh the session now (RefreshSession with its session id).
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
// What a session hands out: its session token (CREDENTIAL_KIND_SESSION_TOKEN)
// if it has one, else its access token.
const std::string& CredentialOf(const v1::Session& session);
// Whether the session's credential is good for more than `margin`. A
// session token carries no lifetime: it is good until reported refused.
bool IsFresh(const v1::Session& session, std::chrono::seconds margin);
// A fetched session completed with what the answer leaves out and `current`
// knows: a refresh answer names no principal and may omit the site, its URL
// and an unchanged refresh token.
v1::Session Merged(const v1::Session& current, v1::Session fetched);

// The shared single-flight cache behind the blocking sources.
class TokenCache {
 public:
  // `rejected`: the token Invalidate(token) dropped since the last successful
  // fetch, or "".
  using Fetch = std::function<v1::Session(const v1::Session& current, const std::string& rejected)>;
  TokenCache(TokenSourceOptions options, Fetch fetch);
  void Set(v1::Session session);
  // The cached credential while fresh, else the one fetched (single flight).
  std::string Token();
  v1::Session Current() const;
  // Drops the cached token: the next Token() fetches. A fetch in flight
  // meanwhile still answers its callers but is not cached.
  void Invalidate();
  // The same if `token` is the cached one, and the next fetch is told it was
  // rejected; an older token (already replaced) changes nothing.
  void Invalidate(const std::string& token);

 private:
  const TokenSourceOptions options_;
  const Fetch fetch_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  bool has_session_ = false;
  v1::Session session_;
  std::string rejected_;
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
  // `token` was refused by the site: if it is the cached access token, the
  // next AccessToken() refreshes even though it has not expired.
  void Invalidate(const std::string& token);
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
  // CREDENTIAL_KIND_SESSION_TOKEN: the source hands out session tokens for
  // /api3/json (shotgun_api3, Toolkit) instead of REST access tokens. They
  // carry no lifetime: one is kept until Invalidate(token).
  v1::CredentialKind kind = v1::CREDENTIAL_KIND_REST;
};

namespace detail {
// The IssueScriptSession request of a script source (blocking or callback).
v1::IssueScriptSessionRequest ScriptSessionRequest(const std::string& script_name,
                                                   const std::string& script_key,
                                                   const ScriptOptions& script,
                                                   const std::string& rejected);
// `current` with the access token GetAccessToken answered.
v1::Session WithAccessToken(v1::Session current, const v1::AccessToken& answer);
// `current` with the access token a RefreshSession by session id answered.
v1::Session WithRefreshedToken(v1::Session current, const v1::Session& answer);
// The held sources' fetch: GetAccessToken, or after Invalidate(token)
// (`rejected` set) a RefreshSession by session id.
v1::GetAccessTokenRequest HeldTokenRequest(const std::string& session_id,
                                           std::chrono::seconds min_validity);
v1::RefreshSessionRequest HeldRefreshRequest(const std::string& session_id);
}  // namespace detail

class ScriptTokenSource {
 public:
  // An empty `script_key`: the broker's keyring supplies it (for callers its
  // policy allows).
  ScriptTokenSource(std::shared_ptr<v1::CredentialBroker::StubInterface> stub,
                    std::string script_name, std::string script_key, ScriptOptions script = {},
                    TokenSourceOptions options = {});

  // The access token, or with CREDENTIAL_KIND_SESSION_TOKEN the session
  // token. Throws BrokerError (INVALID_SCRIPT_KEY, ...).
  std::string Token();
  // Same as Token(), under the name the REST sources use.
  std::string AccessToken() { return Token(); }
  // `token` was refused by the site (401, or fault 102 for a session token):
  // if it is the cached one, the next Token() asks the broker with
  // rejected_token set, and the broker replaces it for every caller. Any
  // number of reports of one token make one broker call.
  void Invalidate(const std::string& token);
  // The last session issued (empty before the first Token()).
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
  // Drops the cached token: the next Token() asks the broker, which answers
  // the token it holds while that has min_validity left.
  void Invalidate();
  // `token` was refused by the site (401): if it is the cached one, the next
  // Token() has the broker refresh the session at the site now
  // (RefreshSession by session id; the caller's policy needs that method).
  void Invalidate(const std::string& token);
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
