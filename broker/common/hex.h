// Checks for ids and digests written as lowercase hex (challenge ids, SHA-256).
#pragma once

#include <cstddef>

#include "absl/strings/string_view.h"

namespace credbroker {

inline bool IsLowercaseHex(absl::string_view value, std::size_t length) {
  if (value.size() != length) return false;
  for (char c : value) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace credbroker
