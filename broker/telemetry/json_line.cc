// UTF-8 is checked as RFC 3629 defines it (no overlong forms, no surrogates,
// nothing above U+10FFFF); each byte that does not fit becomes U+FFFD.
#include "broker/telemetry/json_line.h"

#include "absl/strings/str_cat.h"

namespace credbroker {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence at the start of `s`, or 0.
std::size_t ValidSequence(absl::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  std::size_t length;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

void AppendJsonString(std::string* out, absl::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t i = 0;
  while (i < value.size()) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const std::size_t length = ValidSequence(value.substr(i));
      if (length == 0) {
        out->append(kReplacement);
        ++i;
      } else {
        out->append(value.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

void JsonLine::Key(absl::string_view key) {
  text_.push_back(text_.empty() ? '{' : ',');
  AppendJsonString(&text_, key);
  text_.push_back(':');
}

void JsonLine::Add(absl::string_view key, absl::string_view value) {
  Key(key);
  AppendJsonString(&text_, value);
}

void JsonLine::Add(absl::string_view key, bool value) {
  Key(key);
  text_.append(value ? "true" : "false");
}

void JsonLine::Add(absl::string_view key, std::int64_t value) {
  Key(key);
  absl::StrAppend(&text_, value);
}

std::string JsonLine::Finish() && {
  text_.append(text_.empty() ? "{}\n" : "}\n");
  return std::move(text_);
}

}  // namespace credbroker
