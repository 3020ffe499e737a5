// SHA-256 digests: caches and logs refer to a script key by its digest,
// never by the key.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace credbroker {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace credbroker
