// One-shot EVP digest; failure means OpenSSL is unusable, so the process stops.
#include "broker/crypto/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "absl/strings/escaping.h"

namespace credbroker {

std::string Sha256Hex(absl::string_view data) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up again
  // on every digest, which cost more than the digest of a short token.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (sha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &length, sha256, nullptr) != 1) {
    std::abort();
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace credbroker
