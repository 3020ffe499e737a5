// TOTP against RFC 6238 Appendix B (SHA-1 rows, last six digits) and base32 decoding.
#include "totp.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace {

using shotgrid_totp::Base32Decode;
using shotgrid_totp::TotpCode;
using shotgrid_totp::TotpCodeFromKey;

// base32 of the RFC's ASCII key "12345678901234567890".
constexpr const char* kRfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

TEST(Totp, Rfc6238Vectors) {
  const std::string key = "12345678901234567890";
  struct {
    int64_t t;
    const char* code;
  } vectors[] = {
      {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
      {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(TotpCodeFromKey(key, v.t), v.code) << "T=" << v.t;
    EXPECT_EQ(TotpCode(kRfcSecret, v.t), v.code) << "T=" << v.t;
  }
}

TEST(Totp, Base32DecodesRfcKeyAndTolerance) {
  EXPECT_EQ(Base32Decode(kRfcSecret).value(), "12345678901234567890");
  EXPECT_EQ(Base32Decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").value(),
            "12345678901234567890");
  EXPECT_EQ(Base32Decode("MZXW6===").value(), "foo");
  EXPECT_FALSE(Base32Decode("ABC1").has_value());
  EXPECT_EQ(TotpCode("not base32!", 59), "");
}

TEST(Totp, StepBoundaries) {
  EXPECT_EQ(shotgrid_totp::TotpStep(59), 1);
  EXPECT_EQ(shotgrid_totp::TotpStep(60), 2);
  EXPECT_EQ(TotpCode("JBSWY3DPEHPK3PXP", 60), TotpCode("JBSWY3DPEHPK3PXP", 89));
  EXPECT_EQ(TotpCode("JBSWY3DPEHPK3PXP", 1).size(), 6u);
}

}  // namespace

namespace {

// Independent cross-check against oathtool where it is installed (it is in the dev image).
TEST(Totp, MatchesOathtool) {
  if (std::system("command -v oathtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "no oathtool";
  for (int64_t t : {int64_t{1700000000}, int64_t{1234567890}, int64_t{59}}) {
    std::string cmd =
        "oathtool --totp -b JBSWY3DPEHPK3PXP -N @" + std::to_string(t) + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[32] = {0};
    ASSERT_NE(fgets(buf, sizeof(buf), p), nullptr);
    pclose(p);
    std::string expected(buf);
    expected.erase(expected.find_last_not_of("\r\n") + 1);
    EXPECT_EQ(TotpCode("JBSWY3DPEHPK3PXP", t), expected) << "t=" << t;
  }
}

}  // namespace
