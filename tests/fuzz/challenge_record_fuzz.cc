// Fuzzes reading a pending challenge back from the state store (Redis in
// production, where anything may have been written): opening a sealed value
// and parsing a record's plaintext. A record that parses must survive
// SerializeChallenge → ParseChallenge unchanged; arbitrary bytes never open.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "broker/crypto/sealer.h"
#include "broker/login/challenge.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const credbroker::Sealer* sealer =
      new credbroker::Sealer(*credbroker::Sealer::Create(std::string(32, 'f')));
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)credbroker::IsWellFormedChallengeId(text);
  FUZZ_CHECK(!credbroker::OpenChallenge(text, std::string(64, 'a'), *sealer).ok());

  const absl::StatusOr<credbroker::ChallengeRecord> record = credbroker::ParseChallenge(text);
  if (!record.ok()) {
    FUZZ_CHECK(record.status().code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  const std::string again = credbroker::SerializeChallenge(*record);
  const absl::StatusOr<credbroker::ChallengeRecord> reread = credbroker::ParseChallenge(again);
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(reread->site == record->site);
  FUZZ_CHECK(reread->username == record->username);
  FUZZ_CHECK(reread->password == record->password);
  FUZZ_CHECK(reread->caller == record->caller);
  FUZZ_CHECK(reread->custody == record->custody);
  FUZZ_CHECK(reread->attempts_left == record->attempts_left);
  FUZZ_CHECK(reread->expire_time == record->expire_time);
  FUZZ_CHECK(reread->client_address == record->client_address);
  return 0;
}
