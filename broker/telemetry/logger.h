// Structured logs: one JSON object per line on stderr. Callers pass only
// fields that are safe to keep: never passwords, codes, keys or tokens.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace credbroker {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

class Logger {
 public:
  explicit Logger(LogLevel min_level, std::ostream& out);

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  // Writes {"time":…,"level":…,"event":event, …fields} if `level` is enabled.
  void Log(LogLevel level, absl::string_view event,
           nlohmann::ordered_json fields = nlohmann::ordered_json::object());

 private:
  const LogLevel min_level_;
  std::ostream& out_;
  std::mutex mu_;
};

}  // namespace credbroker
