// A browser-approved login as kept in the state store between
// BeginBrowserLogin and CompleteBrowserLogin: the site's launcher request,
// which caller began it, and what it should hand out. Sealed with its store
// key as associated data, like a challenge, because the site's request id
// lets whoever holds it collect the person's session token.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/common/session.h"
#include "broker/crypto/sealer.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct BrowserLoginRecord {
  std::string site;
  // The site's launcher request id; never leaves the broker.
  std::string site_request_id;
  // The caller identity that began it: only it may complete it.
  std::string caller;
  TokenKind kind = TokenKind::kRest;
  // The proto's TokenCustody number.
  int custody = 0;
  absl::Time expire_time;
  std::string client_address;
};

// The broker's request ids: 256 random bits as 64 lowercase hex characters.
std::string NewBrowserLoginId();
bool IsWellFormedBrowserLoginId(absl::string_view id);

// Store keys: the record, the claim of the one completion that hands out the
// session, and that session, for completions waiting on other replicas.
std::string BrowserLoginKey(absl::string_view id);
std::string BrowserLoginClaimKey(absl::string_view id);
std::string BrowserLoginResultKey(absl::string_view id);

std::string SealBrowserLogin(const BrowserLoginRecord& record, absl::string_view id,
                             const Sealer& sealer);
// DATA_LOSS when the value was not sealed for request `id` by a key held
// here, was changed, or is not a well-formed record.
absl::StatusOr<BrowserLoginRecord> OpenBrowserLogin(absl::string_view sealed, absl::string_view id,
                                                    const Sealer& sealer);

// The session an approval became, sealed under request `id`. Holds tokens.
std::string SealBrowserLoginResult(const SessionInfo& session, absl::string_view id,
                                   const Sealer& sealer);
// DATA_LOSS as OpenBrowserLogin.
absl::StatusOr<SessionInfo> OpenBrowserLoginResult(absl::string_view sealed, absl::string_view id,
                                                   const Sealer& sealer);

}  // namespace credbroker
