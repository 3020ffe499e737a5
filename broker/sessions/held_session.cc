// The plaintext is a version byte then the fields (common/field_codec.h).
#include "broker/sessions/held_session.h"

#include <openssl/crypto.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/field_codec.h"
#include "broker/common/hex.h"
#include "broker/common/random.h"

namespace credbroker {
namespace {

constexpr char kFormat = '\x01';

void Wipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

std::string AssociatedData(absl::string_view id) {
  return absl::StrCat("credbroker held session\n", HeldSessionKey(id));
}

constexpr int64_t kMinMs = INT64_MIN / 1000 + 1;
constexpr int64_t kMaxMs = INT64_MAX / 1000 - 1;

}  // namespace

HeldSession::~HeldSession() {
  Wipe(access_token);
  Wipe(refresh_token);
}

std::string NewSessionId() { return RandomHex(32); }
bool IsWellFormedSessionId(absl::string_view id) { return IsLowercaseHex(id, 64); }

std::string HeldSessionKey(absl::string_view id) { return absl::StrCat("session/", id); }
std::string HeldSessionLeaseKey(absl::string_view id) {
  return absl::StrCat("session/", id, "/lease");
}

std::string SerializeHeldSession(const HeldSession& session) {
  std::string out(1, kFormat);
  PutField(out, session.site);
  PutField(out, session.user_login);
  PutField(out, session.caller);
  PutField(out, session.access_token);
  PutIntField(out, absl::ToUnixMillis(session.access_expire_time));
  PutField(out, session.refresh_token);
  PutIntField(out, absl::ToUnixMillis(session.created));
  PutIntField(out, absl::ToUnixMillis(session.last_used));
  PutIntField(out, session.generation);
  return out;
}

absl::StatusOr<HeldSession> ParseHeldSession(absl::string_view data) {
  const auto bad = [] { return absl::DataLossError("stored session is unreadable"); };
  if (data.empty() || data[0] != kFormat) return bad();
  data.remove_prefix(1);
  absl::string_view site, user, caller, access, refresh;
  int64_t expire = 0, created = 0, used = 0, generation = 0;
  if (!TakeField(data, &site) || !TakeField(data, &user) || !TakeField(data, &caller) ||
      !TakeField(data, &access) || !TakeIntField(data, kMinMs, kMaxMs, &expire) ||
      !TakeField(data, &refresh) || !TakeIntField(data, kMinMs, kMaxMs, &created) ||
      !TakeIntField(data, kMinMs, kMaxMs, &used) ||
      !TakeIntField(data, 0, INT64_MAX, &generation) || !data.empty()) {
    return bad();
  }
  HeldSession session;
  session.site = std::string(site);
  session.user_login = std::string(user);
  session.caller = std::string(caller);
  session.access_token = std::string(access);
  session.access_expire_time = absl::FromUnixMillis(expire);
  session.refresh_token = std::string(refresh);
  session.created = absl::FromUnixMillis(created);
  session.last_used = absl::FromUnixMillis(used);
  session.generation = generation;
  return session;
}

std::string SealHeldSession(const HeldSession& session, absl::string_view id,
                            const Sealer& sealer) {
  std::string plain = SerializeHeldSession(session);
  std::string sealed = sealer.Seal(plain, AssociatedData(id));
  Wipe(plain);
  return sealed;
}

absl::StatusOr<HeldSession> OpenHeldSession(absl::string_view sealed, absl::string_view id,
                                            const Sealer& sealer) {
  absl::StatusOr<std::string> plain = sealer.Open(sealed, AssociatedData(id));
  if (!plain.ok()) return plain.status();
  absl::StatusOr<HeldSession> session = ParseHeldSession(*plain);
  Wipe(*plain);
  return session;
}

}  // namespace credbroker
