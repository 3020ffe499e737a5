// Timestamps are whole milliseconds: finer precision would be invented. A
// session token has no lifetime, so its Session has no expire_time rather
// than an invented one.
#include "broker/api/proto_conversion.h"

namespace credbroker {

void ToTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t millis = absl::ToUnixMillis(time);
  out->set_seconds(millis / 1000);
  out->set_nanos(static_cast<int32_t>(millis % 1000) * 1000000);
}

void ToProto(const SessionInfo& session, v1::Session* out) {
  if (!session.session_token.empty()) {
    out->set_session_token(session.session_token);
  } else {
    out->set_access_token(session.access_token);
    out->set_token_type(session.token_type);
    ToTimestamp(session.expire_time, out->mutable_expire_time());
  }
  out->set_refresh_token(session.refresh_token);
  out->mutable_principal()->set_user_login(session.principal.user_login);
  out->mutable_principal()->set_script_name(session.principal.script_name);
  out->mutable_principal()->set_sudo_as_login(session.principal.sudo_as_login);
  out->set_site(session.site);
  out->set_session_id(session.session_id);
}

void ToProto(const SessionInfo& session, v1::AccessToken* out) {
  out->set_access_token(session.access_token);
  out->set_token_type(session.token_type);
  ToTimestamp(session.expire_time, out->mutable_expire_time());
}

void ToProto(const LoginOutcome& outcome, v1::LoginResult* out) {
  if (outcome.has_session) return ToProto(outcome.session, out->mutable_session());
  v1::SecondFactorChallenge* challenge = out->mutable_challenge();
  challenge->set_challenge_id(outcome.challenge.challenge_id);
  ToTimestamp(outcome.challenge.expire_time, challenge->mutable_expire_time());
  challenge->set_attempts_left(outcome.challenge.attempts_left);
}

}  // namespace credbroker
