// Audit events: one JSON line per login step or issued/refused session, for
// the studio's security team. They name who and what, never a secret.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "broker/common/call_context.h"
#include "broker/telemetry/logger.h"

namespace credbroker {

struct AuditEvent {
  std::string step;  // begin_login, submit_second_factor, refresh_session, ...
  std::string caller;
  std::string site;
  std::string username;
  std::string script_name;
  std::string sudo_as_login;
  std::string outcome;  // session, challenge, revoked, refused
  // "session_token" when the session is one; empty for REST tokens.
  std::string credential;
  std::string client_address;
  std::string user_agent;
  std::string request_id;
};

// An event for `step` naming the call's caller, client address, user agent
// and request id.
AuditEvent AuditEventFor(std::string step, const CallContext& call);

// Writes the event; a non-OK `status` sets outcome "refused" and its reason.
void WriteAudit(Logger& logger, const AuditEvent& event, const absl::Status& status);

}  // namespace credbroker
