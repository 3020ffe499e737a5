// Script-key sessions (client_credentials). Unchanged by a site's 2FA. Tokens
// are shared per (site, script, key digest, sudo_as) through the TokenCache.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/common/call_context.h"
#include "broker/common/session.h"
#include "broker/scripts/token_cache.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct ScriptSessionParams {
  std::string site;
  std::string script_name;
  std::string script_key;
  std::string sudo_as_login;
};

class ScriptSessions {
 public:
  using SessionCallback = std::function<void(absl::StatusOr<SessionInfo>)>;

  ScriptSessions(std::string default_site, SiteClient& sites, TokenCache& cache, Logger& logger);

  void Issue(ScriptSessionParams params, CallContext call, SessionCallback done);

 private:
  const std::string default_site_;
  SiteClient& sites_;
  TokenCache& cache_;
  Logger& logger_;
};

}  // namespace credbroker
