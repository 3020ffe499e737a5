// Challenge records as stored: sealed round trip, edited or moved records
// refused, unreadable data refused, id format.
#include "broker/login/challenge.h"

#include <cstdint>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace credbroker {
namespace {

ChallengeRecord Sample() {
  ChallengeRecord record;
  record.site = "main";
  record.username = "jdoe@studio.example";
  record.password = std::string("\x00\x01\xfe\xff pass\"word", 14);
  record.caller = "spiffe://studio.example/ns/web/sa/portal";
  record.custody = 2;
  record.attempts_left = 4;
  record.expire_time = absl::FromUnixMillis(1'700'000'300'123);
  record.client_address = "203.0.113.9";
  return record;
}

void ExpectSameRecord(const ChallengeRecord& out, const ChallengeRecord& in) {
  EXPECT_EQ(out.site, in.site);
  EXPECT_EQ(out.username, in.username);
  EXPECT_EQ(out.password, in.password);
  EXPECT_EQ(out.caller, in.caller);
  EXPECT_EQ(out.custody, in.custody);
  EXPECT_EQ(out.attempts_left, in.attempts_left);
  EXPECT_EQ(out.expire_time, in.expire_time);
  EXPECT_EQ(out.client_address, in.client_address);
  EXPECT_EQ(out.kind, in.kind);
}

const std::string kId(64, 'a');

TEST(ChallengeTest, SerializeParseRoundTrip) {
  const ChallengeRecord in = Sample();
  const absl::StatusOr<ChallengeRecord> out = ParseChallenge(SerializeChallenge(in));
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectSameRecord(*out, in);
}

// Session-token challenges carry their kind; REST ones keep the format the
// version before reads (its first byte 2), for rolling upgrades.
TEST(ChallengeTest, TheKindSurvivesAndRestRecordsKeepTheOldFormat) {
  ChallengeRecord in = Sample();
  EXPECT_EQ(SerializeChallenge(in)[0], '\x02');
  in.kind = TokenKind::kSessionToken;
  const std::string data = SerializeChallenge(in);
  EXPECT_EQ(data[0], '\x03');
  const absl::StatusOr<ChallengeRecord> out = ParseChallenge(data);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectSameRecord(*out, in);
  EXPECT_FALSE(ParseChallenge(data.substr(0, data.size() - 1)).ok());
}

TEST(ChallengeTest, SealOpenRoundTripWithNonAsciiUsername) {
  const Sealer sealer = Sealer::WithRandomKey();
  ChallengeRecord in = Sample();
  in.username = "j\xc3\xa9r\xc3\xb4me";
  const absl::StatusOr<ChallengeRecord> out =
      OpenChallenge(SealChallenge(in, kId, sealer), kId, sealer);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectSameRecord(*out, in);
}

TEST(ChallengeTest, SealedRecordShowsNothing) {
  const std::string sealed = SealChallenge(Sample(), kId, Sealer::WithRandomKey());
  for (const char* field : {"main", "jdoe", "pass", "spiffe", "203.0.113.9"}) {
    EXPECT_EQ(sealed.find(field), std::string::npos) << field;
  }
}

TEST(ChallengeTest, SealedRecordOpensOnlyUnderItsOwnId) {
  const Sealer sealer = Sealer::WithRandomKey();
  const std::string sealed = SealChallenge(Sample(), kId, sealer);
  EXPECT_EQ(OpenChallenge(sealed, std::string(64, 'b'), sealer).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ChallengeTest, EveryEditedByteIsRefused) {
  const Sealer sealer = Sealer::WithRandomKey();
  const std::string sealed = SealChallenge(Sample(), kId, sealer);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string edited = sealed;
    edited[i] = static_cast<char>(edited[i] ^ 0x20);
    EXPECT_EQ(OpenChallenge(edited, kId, sealer).status().code(), absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
}

TEST(ChallengeTest, NumbersOutOfRangeAreRefusedNotNarrowed) {
  const std::string good = SerializeChallenge(Sample());
  // Attempts are the 6th field: rebuild a record with each bad value there.
  for (const std::string attempts : {"4294967301", "-1", "101", "3.5", "", "0x5"}) {
    ChallengeRecord record = Sample();
    std::string data = SerializeChallenge(record);
    const std::string four = std::string("\x00\x00\x00\x01", 4) + "4";
    const std::size_t at = data.find(four);
    ASSERT_NE(at, std::string::npos);
    const uint32_t n = static_cast<uint32_t>(attempts.size());
    const std::string field = std::string({static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                           static_cast<char>(n >> 8), static_cast<char>(n)}) +
                              attempts;
    data.replace(at, four.size(), field);
    EXPECT_EQ(ParseChallenge(data).status().code(), absl::StatusCode::kDataLoss) << attempts;
  }
  EXPECT_TRUE(ParseChallenge(good).ok());
}

TEST(ChallengeTest, GarbageIsDataLoss) {
  const std::string good = SerializeChallenge(Sample());
  for (const std::string bad : {
           std::string(""),
           std::string("not a record"),
           std::string("\x02"),
           good.substr(0, good.size() / 2),
           good + "x",
           std::string("\x01") + good.substr(1),
           std::string("\x02\xff\xff\xff\xff") + good.substr(5),
       }) {
    const absl::StatusOr<ChallengeRecord> parsed = ParseChallenge(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(ChallengeTest, NewIdsAre64LowercaseHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = NewChallengeId();
    ASSERT_EQ(id.size(), 64u);
    for (char c : id) {
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
    }
    EXPECT_TRUE(IsWellFormedChallengeId(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(ChallengeTest, WellFormedIdChecks) {
  const std::string good(64, 'a');
  EXPECT_TRUE(IsWellFormedChallengeId(good));
  EXPECT_TRUE(IsWellFormedChallengeId(std::string(64, '0')));
  EXPECT_FALSE(IsWellFormedChallengeId(""));
  EXPECT_FALSE(IsWellFormedChallengeId(std::string(63, 'a')));
  EXPECT_FALSE(IsWellFormedChallengeId(std::string(65, 'a')));
  EXPECT_FALSE(IsWellFormedChallengeId(std::string(64, 'A')));
  EXPECT_FALSE(IsWellFormedChallengeId(std::string(63, 'a') + "g"));
  EXPECT_FALSE(IsWellFormedChallengeId(std::string(63, 'a') + "/"));
  EXPECT_FALSE(IsWellFormedChallengeId(std::string(63, 'a') + std::string(1, '\0')));
}

TEST(ChallengeTest, StoreKeys) {
  const std::string id(64, 'b');
  EXPECT_EQ(ChallengeKey(id), "challenge/" + id);
  EXPECT_EQ(ChallengeLockKey(id, "token:a").rfind("challenge/" + id + "/busy/", 0), 0u);
  // Each caller has its own lock: another caller cannot hold up the owner.
  EXPECT_NE(ChallengeLockKey(id, "token:a"), ChallengeLockKey(id, "token:b"));
}

}  // namespace
}  // namespace credbroker
