// Audit lines go through the logger with level "info" and event "audit",
// built field by field (one per call, on the hot path).
#include "broker/telemetry/audit.h"

#include "broker/common/errors.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {

AuditEvent AuditEventFor(std::string step, const CallContext& call) {
  AuditEvent event;
  event.step = std::move(step);
  event.caller = call.caller;
  event.client_address = call.client_address;
  event.user_agent = call.user_agent;
  event.request_id = call.request_id;
  return event;
}

void WriteAudit(Logger& logger, const AuditEvent& event, const absl::Status& status) {
  // Every call's line, whatever log_level says: audit is not a debug aid.
  // Who did what, then where from: the order a person reads an audit line in.
  JsonLine line = logger.Start(LogLevel::kInfo, "audit");
  line.Add("step", event.step);
  if (!event.caller.empty()) line.Add("caller", event.caller);
  line.Add("site", event.site);
  if (!event.username.empty()) line.Add("username", event.username);
  if (!event.script_name.empty()) line.Add("script_name", event.script_name);
  if (!event.sudo_as_login.empty()) line.Add("sudo_as_login", event.sudo_as_login);
  if (!event.credential.empty()) line.Add("credential", event.credential);
  line.Add("outcome", status.ok() ? absl::string_view(event.outcome) : "refused");
  if (!status.ok()) {
    const std::optional<Reason> reason = ReasonOf(status);
    const absl::string_view name = reason ? ReasonName(*reason) : "INTERNAL";
    line.Add("reason", name);
    Metrics::Get().Refusal(name);
  }
  line.Add("client_address", event.client_address);
  if (!event.user_agent.empty()) line.Add("user_agent", event.user_agent);
  line.Add("request_id", event.request_id);
  logger.Emit(std::move(line));
}

}  // namespace credbroker
