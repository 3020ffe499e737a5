// One site call (grant_type=session_token), then custody as the caller asked.
#include "broker/sessions/session_token_exchange.h"

#include <openssl/crypto.h>

#include "broker/sessions/custody.h"
#include "broker/telemetry/audit.h"
#include "broker/upstream/site_resolution.h"

namespace credbroker {

SessionTokenExchange::SessionTokenExchange(std::string default_site, SiteClient& sites,
                                           const Clock& clock, Logger& logger, HeldSessions* held)
    : default_site_(std::move(default_site)),
      sites_(sites),
      clock_(clock),
      logger_(logger),
      held_(held) {}

void SessionTokenExchange::Exchange(std::string site_name, std::string session_token, int custody,
                                    CallContext call, SessionCallback done) {
  AuditEvent event = AuditEventFor("exchange_session_token", call);
  event.outcome = "session";
  absl::StatusOr<std::string> site = ResolveSite(sites_, default_site_, site_name);
  event.site = site.ok() ? *site : site_name;
  if (!site.ok()) {
    WriteAudit(logger_, event, site.status());
    return done(site.status());
  }
  ToRestSession(*site, session_token, /*user_login=*/"", custody, call,
                [this, event, done = std::move(done)](absl::StatusOr<SessionInfo> session) {
                  WriteAudit(logger_, event, session.status());
                  done(std::move(session));
                });
}

void SessionTokenExchange::ToRestSession(const std::string& site, const std::string& session_token,
                                         const std::string& user_login, int custody,
                                         const CallContext& call, SessionCallback done) {
  TokenRequest request;
  request.grant = GrantType::kSessionToken;
  request.session_token = session_token;
  request.cancel = call.cancel;
  sites_.RequestToken(site, request, call.deadline,
                      [this, site, user_login, custody, call,
                       done = std::move(done)](absl::StatusOr<TokenGrant> grant) mutable {
                        if (!grant.ok()) return done(grant.status());
                        SessionInfo session = SessionFromGrant(*grant, site, clock_.Now());
                        session.principal.user_login = user_login;
                        DeliverSession(held_, std::move(session), custody, call, std::move(done));
                      });
  OPENSSL_cleanse(request.session_token.data(), request.session_token.size());
}

}  // namespace credbroker
