// Lengths are checked before use, so a damaged record reads as "unreadable",
// never as memory outside it.
#include "broker/common/field_codec.h"

#include "absl/strings/numbers.h"

namespace credbroker {

void PutField(std::string& out, absl::string_view value) {
  const uint32_t n = static_cast<uint32_t>(value.size());
  const char length[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(length, 4);
  out.append(value.data(), value.size());
}

void PutIntField(std::string& out, int64_t value) { PutField(out, std::to_string(value)); }

bool TakeField(absl::string_view& in, absl::string_view* value) {
  if (in.size() < 4) return false;
  const auto byte = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  const uint32_t n = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
  if (n > kMaxFieldBytes || in.size() - 4 < n) return false;
  *value = in.substr(4, n);
  in.remove_prefix(4 + n);
  return true;
}

bool TakeIntField(absl::string_view& in, int64_t min, int64_t max, int64_t* value) {
  absl::string_view text;
  return TakeField(in, &text) && absl::SimpleAtoi(text, value) && *value >= min && *value <= max;
}

}  // namespace credbroker
