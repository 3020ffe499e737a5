// Unpredictable identifiers (challenge ids, request ids) from OpenSSL's CSPRNG.
#pragma once

#include <cstddef>
#include <string>

namespace credbroker {

// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string RandomHex(std::size_t bytes);
// `bytes` random bytes.
std::string RandomBytes(std::size_t bytes);

}  // namespace credbroker
