// The cache key holds a digest of the script key, never the key, so a wrong
// key can never be served a token cached for the right one.
#include "broker/scripts/script_sessions.h"

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/crypto/digest.h"
#include "broker/telemetry/audit.h"
#include "broker/upstream/site_resolution.h"

namespace credbroker {

ScriptSessions::ScriptSessions(std::string default_site, SiteClient& sites, TokenCache& cache,
                               Logger& logger)
    : default_site_(std::move(default_site)), sites_(sites), cache_(cache), logger_(logger) {}

void ScriptSessions::Issue(ScriptSessionParams params, CallContext call, SessionCallback done) {
  AuditEvent event;
  event.step = "issue_script_session";
  event.script_name = params.script_name;
  event.sudo_as_login = params.sudo_as_login;
  event.outcome = "session";
  event.client_address = call.client_address;
  event.request_id = call.request_id;

  absl::StatusOr<std::string> site = ResolveSite(sites_, default_site_, params.site);
  absl::Status refused = site.status();
  if (refused.ok() && params.script_key.empty()) {
    refused = BrokerError(Reason::kNotImplemented,
                          "this broker holds no script keys yet; pass script_key");
  }
  if (!refused.ok()) {
    event.site = params.site;
    WriteAudit(logger_, event, refused);
    return done(refused);
  }
  event.site = *site;

  const std::string key = absl::StrCat(*site, "\n", params.script_name, "\n",
                                       Sha256Hex(params.script_key), "\n", params.sudo_as_login);
  TokenRequest request;
  request.grant = GrantType::kClientCredentials;
  request.script_name = params.script_name;
  request.script_key = params.script_key;
  request.sudo_as_login = params.sudo_as_login;
  const absl::Time deadline = call.deadline;
  cache_.GetOrFetch(
      key,
      [this, site = *site, request, deadline](SiteClient::TokenCallback fetched) {
        sites_.RequestToken(site, request, deadline, std::move(fetched));
      },
      [this, event, script_name = params.script_name, sudo_as_login = params.sudo_as_login,
       site = *site, done = std::move(done)](absl::StatusOr<CachedToken> token) {
        WriteAudit(logger_, event, token.status());
        if (!token.ok()) return done(token.status());
        SessionInfo session;
        session.access_token = token->grant.access_token;
        session.token_type = token->grant.token_type;
        session.expire_time = token->expire_time;
        session.principal.script_name = script_name;
        session.principal.sudo_as_login = sudo_as_login;
        session.site = site;
        done(std::move(session));
      });
}

}  // namespace credbroker
