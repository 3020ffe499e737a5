// AES-256-GCM through OpenSSL's EVP interface, a random 96-bit nonce per seal.
// The version byte and key id are part of the associated data too, so they
// cannot be swapped either.
#include "broker/crypto/sealer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/random.h"

namespace credbroker {
namespace {

constexpr char kVersion = '\x01';
constexpr int kKeyIdBytes = 4;
constexpr int kHeaderBytes = 1 + kKeyIdBytes;
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherContext NewContext() { return CipherContext(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The header and the caller's associated data, authenticated together.
std::string FullAssociatedData(absl::string_view header, absl::string_view associated_data) {
  return absl::StrCat(header, associated_data);
}

}  // namespace

Sealer::Key Sealer::MakeKey(std::string& bytes) {
  // A digest of a domain label and the key: names the key without revealing it.
  const std::string labelled = absl::StrCat("credbroker seal key id\n", bytes);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(Bytes(labelled), labelled.size(), digest);
  Key key{std::string(reinterpret_cast<const char*>(digest), kKeyIdBytes), LockedKey::Copy(bytes)};
  OPENSSL_cleanse(const_cast<char*>(labelled.data()), labelled.size());
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

absl::StatusOr<Sealer> Sealer::Create(std::string active, std::vector<std::string> accepted) {
  bool sizes_ok = active.size() == kKeyBytes;
  for (const std::string& key : accepted) sizes_ok = sizes_ok && key.size() == kKeyBytes;
  if (!sizes_ok) {
    OPENSSL_cleanse(active.data(), active.size());
    for (std::string& key : accepted) OPENSSL_cleanse(key.data(), key.size());
    return absl::InvalidArgumentError("a sealing key must be exactly 32 bytes");
  }
  std::vector<Key> keys;
  keys.push_back(MakeKey(active));
  for (std::string& bytes : accepted) {
    Key key = MakeKey(bytes);
    bool duplicate = false;
    for (const Key& held : keys) duplicate = duplicate || held.id == key.id;
    if (!duplicate) keys.push_back(std::move(key));
  }
  return Sealer(std::move(keys));
}

Sealer Sealer::WithRandomKey() {
  std::string bytes = RandomBytes(kKeyBytes);
  std::vector<Key> keys;
  keys.push_back(MakeKey(bytes));
  return Sealer(std::move(keys));
}

std::string Sealer::active_key_id() const { return absl::BytesToHexString(keys_.front().id); }

bool Sealer::keys_locked() const {
  for (const Key& key : keys_) {
    if (!key.secret->locked()) return false;
  }
  return true;
}

const Sealer::Key* Sealer::Find(absl::string_view id) const {
  for (const Key& key : keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

std::string Sealer::Seal(absl::string_view plaintext, absl::string_view associated_data) const {
  const Key& key = keys_.front();
  const std::string header = absl::StrCat(absl::string_view(&kVersion, 1), key.id);
  const std::string aad = FullAssociatedData(header, associated_data);
  const std::string nonce = RandomBytes(kNonceBytes);
  std::string out = absl::StrCat(header, nonce);
  out.resize(kHeaderBytes + kNonceBytes + plaintext.size() + kTagBytes);
  auto* cipher_out = reinterpret_cast<unsigned char*>(out.data()) + kHeaderBytes + kNonceBytes;

  CipherContext ctx = NewContext();
  int len = 0;
  // Failures here mean OpenSSL itself is broken; sealing must never silently
  // produce plaintext, so stop.
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key.secret->bytes()),
                         Bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher_out, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher_out + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          cipher_out + plaintext.size()) != 1) {
    std::abort();
  }
  return out;
}

absl::StatusOr<std::string> Sealer::Open(absl::string_view sealed,
                                         absl::string_view associated_data) const {
  if (sealed.size() < kHeaderBytes + kNonceBytes + kTagBytes) {
    return absl::DataLossError("sealed value is truncated");
  }
  if (sealed[0] != kVersion) return absl::DataLossError("sealed value has an unknown version");
  const Key* key = Find(sealed.substr(1, kKeyIdBytes));
  if (key == nullptr) {
    return absl::DataLossError("sealed value was sealed by a key this broker does not hold");
  }
  const std::string aad = FullAssociatedData(sealed.substr(0, kHeaderBytes), associated_data);
  const absl::string_view nonce = sealed.substr(kHeaderBytes, kNonceBytes);
  const absl::string_view cipher = sealed.substr(
      kHeaderBytes + kNonceBytes, sealed.size() - kHeaderBytes - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string plain(cipher.size(), '\0');
  auto* plain_out = reinterpret_cast<unsigned char*>(plain.data());

  CipherContext ctx = NewContext();
  int len = 0;
  const bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key->secret->bytes()),
                         Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain_out, &len, Bytes(cipher),
                        static_cast<int>(cipher.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain_out + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return absl::DataLossError("sealed value does not open with this key");
  }
  return plain;
}

}  // namespace credbroker
