// The plaintext is a version byte then the fields (common/field_codec.h).
// Format 3 adds the credential kind; REST challenges keep format 2, so
// replicas of the version before read them during a rolling upgrade.
#include "broker/login/challenge.h"

#include <openssl/crypto.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/field_codec.h"
#include "broker/common/hex.h"
#include "broker/common/random.h"
#include "broker/crypto/digest.h"

namespace credbroker {
namespace {

constexpr char kRestFormat = '\x02';
constexpr char kKindFormat = '\x03';

void Wipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

std::string AssociatedData(absl::string_view id) {
  return absl::StrCat("credbroker challenge record\n", ChallengeKey(id));
}

}  // namespace

ChallengeRecord::~ChallengeRecord() { Wipe(password); }

std::string NewChallengeId() { return RandomHex(32); }

bool IsWellFormedChallengeId(absl::string_view id) { return IsLowercaseHex(id, 64); }

std::string ChallengeKey(absl::string_view id) { return absl::StrCat("challenge/", id); }

std::string ChallengeLockKey(absl::string_view id, absl::string_view caller) {
  // Per caller, so another caller's submits never hold up the owner's.
  return absl::StrCat("challenge/", id, "/busy/", Sha256Hex(caller).substr(0, 16));
}

std::string SerializeChallenge(const ChallengeRecord& record) {
  std::string out;
  out.reserve(64 + record.site.size() + record.username.size() + record.password.size() +
              record.caller.size() + record.client_address.size());
  const bool with_kind = record.kind != TokenKind::kRest;
  out.push_back(with_kind ? kKindFormat : kRestFormat);
  PutField(out, record.site);
  PutField(out, record.username);
  PutField(out, record.password);
  PutField(out, record.caller);
  PutIntField(out, record.custody);
  PutIntField(out, record.attempts_left);
  PutIntField(out, absl::ToUnixMillis(record.expire_time));
  PutField(out, record.client_address);
  if (with_kind) PutIntField(out, static_cast<int64_t>(record.kind));
  return out;
}

absl::StatusOr<ChallengeRecord> ParseChallenge(absl::string_view data) {
  const auto bad = [] { return absl::DataLossError("stored challenge is unreadable"); };
  if (data.empty() || (data[0] != kRestFormat && data[0] != kKindFormat)) return bad();
  const bool with_kind = data[0] == kKindFormat;
  data.remove_prefix(1);
  ChallengeRecord record;
  absl::string_view site, username, password, caller, client_address;
  int64_t custody = 0, attempts = 0, expire_ms = 0, kind = 0;
  if (!TakeField(data, &site) || !TakeField(data, &username) || !TakeField(data, &password) ||
      !TakeField(data, &caller) || !TakeIntField(data, 0, 2, &custody) ||
      !TakeIntField(data, 0, 100, &attempts) ||
      !TakeIntField(data, INT64_MIN / 1000 + 1, INT64_MAX / 1000 - 1, &expire_ms) ||
      !TakeField(data, &client_address) ||
      (with_kind && !TakeIntField(data, static_cast<int64_t>(TokenKind::kSessionToken),
                                  static_cast<int64_t>(TokenKind::kSessionToken), &kind)) ||
      !data.empty()) {
    return bad();
  }
  record.site = std::string(site);
  record.username = std::string(username);
  record.password = std::string(password);
  record.caller = std::string(caller);
  record.custody = static_cast<int>(custody);
  record.attempts_left = static_cast<int>(attempts);
  record.expire_time = absl::FromUnixMillis(expire_ms);
  record.client_address = std::string(client_address);
  record.kind = with_kind ? TokenKind::kSessionToken : TokenKind::kRest;
  return record;
}

std::string SealChallenge(const ChallengeRecord& record, absl::string_view id,
                          const Sealer& sealer) {
  std::string plain = SerializeChallenge(record);
  std::string sealed = sealer.Seal(plain, AssociatedData(id));
  Wipe(plain);
  return sealed;
}

absl::StatusOr<ChallengeRecord> OpenChallenge(absl::string_view sealed, absl::string_view id,
                                              const Sealer& sealer) {
  absl::StatusOr<std::string> plain = sealer.Open(sealed, AssociatedData(id));
  if (!plain.ok()) return plain.status();
  absl::StatusOr<ChallengeRecord> record = ParseChallenge(*plain);
  Wipe(*plain);
  return record;
}

}  // namespace credbroker
