// The safe set is what logins, site and script names need (e.g.
// jane.doe@studio.example, render-farm, svc+ingest); anything else is
// replaced rather than escaped, so no decoder downstream can revive it.
#include "broker/api/audit_clip.h"

#include "absl/strings/ascii.h"

namespace credbroker {
namespace {

constexpr absl::string_view kClippedMark = "\u2026(clipped)";

bool IsSafe(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
         c == '+' || c == '-';
}

bool HasControlCharacter(absl::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string ClipForAudit(absl::string_view value) {
  std::string out;
  out.reserve(kAuditClipLength + kClippedMark.size());
  bool clipped = value.size() > kAuditClipLength;
  for (char c : value.substr(0, kAuditClipLength)) {
    if (IsSafe(c)) {
      out.push_back(c);
    } else {
      out.push_back('?');
      clipped = true;
    }
  }
  if (clipped) out.append(kClippedMark.data(), kClippedMark.size());
  return out;
}

std::string ClipUnlessSane(absl::string_view value, std::size_t max_bytes) {
  if (value.size() <= max_bytes && !HasControlCharacter(value)) return std::string(value);
  return ClipForAudit(value);
}

}  // namespace credbroker
