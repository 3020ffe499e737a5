// Records are JSON with the sealed password base64-encoded, so any replica
// (and a person debugging Redis) reads the same thing; nothing in them is
// usable without the sealing key.
#include "broker/login/challenge.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/hex.h"
#include "broker/common/random.h"

namespace credbroker {

std::string NewChallengeId() { return RandomHex(32); }

bool IsWellFormedChallengeId(absl::string_view id) { return IsLowercaseHex(id, 64); }

std::string ChallengeKey(absl::string_view id) { return absl::StrCat("challenge/", id); }
std::string ChallengeLockKey(absl::string_view id) {
  return absl::StrCat("challenge/", id, "/busy");
}

std::string SerializeChallenge(const ChallengeRecord& record) {
  const nlohmann::json doc = {
      {"site", record.site},
      {"username", record.username},
      {"sealed_password", absl::Base64Escape(record.sealed_password)},
      {"attempts_left", record.attempts_left},
      {"expire_unix_ms", absl::ToUnixMillis(record.expire_time)},
      {"client_address", record.client_address},
  };
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<ChallengeRecord> ParseChallenge(absl::string_view data) {
  const nlohmann::json doc = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  const auto bad = [] { return absl::DataLossError("stored challenge is unreadable"); };
  if (!doc.is_object()) return bad();
  for (const char* key : {"site", "username", "sealed_password", "client_address"}) {
    if (!doc.contains(key) || !doc[key].is_string()) return bad();
  }
  for (const char* key : {"attempts_left", "expire_unix_ms"}) {
    if (!doc.contains(key) || !doc[key].is_number_integer()) return bad();
  }
  ChallengeRecord record;
  record.site = doc["site"].get<std::string>();
  record.username = doc["username"].get<std::string>();
  if (!absl::Base64Unescape(doc["sealed_password"].get<std::string>(), &record.sealed_password)) {
    return bad();
  }
  // Range-checked as 64-bit: a narrowed 4294967301 would read as 5.
  const int64_t attempts = doc["attempts_left"].get<int64_t>();
  if (attempts < 0 || attempts > 100) return bad();
  record.attempts_left = static_cast<int>(attempts);
  record.expire_time = absl::FromUnixMillis(doc["expire_unix_ms"].get<int64_t>());
  record.client_address = doc["client_address"].get<std::string>();
  return record;
}

}  // namespace credbroker
