// A session the broker holds for its caller (TOKEN_CUSTODY_BROKER): the
// person's access and refresh tokens, whose session it is and for whom, as
// kept in the state store. Sealed whole like a challenge record, with its
// store key as associated data: nothing readable in the store, and a record
// edited or moved under another id does not open.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/crypto/sealer.h"

namespace credbroker {

struct HeldSession {
  HeldSession() = default;
  HeldSession(const HeldSession&) = default;
  HeldSession& operator=(const HeldSession&) = default;
  // The tokens are wiped wherever a record ends.
  ~HeldSession();

  std::string site;
  std::string user_login;
  // The caller identity that created it: only it may use the session.
  std::string caller;
  std::string access_token;
  absl::Time access_expire_time;
  std::string refresh_token;
  absl::Time created;
  absl::Time last_used;
  // Counts refreshes; tells waiting replicas that a refresh landed.
  int64_t generation = 0;
};

// Session ids are 256 random bits as 64 lowercase hex characters.
std::string NewSessionId();
bool IsWellFormedSessionId(absl::string_view id);

// Store keys of the record and of the lease held while it is refreshed.
std::string HeldSessionKey(absl::string_view id);
std::string HeldSessionLeaseKey(absl::string_view id);

std::string SerializeHeldSession(const HeldSession& session);
absl::StatusOr<HeldSession> ParseHeldSession(absl::string_view data);
std::string SealHeldSession(const HeldSession& session, absl::string_view id, const Sealer& sealer);
absl::StatusOr<HeldSession> OpenHeldSession(absl::string_view sealed, absl::string_view id,
                                            const Sealer& sealer);

}  // namespace credbroker
