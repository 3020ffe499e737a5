// The port to a ShotGrid site's token endpoint (POST /api/v1/auth/access_token).
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

enum class GrantType { kPassword, kClientCredentials, kRefreshToken };

// The wire name of a grant, e.g. "client_credentials".
absl::string_view GrantTypeName(GrantType grant);

// One token request. Only the fields of its grant are sent. Holds secrets:
// never log or print it.
struct TokenRequest {
  GrantType grant = GrantType::kPassword;
  // kPassword.
  std::string username;
  std::string password;
  std::string auth_token;  // The 2FA code; empty when none is sent.
  // kClientCredentials.
  std::string script_name;
  std::string script_key;
  // kRefreshToken.
  std::string refresh_token;
  // kPassword and kClientCredentials: sent as scope=sudo_as_login:<login>.
  std::string sudo_as_login;
  // Sent to the site for traceability; never a secret.
  std::string session_uuid;
  // When it fires, the request is abandoned (UPSTREAM_UNAVAILABLE, marked as
  // not processed if it had not left yet). Null: only the deadline stops it.
  std::shared_ptr<CancelSignal> cancel;
};

// What the site granted.
struct TokenGrant {
  std::string access_token;
  std::string token_type;
  absl::Duration expires_in;
  std::string refresh_token;
};

class SiteClient {
 public:
  using TokenCallback = std::function<void(absl::StatusOr<TokenGrant>)>;

  virtual ~SiteClient() = default;

  // Whether `site` names a configured site.
  virtual bool HasSite(absl::string_view site) const = 0;
  // Sends `request` to `site`'s token endpoint and calls `done` once, on some
  // other thread or this one, with the grant or an error with a reason from
  // docs/api.md (SECOND_FACTOR_REQUIRED for the site's code 106). The call is
  // abandoned with UPSTREAM_UNAVAILABLE at `deadline`.
  virtual void RequestToken(absl::string_view site, const TokenRequest& request,
                            absl::Time deadline, TokenCallback done) = 0;
};

}  // namespace credbroker
