// What of a refused request may go into its audit line. A refused value is by
// definition one the broker did not accept, so the line keeps only a short run
// of characters that cannot forge or bloat anything, and says when it cut.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace credbroker {

// At most this many characters of a refused value reach an audit line.
inline constexpr std::size_t kAuditClipLength = 64;

// `value` when it is at most 64 characters of [A-Za-z0-9._@+-]; otherwise its
// first 64 characters with every other character replaced by '?', followed by
// "…(clipped)".
std::string ClipForAudit(absl::string_view value);

// For the client address and user agent of a refused call: kept as sent when
// within `max_bytes` and free of control characters (the limits validation
// allows, so a refused line still says where it came from), else ClipForAudit.
std::string ClipUnlessSane(absl::string_view value, std::size_t max_bytes);

}  // namespace credbroker
