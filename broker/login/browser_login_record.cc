// The plaintext is a version byte then the fields (common/field_codec.h).
#include "broker/login/browser_login_record.h"

#include <openssl/crypto.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "broker/common/field_codec.h"
#include "broker/common/hex.h"
#include "broker/common/random.h"

namespace credbroker {
namespace {

constexpr char kFormat = '\x01';

std::string AssociatedData(absl::string_view id) {
  return absl::StrCat("credbroker browser login record\n", BrowserLoginKey(id));
}
std::string ResultAssociatedData(absl::string_view id) {
  return absl::StrCat("credbroker browser login result\n", BrowserLoginResultKey(id));
}

}  // namespace

std::string NewBrowserLoginId() { return RandomHex(32); }

bool IsWellFormedBrowserLoginId(absl::string_view id) { return IsLowercaseHex(id, 64); }

std::string BrowserLoginKey(absl::string_view id) { return absl::StrCat("browser-login/", id); }

std::string BrowserLoginClaimKey(absl::string_view id) {
  return absl::StrCat("browser-login/", id, "/completed");
}

std::string BrowserLoginResultKey(absl::string_view id) {
  return absl::StrCat("browser-login/", id, "/result");
}

std::string SealBrowserLogin(const BrowserLoginRecord& record, absl::string_view id,
                             const Sealer& sealer) {
  std::string plain(1, kFormat);
  PutField(plain, record.site);
  PutField(plain, record.site_request_id);
  PutField(plain, record.caller);
  PutIntField(plain, static_cast<int64_t>(record.kind));
  PutIntField(plain, record.custody);
  PutIntField(plain, absl::ToUnixMillis(record.expire_time));
  PutField(plain, record.client_address);
  std::string sealed = sealer.Seal(plain, AssociatedData(id));
  OPENSSL_cleanse(plain.data(), plain.size());
  return sealed;
}

absl::StatusOr<BrowserLoginRecord> OpenBrowserLogin(absl::string_view sealed, absl::string_view id,
                                                    const Sealer& sealer) {
  absl::StatusOr<std::string> plain = sealer.Open(sealed, AssociatedData(id));
  if (!plain.ok()) return plain.status();
  absl::string_view in = *plain;
  absl::string_view site, site_request_id, caller, client_address;
  int64_t kind = 0, custody = 0, expire_ms = 0;
  const bool read = !in.empty() && in[0] == kFormat && (in.remove_prefix(1), true) &&
                    TakeField(in, &site) && TakeField(in, &site_request_id) &&
                    TakeField(in, &caller) &&
                    TakeIntField(in, static_cast<int64_t>(TokenKind::kRest),
                                 static_cast<int64_t>(TokenKind::kSessionToken), &kind) &&
                    TakeIntField(in, 0, 2, &custody) &&
                    TakeIntField(in, INT64_MIN / 1000 + 1, INT64_MAX / 1000 - 1, &expire_ms) &&
                    TakeField(in, &client_address) && in.empty();
  absl::StatusOr<BrowserLoginRecord> out =
      absl::DataLossError("stored browser login is unreadable");
  if (read) {
    BrowserLoginRecord record;
    record.site = std::string(site);
    record.site_request_id = std::string(site_request_id);
    record.caller = std::string(caller);
    record.kind = static_cast<TokenKind>(kind);
    record.custody = static_cast<int>(custody);
    record.expire_time = absl::FromUnixMillis(expire_ms);
    record.client_address = std::string(client_address);
    out = std::move(record);
  }
  OPENSSL_cleanse(plain->data(), plain->size());
  return out;
}

std::string SealBrowserLoginResult(const SessionInfo& session, absl::string_view id,
                                   const Sealer& sealer) {
  std::string plain(1, kFormat);
  for (const std::string* field :
       {&session.access_token, &session.token_type, &session.session_token, &session.refresh_token,
        &session.session_id, &session.principal.user_login, &session.site}) {
    PutField(plain, *field);
  }
  PutIntField(plain, absl::ToUnixMillis(session.expire_time));
  std::string sealed = sealer.Seal(plain, ResultAssociatedData(id));
  OPENSSL_cleanse(plain.data(), plain.size());
  return sealed;
}

absl::StatusOr<SessionInfo> OpenBrowserLoginResult(absl::string_view sealed, absl::string_view id,
                                                   const Sealer& sealer) {
  absl::StatusOr<std::string> plain = sealer.Open(sealed, ResultAssociatedData(id));
  if (!plain.ok()) return plain.status();
  absl::string_view in = *plain;
  SessionInfo session;
  bool read = !in.empty() && in[0] == kFormat;
  if (read) in.remove_prefix(1);
  for (std::string* field :
       {&session.access_token, &session.token_type, &session.session_token, &session.refresh_token,
        &session.session_id, &session.principal.user_login, &session.site}) {
    absl::string_view value;
    read = read && TakeField(in, &value);
    if (read) *field = std::string(value);
  }
  int64_t expire_ms = 0;
  read = read && TakeIntField(in, INT64_MIN / 1000 + 1, INT64_MAX / 1000 - 1, &expire_ms) &&
         in.empty();
  OPENSSL_cleanse(plain->data(), plain->size());
  if (!read) return absl::DataLossError("stored browser login result is unreadable");
  session.expire_time = absl::FromUnixMillis(expire_ms);
  return session;
}

}  // namespace credbroker
