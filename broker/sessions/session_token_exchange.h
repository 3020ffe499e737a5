// Session tokens (from shotgun_api3, Toolkit, a web session or an approved
// browser login) exchanged for REST tokens with the site's session_token
// grant. Using a session token does not consume it.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/common/call_context.h"
#include "broker/common/clock.h"
#include "broker/common/session.h"
#include "broker/sessions/held_sessions.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

class SessionTokenExchange {
 public:
  using SessionCallback = std::function<void(absl::StatusOr<SessionInfo>)>;

  // `held` keeps sessions asked for with broker custody; may be null.
  SessionTokenExchange(std::string default_site, SiteClient& sites, const Clock& clock,
                       Logger& logger, HeldSessions* held);

  // ExchangeSessionToken: audited as one call. The site's answer names no
  // user, so the principal stays empty. A refused token is
  // INVALID_CREDENTIALS.
  void Exchange(std::string site, std::string session_token, int custody, CallContext call,
                SessionCallback done);
  // The REST session of a person whose session token the site just handed
  // the broker (a browser-approved login), on a resolved `site`. The caller
  // audits.
  void ToRestSession(const std::string& site, const std::string& session_token,
                     const std::string& user_login, int custody, const CallContext& call,
                     SessionCallback done);

 private:
  const std::string default_site_;
  SiteClient& sites_;
  const Clock& clock_;
  Logger& logger_;
  HeldSessions* const held_;
};

}  // namespace credbroker
