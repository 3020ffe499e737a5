// One flat JSON object written straight into a string, for the lines the
// broker writes on every call (the audit line): no document tree, one buffer.
// Strings are escaped as JSON requires and invalid UTF-8 is replaced with
// U+FFFD, as the logger's nlohmann-json path does.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace credbroker {

class JsonLine {
 public:
  JsonLine() { text_.reserve(320); }

  void Add(absl::string_view key, absl::string_view value);
  void Add(absl::string_view key, const char* value) { Add(key, absl::string_view(value)); }
  void Add(absl::string_view key, const std::string& value) { Add(key, absl::string_view(value)); }
  void Add(absl::string_view key, bool value);
  void Add(absl::string_view key, std::int64_t value);

  // The object as text, with the newline that ends a log line.
  std::string Finish() &&;

 private:
  void Key(absl::string_view key);

  std::string text_;
};

// Appends `value` as a JSON string (quotes included).
void AppendJsonString(std::string* out, absl::string_view value);

}  // namespace credbroker
