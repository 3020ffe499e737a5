// Fault knobs for the token endpoint: added latency and injected failures of the kinds seen
// in front of real sites (proxy error pages, dropped connections, garbage bodies).
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace fake_shotgrid {

enum class FailKind { kStatus, kReset, kMalformedJson };

struct FailSpec {
  FailKind kind = FailKind::kStatus;
  int status = 503;        // kStatus only
  bool json_body = false;  // kStatus: JSON envelope instead of an HTML proxy page
  int retry_after = -1;    // kStatus: Retry-After header when >= 0
  int times = -1;          // remaining requests it applies to; -1 = until reset
};

class FaultKnobs {
 public:
  // {"latency_ms":N} and/or {"fail":{...}|null}; fields absent are left unchanged.
  bool ApplyJson(const nlohmann::json& body, std::string* error);
  nlohmann::json ToJson() const;

  int latency_ms() const;
  // The failure to inject on this request, if any; consumes one of its `times` atomically so
  // concurrent requests never see more failures than were asked for.
  std::optional<FailSpec> TakeFailure();
  void Reset();

 private:
  mutable std::mutex mu_;
  int latency_ms_ = 0;
  std::optional<FailSpec> fail_;
};

}  // namespace fake_shotgrid
