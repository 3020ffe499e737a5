// Comparing secrets (tokens, digests of keys) in constant time, so that a
// caller cannot learn a held secret byte by byte from how long a comparison
// takes.
#pragma once

#include <openssl/crypto.h>

#include "absl/strings/string_view.h"

namespace credbroker {

inline bool SameSecret(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace credbroker
