// Aborts if the CSPRNG fails: an id that might be guessable must never be used.
#include "broker/common/random.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/escaping.h"

namespace credbroker {

std::string RandomBytes(std::size_t bytes) {
  std::string out(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(bytes)) != 1) {
    std::abort();
  }
  return out;
}

std::string RandomHex(std::size_t bytes) { return absl::BytesToHexString(RandomBytes(bytes)); }

}  // namespace credbroker
