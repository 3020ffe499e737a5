// Lines are written whole under a lock so concurrent calls never interleave.
#include "broker/telemetry/logger.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace credbroker {
namespace {

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LevelName(level)) return level;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("log level '", name, "' is not one of debug, info, warn, error"));
}

Logger::Logger(LogLevel min_level, std::ostream& out) : min_level_(min_level), out_(out) {}

void Logger::Log(LogLevel level, absl::string_view event, nlohmann::ordered_json fields) {
  if (!Enabled(level)) return;
  // ordered_json keeps time, level and event first, where people look.
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["event"] = event;
  if (fields.is_object()) {
    for (auto& [key, value] : fields.items()) line[key] = std::move(value);
  }
  // Input from callers may hold invalid UTF-8; replace rather than throw.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(mu_);
  out_ << text << '\n';
  out_.flush();
}

}  // namespace credbroker
