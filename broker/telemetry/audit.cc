// Audit lines go through the ordinary logger at info level with event "audit".
#include "broker/telemetry/audit.h"

#include "broker/common/errors.h"

namespace credbroker {

void WriteAudit(Logger& logger, const AuditEvent& event, const absl::Status& status) {
  nlohmann::json fields = {
      {"step", event.step},
      {"site", event.site},
      {"outcome", status.ok() ? event.outcome : "refused"},
      {"client_address", event.client_address},
      {"request_id", event.request_id},
  };
  if (!event.user_agent.empty()) fields["user_agent"] = event.user_agent;
  if (!event.username.empty()) fields["username"] = event.username;
  if (!event.script_name.empty()) fields["script_name"] = event.script_name;
  if (!event.sudo_as_login.empty()) fields["sudo_as_login"] = event.sudo_as_login;
  if (!status.ok()) {
    const std::optional<Reason> reason = ReasonOf(status);
    fields["reason"] = reason ? std::string(ReasonName(*reason)) : "INTERNAL";
  }
  logger.Log(LogLevel::kInfo, "audit", std::move(fields));
}

}  // namespace credbroker
