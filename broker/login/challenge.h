// A pending second-factor challenge as kept in the state store: who is
// logging in where, their password sealed, and how many codes they may try.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace credbroker {

struct ChallengeRecord {
  std::string site;
  std::string username;
  // AES-256-GCM, bound to the challenge id (see Sealer).
  std::string sealed_password;
  int attempts_left = 0;
  absl::Time expire_time;
  std::string client_address;
};

// Challenge ids are 256 random bits as 64 lowercase hex characters.
std::string NewChallengeId();
bool IsWellFormedChallengeId(absl::string_view id);

// Store keys for the record and for the lock held while a code is at the site.
std::string ChallengeKey(absl::string_view id);
std::string ChallengeLockKey(absl::string_view id);

std::string SerializeChallenge(const ChallengeRecord& record);
absl::StatusOr<ChallengeRecord> ParseChallenge(absl::string_view data);

}  // namespace credbroker
