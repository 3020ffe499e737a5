// Parsing and atomic consumption of the fault knobs.
#include "faults.h"

namespace fake_shotgrid {

namespace {

const char* KindName(FailKind kind) {
  switch (kind) {
    case FailKind::kReset:
      return "reset";
    case FailKind::kMalformedJson:
      return "malformed_json";
    default:
      return "status";
  }
}

bool ParseFail(const nlohmann::json& j, FailSpec* out, std::string* error) {
  if (!j.is_object()) {
    *error = "fail must be an object or null";
    return false;
  }
  FailSpec spec;
  std::string kind = j.value("kind", "status");
  if (kind == "status")
    spec.kind = FailKind::kStatus;
  else if (kind == "reset")
    spec.kind = FailKind::kReset;
  else if (kind == "malformed_json")
    spec.kind = FailKind::kMalformedJson;
  else {
    *error = "unknown fail kind '" + kind + "'";
    return false;
  }
  try {
    spec.status = j.value("status", 503);
    std::string body = j.value("body", "html");
    if (body != "html" && body != "json") {
      *error = "body must be html or json";
      return false;
    }
    spec.json_body = body == "json";
    spec.retry_after = j.value("retry_after", -1);
    spec.times = j.value("times", -1);
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
  if (spec.status < 100 || spec.status > 599) {
    *error = "status must be an HTTP status";
    return false;
  }
  if (spec.times == 0 || spec.times < -1) {
    *error = "times must be positive or -1";
    return false;
  }
  *out = spec;
  return true;
}

}  // namespace

bool FaultKnobs::ApplyJson(const nlohmann::json& body, std::string* error) {
  if (!body.is_object()) {
    *error = "faults must be a JSON object";
    return false;
  }
  std::optional<int> latency;
  bool set_fail = false;
  std::optional<FailSpec> fail;
  if (body.contains("latency_ms")) {
    if (!body["latency_ms"].is_number_integer() || body["latency_ms"].get<int>() < 0) {
      *error = "latency_ms must be a non-negative integer";
      return false;
    }
    latency = body["latency_ms"].get<int>();
  }
  if (body.contains("fail")) {
    set_fail = true;
    if (!body["fail"].is_null()) {
      FailSpec spec;
      if (!ParseFail(body["fail"], &spec, error)) return false;
      fail = spec;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (latency) latency_ms_ = *latency;
  if (set_fail) fail_ = fail;
  return true;
}

nlohmann::json FaultKnobs::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json fail = nullptr;
  if (fail_) {
    fail = {{"kind", KindName(fail_->kind)},
            {"status", fail_->status},
            {"body", fail_->json_body ? "json" : "html"},
            {"retry_after", fail_->retry_after},
            {"times", fail_->times}};
  }
  return {{"latency_ms", latency_ms_}, {"fail", fail}};
}

int FaultKnobs::latency_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latency_ms_;
}

std::optional<FailSpec> FaultKnobs::TakeFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fail_) return std::nullopt;
  FailSpec taken = *fail_;
  if (fail_->times > 0 && --fail_->times == 0) fail_.reset();
  return taken;
}

void FaultKnobs::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  latency_ms_ = 0;
  fail_.reset();
}

}  // namespace fake_shotgrid
