// Names of people and addresses as they appear in store keys: keyed digests
// (HMAC-SHA256), so that someone reading Redis sees no username or address.
// The key is one for all replicas: the first replica to need it makes it and
// keeps it in the store, sealed like every other record, and the others read
// it. It never changes, so rotating the sealing key does not rename anyone's
// failure window (a renamed window would be a fresh budget).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/crypto/locked_key.h"
#include "broker/crypto/sealer.h"
#include "broker/store/state_store.h"

namespace credbroker {

class NameKeys {
 public:
  // With `shared`, the key is loaded from (or made in) the store; without,
  // each process makes its own (its memory store is its own too).
  NameKeys(StateStore& store, const Sealer& sealer, bool shared);

  // Calls `then` once the key is known (at once after the first time), or
  // with STORE_UNAVAILABLE when the store cannot give it; a later call tries
  // again.
  void Ready(std::function<void(absl::Status)> then);
  // 32 hex characters naming `value` of `kind` ("user", "address"). Only
  // after Ready answered OK.
  std::string Digest(absl::string_view kind, absl::string_view value) const;

 private:
  void Load();
  void Loaded(absl::StatusOr<std::string> key);

  StateStore& store_;
  const Sealer& sealer_;
  mutable std::mutex mu_;
  std::shared_ptr<const LockedKey> key_;
  bool loading_ = false;
  std::vector<std::function<void(absl::Status)>> waiters_;
};

}  // namespace credbroker
