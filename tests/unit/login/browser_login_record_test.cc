// Browser-login records as stored: sealed round trip, refused when moved to
// another id or edited, and ids in the broker's own format.
#include "broker/login/browser_login_record.h"

#include "gtest/gtest.h"

namespace credbroker {
namespace {

BrowserLoginRecord Sample() {
  BrowserLoginRecord record;
  record.site = "main";
  record.site_request_id = "0f3a9c";
  record.caller = "token:web";
  record.kind = TokenKind::kSessionToken;
  record.custody = 1;
  record.expire_time = absl::FromUnixMillis(1'800'000'000'456);
  record.client_address = "198.51.100.7";
  return record;
}

TEST(BrowserLoginRecordTest, SealedRoundTrip) {
  const Sealer sealer = Sealer::WithRandomKey();
  const std::string id = NewBrowserLoginId();
  const BrowserLoginRecord in = Sample();
  const std::string sealed = SealBrowserLogin(in, id, sealer);
  EXPECT_EQ(sealed.find(in.site_request_id), std::string::npos);
  absl::StatusOr<BrowserLoginRecord> out = OpenBrowserLogin(sealed, id, sealer);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->site, in.site);
  EXPECT_EQ(out->site_request_id, in.site_request_id);
  EXPECT_EQ(out->caller, in.caller);
  EXPECT_EQ(out->kind, in.kind);
  EXPECT_EQ(out->custody, in.custody);
  EXPECT_EQ(out->expire_time, in.expire_time);
  EXPECT_EQ(out->client_address, in.client_address);
}

TEST(BrowserLoginRecordTest, AMovedOrEditedRecordDoesNotOpen) {
  const Sealer sealer = Sealer::WithRandomKey();
  const std::string id = NewBrowserLoginId();
  std::string sealed = SealBrowserLogin(Sample(), id, sealer);
  EXPECT_FALSE(OpenBrowserLogin(sealed, NewBrowserLoginId(), sealer).ok());
  sealed[sealed.size() / 2] ^= 1;
  EXPECT_FALSE(OpenBrowserLogin(sealed, id, sealer).ok());
  EXPECT_FALSE(
      OpenBrowserLogin(SealBrowserLogin(Sample(), id, Sealer::WithRandomKey()), id, sealer).ok());
}

TEST(BrowserLoginRecordTest, IdsAre64LowercaseHex) {
  const std::string id = NewBrowserLoginId();
  EXPECT_TRUE(IsWellFormedBrowserLoginId(id));
  EXPECT_NE(id, NewBrowserLoginId());
  EXPECT_FALSE(IsWellFormedBrowserLoginId(std::string(64, 'G')));
  EXPECT_FALSE(IsWellFormedBrowserLoginId(std::string(63, 'a')));
  EXPECT_NE(BrowserLoginKey(id), BrowserLoginClaimKey(id));
}

}  // namespace
}  // namespace credbroker
