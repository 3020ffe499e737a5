// Sessions whose refresh token the caller holds (caller custody): refreshing
// them and revoking them. The site has no revocation endpoint, so revoking
// spends the refresh token with one refresh whose answer is thrown away.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/common/call_context.h"
#include "broker/common/clock.h"
#include "broker/common/session.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

class CallerSessions {
 public:
  using SessionCallback = std::function<void(absl::StatusOr<SessionInfo>)>;
  using DoneCallback = std::function<void(absl::Status)>;

  CallerSessions(std::string default_site, SiteClient& sites, const Clock& clock, Logger& logger);

  // A new access token and a new refresh token; the one sent is spent.
  void Refresh(std::string site, std::string refresh_token, CallContext call, SessionCallback done);
  // Spends the refresh token. A token the site already refuses counts as
  // revoked: revoking is idempotent.
  void Revoke(std::string site, std::string refresh_token, CallContext call, DoneCallback done);

 private:
  void SpendRefreshToken(const std::string& site, const std::string& refresh_token,
                         const CallContext& call, SiteClient::TokenCallback done);

  const std::string default_site_;
  SiteClient& sites_;
  const Clock& clock_;
  Logger& logger_;
};

}  // namespace credbroker
