// Seals what the broker keeps at rest (challenge records with their password)
// with AES-256-GCM. The associated data binds a sealed value to the record it
// belongs to (its store key), so a sealed value copied under another key does
// not open. Every sealed value names the key that sealed it, so keys can be
// rotated: the active key seals, and accepted keys still open what older or
// newer replicas sealed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/crypto/locked_key.h"

namespace credbroker {

class Sealer {
 public:
  static constexpr std::size_t kKeyBytes = 32;

  // Each key must be exactly kKeyBytes long; `accepted` keys only open. The
  // strings passed in are wiped.
  static absl::StatusOr<Sealer> Create(std::string active, std::vector<std::string> accepted = {});
  // A sealer with a fresh random key: sealed values die with the process.
  static Sealer WithRandomKey();

  // version (1 byte) || key id (4) || nonce (12) || ciphertext || tag (16).
  std::string Seal(absl::string_view plaintext, absl::string_view associated_data) const;
  // Fails if the value was not sealed by a key held here with this
  // associated data, or was changed in any way.
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view associated_data) const;

  // The active key's id as 8 hex characters, for logs (not secret: a digest).
  std::string active_key_id() const;
  // Whether every key is locked in memory (mlock), for the start-up log.
  bool keys_locked() const;

 private:
  struct Key {
    std::string id;  // 4 bytes
    std::shared_ptr<const LockedKey> secret;
  };
  explicit Sealer(std::vector<Key> keys) : keys_(std::move(keys)) {}
  static Key MakeKey(std::string& bytes);
  const Key* Find(absl::string_view id) const;

  // The first is the active key.
  std::vector<Key> keys_;
};

}  // namespace credbroker
