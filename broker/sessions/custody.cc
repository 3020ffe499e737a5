// The one place where custody decides who keeps a refresh token.
#include "broker/sessions/custody.h"

#include "broker/common/errors.h"

namespace credbroker {

SessionInfo SessionFromGrant(const TokenGrant& grant, const std::string& site, absl::Time now) {
  SessionInfo session;
  session.access_token = grant.access_token;
  session.token_type = grant.token_type;
  session.expire_time = now + grant.expires_in;
  session.refresh_token = grant.refresh_token;
  session.session_token = grant.session_token;
  session.site = site;
  return session;
}

void DeliverSession(HeldSessions* held, SessionInfo session, int custody, const CallContext& call,
                    std::function<void(absl::StatusOr<SessionInfo>)> done) {
  if (custody != kBrokerCustody) return done(std::move(session));
  if (held == nullptr) {
    return done(BrokerError(Reason::kNotImplemented, "broker custody is not available here"));
  }
  held->Keep(std::move(session), call, std::move(done));
}

}  // namespace credbroker
