// Refresh answers carry no login name (tokens are opaque to the broker), so a
// refreshed session's principal is left empty rather than guessed.
#include "broker/sessions/caller_sessions.h"

#include "broker/common/errors.h"
#include "broker/sessions/custody.h"
#include "broker/telemetry/audit.h"
#include "broker/upstream/site_resolution.h"

namespace credbroker {
namespace {

AuditEvent SessionEvent(std::string step, std::string site, const CallContext& call,
                        std::string outcome) {
  AuditEvent event = AuditEventFor(std::move(step), call);
  event.site = std::move(site);
  event.outcome = std::move(outcome);
  return event;
}

}  // namespace

CallerSessions::CallerSessions(std::string default_site, SiteClient& sites, const Clock& clock,
                               Logger& logger)
    : default_site_(std::move(default_site)), sites_(sites), clock_(clock), logger_(logger) {}

void CallerSessions::SpendRefreshToken(const std::string& site, const std::string& refresh_token,
                                       const CallContext& call, SiteClient::TokenCallback done) {
  TokenRequest request;
  request.grant = GrantType::kRefreshToken;
  request.refresh_token = refresh_token;
  sites_.RequestToken(site, request, call.deadline, std::move(done));
}

void CallerSessions::Refresh(std::string site_name, std::string refresh_token, CallContext call,
                             SessionCallback done) {
  absl::StatusOr<std::string> site = ResolveSite(sites_, default_site_, site_name);
  if (!site.ok()) {
    WriteAudit(logger_, SessionEvent("refresh_session", site_name, call, ""), site.status());
    return done(site.status());
  }
  SpendRefreshToken(
      *site, refresh_token, call,
      [this, site = *site, call, done = std::move(done)](absl::StatusOr<TokenGrant> grant) {
        WriteAudit(logger_, SessionEvent("refresh_session", site, call, "session"), grant.status());
        if (!grant.ok()) return done(grant.status());
        done(SessionFromGrant(*grant, site, clock_.Now()));
      });
}

void CallerSessions::Revoke(std::string site_name, std::string refresh_token, CallContext call,
                            DoneCallback done) {
  absl::StatusOr<std::string> site = ResolveSite(sites_, default_site_, site_name);
  if (!site.ok()) {
    WriteAudit(logger_, SessionEvent("revoke_session", site_name, call, ""), site.status());
    return done(site.status());
  }
  SpendRefreshToken(
      *site, refresh_token, call,
      [this, site = *site, call, done = std::move(done)](absl::StatusOr<TokenGrant> grant) {
        absl::Status result = grant.status();
        if (HasReason(result, Reason::kRefreshTokenInvalid)) result = absl::OkStatus();
        WriteAudit(logger_, SessionEvent("revoke_session", site, call, "revoked"), result);
        done(result);
      });
}

}  // namespace credbroker
