// Audit lines go through the ordinary logger at info level with event "audit".
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
  // Who did what, then where from: the order a person reads an audit line in.
  nlohmann::ordered_json fields = {{"step", event.step}};
  if (!event.caller.empty()) fields["caller"] = event.caller;
  fields["site"] = event.site;
  if (!event.username.empty()) fields["username"] = event.username;
  if (!event.script_name.empty()) fields["script_name"] = event.script_name;
  if (!event.sudo_as_login.empty()) fields["sudo_as_login"] = event.sudo_as_login;
  fields["outcome"] = status.ok() ? event.outcome : "refused";
  if (!status.ok()) {
    const std::optional<Reason> reason = ReasonOf(status);
    fields["reason"] = reason ? std::string(ReasonName(*reason)) : "INTERNAL";
    Metrics::Get().Refusal(reason ? ReasonName(*reason) : "INTERNAL");
  }
  fields["client_address"] = event.client_address;
  if (!event.user_agent.empty()) fields["user_agent"] = event.user_agent;
  fields["request_id"] = event.request_id;
  logger.Log(LogLevel::kInfo, "audit", std::move(fields));
}

}  // namespace credbroker
