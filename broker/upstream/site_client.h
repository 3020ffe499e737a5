// The port to a ShotGrid site: its REST token endpoint
// (POST /api/v1/auth/access_token), the session tokens of /api3/json
// (get_session_token) and the app session launcher of browser-approved logins.
// The real implementation is CurlSiteClient; unit tests use fakes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/common/cancel_signal.h"

namespace credbroker {

enum class GrantType { kPassword, kClientCredentials, kRefreshToken, kSessionToken };

// What a request asks the site for: REST tokens from the token endpoint, or
// a session token from /api3/json (kPassword and kClientCredentials only).
enum class TokenKind { kRest, kSessionToken };

// The wire name of a grant, e.g. "client_credentials".
absl::string_view GrantTypeName(GrantType grant);
// The name site calls are logged and counted under, e.g. "password" or
// "get_session_token:password".
absl::string_view SiteCallName(GrantType grant, TokenKind kind);

// One token request. Only the fields of its grant are sent. Holds secrets:
// never log or print it.
struct TokenRequest {
  GrantType grant = GrantType::kPassword;
  TokenKind kind = TokenKind::kRest;
  // kPassword.
  std::string username;
  std::string password;
  std::string auth_token;  // The 2FA code; empty when none is sent.
  // kClientCredentials.
  std::string script_name;
  std::string script_key;
  // kRefreshToken.
  std::string refresh_token;
  // kSessionToken: exchanged for REST tokens.
  std::string session_token;
  // kPassword and kClientCredentials: sent as scope=sudo_as_login:<login>.
  std::string sudo_as_login;
  // Sent to the site for traceability; never a secret.
  std::string session_uuid;
  // When it fires, the request is abandoned (UPSTREAM_UNAVAILABLE, marked as
  // not processed if it had not left yet). Null: only the deadline stops it.
  std::shared_ptr<CancelSignal> cancel;
};

// What the site granted: REST tokens, or (TokenKind::kSessionToken) only
// session_token, which comes with no lifetime (expires_in zero).
struct TokenGrant {
  std::string access_token;
  std::string token_type;
  absl::Duration expires_in;
  std::string refresh_token;
  std::string session_token;
};

// The credential a grant hands out: the session token, else the access token.
const std::string& GrantedToken(const TokenGrant& grant);

// A launcher request the site opened for a browser-approved login.
struct LauncherRequest {
  // The site's id. Stays inside the broker.
  std::string site_request_id;
  // The page the person opens to approve.
  std::string approval_url;
};

// One poll of a launcher request. Rejected or expired requests are errors
// (CHALLENGE_NOT_FOUND), not states.
struct LauncherState {
  bool approved = false;
  // Set when approved. A secret.
  std::string session_token;
  std::string user_login;
};

class SiteClient {
 public:
  using TokenCallback = std::function<void(absl::StatusOr<TokenGrant>)>;
  using LauncherRequestCallback = std::function<void(absl::StatusOr<LauncherRequest>)>;
  using LauncherStateCallback = std::function<void(absl::StatusOr<LauncherState>)>;

  virtual ~SiteClient() = default;

  // Whether `site` names a configured site.
  virtual bool HasSite(absl::string_view site) const = 0;
  // The site's base URL as configured (empty for an unknown site).
  virtual std::string SiteUrl(absl::string_view site) const { return std::string(); }
  // Sends `request` to `site`'s token endpoint and calls `done` once, on some
  // other thread or this one, with the grant or an error with a reason from
  // docs/api.md (SECOND_FACTOR_REQUIRED for the site's code 106). The call is
  // abandoned with UPSTREAM_UNAVAILABLE at `deadline`.
  virtual void RequestToken(absl::string_view site, const TokenRequest& request,
                            absl::Time deadline, TokenCallback done) = 0;

  // Opens an app session launcher request for a browser-approved login.
  virtual void StartLauncherRequest(absl::string_view site, const std::string& app_name,
                                    const std::string& machine_id, absl::Time deadline,
                                    std::shared_ptr<CancelSignal> cancel,
                                    LauncherRequestCallback done);
  // Asks the site whether the person approved the request yet.
  virtual void PollLauncherRequest(absl::string_view site, const std::string& site_request_id,
                                   absl::Time deadline, std::shared_ptr<CancelSignal> cancel,
                                   LauncherStateCallback done);
};

}  // namespace credbroker
