// Lines are written whole (under a lock, or queued to the sink as one string)
// so concurrent calls never interleave.
#include "broker/telemetry/logger.h"

#include <cstdint>

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

// "2026-12-07T16:29:14.123Z". The part up to the seconds is formatted once a
// second per thread; the milliseconds are appended.
std::string Timestamp() {
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached_prefix;
  const absl::Time now = absl::Now();
  const std::int64_t millis = absl::ToUnixMillis(now);
  const std::int64_t second = millis / 1000;
  if (second != cached_second) {
    cached_second = second;
    cached_prefix = absl::FormatTime("%Y-%m-%dT%H:%M:%S", now, absl::UTCTimeZone());
  }
  const int ms = static_cast<int>(millis % 1000);
  std::string stamp = cached_prefix;
  stamp.push_back('.');
  stamp.push_back(static_cast<char>('0' + ms / 100));
  stamp.push_back(static_cast<char>('0' + ms / 10 % 10));
  stamp.push_back(static_cast<char>('0' + ms % 10));
  stamp.push_back('Z');
  return stamp;
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LevelName(level)) return level;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("log level '", name, "' is not one of debug, info, warn, error"));
}

Logger::Logger(LogLevel min_level, std::ostream& out) : min_level_(min_level), out_(&out) {}

Logger::Logger(LogLevel min_level, LogSink& sink) : min_level_(min_level), sink_(&sink) {}

JsonLine Logger::Start(LogLevel level, absl::string_view event) const {
  JsonLine line;
  line.Add("time", Timestamp());
  line.Add("level", LevelName(level));
  line.Add("event", event);
  return line;
}

void Logger::Emit(JsonLine line) { Write(std::move(line).Finish()); }

void Logger::Write(std::string line) {
  if (sink_ != nullptr) return sink_->Write(std::move(line));
  std::lock_guard<std::mutex> lock(mu_);
  *out_ << line;
  out_->flush();
}

void Logger::Log(LogLevel level, absl::string_view event, nlohmann::ordered_json fields) {
  if (!Enabled(level)) return;
  // ordered_json keeps time, level and event first, where people look.
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["time"] = Timestamp();
  line["level"] = LevelName(level);
  line["event"] = event;
  if (fields.is_object()) {
    for (auto& [key, value] : fields.items()) line[key] = std::move(value);
  }
  // Input from callers may hold invalid UTF-8; replace rather than throw.
  std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.push_back('\n');
  Write(std::move(text));
}

}  // namespace credbroker
