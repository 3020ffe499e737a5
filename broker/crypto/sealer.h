// Seals secrets held at rest (a challenge's password) with AES-256-GCM. The
// associated data binds a sealed value to the record it belongs to, so a
// sealed password cannot be moved to another challenge.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace credbroker {

class Sealer {
 public:
  static constexpr std::size_t kKeyBytes = 32;

  // `key` must be exactly kKeyBytes long.
  static absl::StatusOr<Sealer> Create(std::string key);
  // A sealer with a fresh random key: sealed values die with the process.
  static Sealer WithRandomKey();

  // nonce (12 bytes) || ciphertext || tag (16 bytes).
  std::string Seal(absl::string_view plaintext, absl::string_view associated_data) const;
  // Fails if the value was not sealed with this key and associated data.
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view associated_data) const;

 private:
  explicit Sealer(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace credbroker
