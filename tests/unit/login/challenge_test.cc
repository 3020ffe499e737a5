// Challenge records as stored: round trip, unreadable data refused, id format.
#include "broker/login/challenge.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace credbroker {
namespace {

ChallengeRecord Sample() {
  ChallengeRecord record;
  record.site = "main";
  record.username = "jdoe@studio.example";
  record.sealed_password = std::string("\x00\x01\xfe\xff sealed\"bytes", 18);
  record.attempts_left = 4;
  record.expire_time = absl::FromUnixMillis(1'700'000'300'123);
  record.client_address = "203.0.113.9";
  return record;
}

TEST(ChallengeTest, SerializeParseRoundTrip) {
  const ChallengeRecord in = Sample();
  const absl::StatusOr<ChallengeRecord> out = ParseChallenge(SerializeChallenge(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->site, in.site);
  EXPECT_EQ(out->username, in.username);
  EXPECT_EQ(out->sealed_password, in.sealed_password);
  EXPECT_EQ(out->attempts_left, in.attempts_left);
  EXPECT_EQ(out->expire_time, in.expire_time);
  EXPECT_EQ(out->client_address, in.client_address);
}

TEST(ChallengeTest, RoundTripWithNonAsciiUsername) {
  ChallengeRecord in = Sample();
  in.username = "j\xc3\xa9r\xc3\xb4me";
  const absl::StatusOr<ChallengeRecord> out = ParseChallenge(SerializeChallenge(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->username, in.username);
}

TEST(ChallengeTest, SealedPasswordIsNotStoredRaw) {
  const std::string data = SerializeChallenge(Sample());
  EXPECT_EQ(data.find("sealed\"bytes"), std::string::npos);
}

TEST(ChallengeTest, AttemptsOutOfRangeAreRefusedNotNarrowed) {
  for (const char* attempts : {"4294967301", "-1", "101"}) {
    const std::string data = std::string(R"({"site":"s","username":"u","sealed_password":"",)") +
                             R"("attempts_left":)" + attempts +
                             R"(,"expire_unix_ms":1,"client_address":""})";
    EXPECT_EQ(ParseChallenge(data).status().code(), absl::StatusCode::kDataLoss) << attempts;
  }
}

TEST(ChallengeTest, GarbageIsDataLoss) {
  const std::string good = SerializeChallenge(Sample());
  for (const std::string bad : {
           std::string(""),
           std::string("not json"),
           std::string("[]"),
           std::string("null"),
           std::string("{}"),
           good.substr(0, good.size() / 2),
           std::string(R"({"site":"main","username":"u","sealed_password":"!!!not base64!!!",)"
                       R"("attempts_left":3,"expire_unix_ms":1,"client_address":""})"),
           std::string(R"({"site":"main","username":"u","sealed_password":"",)"
                       R"("attempts_left":"3","expire_unix_ms":1,"client_address":""})"),
           std::string(R"({"site":1,"username":"u","sealed_password":"",)"
                       R"("attempts_left":3,"expire_unix_ms":1,"client_address":""})"),
           std::string(R"({"site":"main","username":"u","sealed_password":"",)"
                       R"("attempts_left":3,"client_address":""})"),
           std::string(R"({"site":"main","username":"u","sealed_password":"",)"
                       R"("attempts_left":3.5,"expire_unix_ms":1,"client_address":""})"),
       }) {
    const absl::StatusOr<ChallengeRecord> parsed = ParseChallenge(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << bad;
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
  EXPECT_EQ(ChallengeLockKey(id), "challenge/" + id + "/busy");
  EXPECT_NE(ChallengeKey(id), ChallengeLockKey(id));
}

}  // namespace
}  // namespace credbroker
