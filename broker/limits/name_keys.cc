// The stored key is sealed with the active sealing key; a replica that finds
// it sealed with an older (accepted) key seals it again with the active one,
// so dropping the old key after a rotation loses nothing.
#include "broker/limits/name_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/random.h"

namespace credbroker {
namespace {

constexpr char kStoreKey[] = "names-key";
constexpr char kAssociatedData[] = "credbroker names key\nnames-key";
// Never expires on its own: a day's TTL renewed on each load would let a
// quiet deployment lose it, and with it every failure window's name.
constexpr absl::Duration kForever = absl::Hours(24 * 365 * 10);

}  // namespace

NameKeys::NameKeys(StateStore& store, const Sealer& sealer, bool shared)
    : store_(store), sealer_(sealer) {
  if (!shared) {
    std::string bytes = RandomBytes(32);
    key_ = LockedKey::Copy(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size());
  }
}

void NameKeys::Ready(std::function<void(absl::Status)> then) {
  bool known = false;
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    known = key_ != nullptr;
    if (!known) {
      waiters_.push_back(std::move(then));
      start = !loading_;
      loading_ = true;
    }
  }
  if (known) return then(absl::OkStatus());
  if (start) Load();
}

void NameKeys::Load() {
  store_.Get(kStoreKey, [this](absl::StatusOr<std::optional<std::string>> stored) {
    if (!stored.ok()) return Loaded(stored.status());
    if (stored->has_value()) {
      absl::StatusOr<std::string> key = sealer_.Open(**stored, kAssociatedData);
      if (!key.ok()) {
        return Loaded(BrokerError(Reason::kStoreUnavailable,
                                  "the stored names key does not open with the sealing keys held "
                                  "here"));
      }
      const std::string resealed = sealer_.Seal(*key, kAssociatedData);
      // Sealed with an older key: seal it again with the active one.
      if (resealed.substr(0, 5) != (*stored)->substr(0, 5)) {
        store_.Put(kStoreKey, resealed, kForever, [](absl::Status) {});
      }
      return Loaded(std::move(key));
    }
    std::string fresh = RandomBytes(32);
    store_.PutIfAbsent(kStoreKey, sealer_.Seal(fresh, kAssociatedData), kForever,
                       [this, fresh](absl::StatusOr<bool> claimed) mutable {
                         if (!claimed.ok()) return Loaded(claimed.status());
                         if (*claimed) return Loaded(std::move(fresh));
                         // Another replica made it first: use theirs.
                         OPENSSL_cleanse(fresh.data(), fresh.size());
                         Load();
                       });
  });
}

void NameKeys::Loaded(absl::StatusOr<std::string> key) {
  std::vector<std::function<void(absl::Status)>> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (key.ok()) key_ = LockedKey::Copy(*key);
    loading_ = false;
    waiters.swap(waiters_);
  }
  if (key.ok()) OPENSSL_cleanse(key->data(), key->size());
  for (auto& waiter : waiters) waiter(key.status());
}

std::string NameKeys::Digest(absl::string_view kind, absl::string_view value) const {
  std::shared_ptr<const LockedKey> key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    key = key_;
  }
  const std::string input = absl::StrCat(kind, "\n", value);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const absl::string_view secret = key ? key->bytes() : absl::string_view();
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), 16));
}

}  // namespace credbroker
