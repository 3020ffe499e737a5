// A pending second-factor challenge as kept in the state store: who is
// logging in where, their password, which caller began it and how many codes
// they may try. The whole record is sealed (see Sealer) with its store key as
// associated data, so nothing in the store is readable, and a record edited
// or copied under another challenge id does not open.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/crypto/sealer.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct ChallengeRecord {
  ChallengeRecord() = default;
  ChallengeRecord(const ChallengeRecord&) = default;
  ChallengeRecord& operator=(const ChallengeRecord&) = default;
  // The password is wiped wherever a record ends.
  ~ChallengeRecord();

  std::string site;
  std::string username;
  std::string password;
  // The caller identity that began the login: only it may submit codes.
  std::string caller;
  // The custody asked for at BeginLogin (the proto's TokenCustody number).
  int custody = 0;
  int attempts_left = 0;
  absl::Time expire_time;
  std::string client_address;
  // What the login hands out: REST tokens or a session token.
  TokenKind kind = TokenKind::kRest;
};

// Challenge ids are 256 random bits as 64 lowercase hex characters.
std::string NewChallengeId();
bool IsWellFormedChallengeId(absl::string_view id);

// Store keys for the record, for the lock a caller holds while its code is
// at the site, and for the window of a person's live challenges.
std::string ChallengeKey(absl::string_view id);
std::string ChallengeLockKey(absl::string_view id, absl::string_view caller);

// The record's plaintext encoding (length-prefixed fields). Holds the
// password: wipe it after use.
std::string SerializeChallenge(const ChallengeRecord& record);
// DATA_LOSS when `data` is not a well-formed record.
absl::StatusOr<ChallengeRecord> ParseChallenge(absl::string_view data);

// The record sealed for the store under challenge `id`.
std::string SealChallenge(const ChallengeRecord& record, absl::string_view id,
                          const Sealer& sealer);
// DATA_LOSS when the value was not sealed for challenge `id` by a key held
// here, or was changed.
absl::StatusOr<ChallengeRecord> OpenChallenge(absl::string_view sealed, absl::string_view id,
                                              const Sealer& sealer);

}  // namespace credbroker
