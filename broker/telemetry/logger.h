// Structured logs: one JSON object per line on stderr. Callers pass only
// fields that are safe to keep: never passwords, codes, keys or tokens. The
// running broker logs through a LogSink (a writer thread of its own); tests
// may log straight into a stream.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/telemetry/json_line.h"
#include "broker/telemetry/log_sink.h"

namespace credbroker {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

class Logger {
 public:
  // Each line is written to `out` before Log returns.
  Logger(LogLevel min_level, std::ostream& out);
  // Lines are queued to `sink`, which must outlive the logger.
  Logger(LogLevel min_level, LogSink& sink);

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  // Writes {"time":…,"level":…,"event":event, …fields} if `level` is enabled.
  void Log(LogLevel level, absl::string_view event,
           nlohmann::ordered_json fields = nlohmann::ordered_json::object());

  // The same line built field by field, for the lines written on every call:
  // Start gives a line with time, level and event; Emit writes it.
  JsonLine Start(LogLevel level, absl::string_view event) const;
  void Emit(JsonLine line);

 private:
  void Write(std::string line);

  const LogLevel min_level_;
  std::ostream* const out_ = nullptr;
  LogSink* const sink_ = nullptr;
  std::mutex mu_;
};

}  // namespace credbroker
