// ClipForAudit and ClipUnlessSane: what of a refused request may reach an
// audit line. Safe short values pass unchanged; anything else is cut to 64
// characters of [A-Za-z0-9._@+-] with '?' for the rest, and marked.
#include "broker/api/audit_clip.h"

#include <string>

#include "gtest/gtest.h"

namespace credbroker {
namespace {

const std::string kMark = "\u2026(clipped)";

TEST(ClipForAuditTest, SafeShortValuesPassUnchanged) {
  for (const char* value :
       {"", "jdoe", "jane.doe@studio.example", "render-farm", "svc+ingest_1", "ABCxyz019"}) {
    EXPECT_EQ(ClipForAudit(value), value);
  }
  const std::string longest(64, 'a');
  EXPECT_EQ(ClipForAudit(longest), longest);
}

TEST(ClipForAuditTest, LongValuesAreCutAndMarked) {
  EXPECT_EQ(ClipForAudit(std::string(65, 'a')), std::string(64, 'a') + kMark);
  EXPECT_EQ(ClipForAudit(std::string(100000, 'b')), std::string(64, 'b') + kMark);
}

TEST(ClipForAuditTest, UnsafeCharactersAreReplacedAndMarked) {
  EXPECT_EQ(ClipForAudit("jdoe\n{\"event\":\"forged\"}"), "jdoe???event???forged??" + kMark);
  EXPECT_EQ(ClipForAudit("a b"), "a?b" + kMark);
  EXPECT_EQ(ClipForAudit("x'y\\z"), "x?y?z" + kMark);
  EXPECT_EQ(ClipForAudit(std::string("nul\0byte", 8)), "nul?byte" + kMark);
  // Each byte of a multi-byte character is one '?': no partial UTF-8 survives.
  EXPECT_EQ(ClipForAudit("j\xc3\xb6rg"), "j??rg" + kMark);
  EXPECT_EQ(ClipForAudit("\xff\xfe"), "??" + kMark);
}

TEST(ClipForAuditTest, OutputIsAlwaysBoundedAndSafe) {
  std::string nasty;
  for (int i = 0; i < 1000; ++i) nasty.push_back(static_cast<char>(i % 256));
  const std::string clipped = ClipForAudit(nasty);
  ASSERT_EQ(clipped.size(), 64 + kMark.size());
  for (char c : clipped.substr(0, 64)) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '@' || c == '+' || c == '-' || c == '?';
    EXPECT_TRUE(safe) << static_cast<int>(static_cast<unsigned char>(c));
  }
}

TEST(ClipUnlessSaneTest, KeepsValuesWithinTheLimitWithoutControlCharacters) {
  EXPECT_EQ(ClipUnlessSane("10.0.0.7", 256), "10.0.0.7");
  EXPECT_EQ(ClipUnlessSane("fe80::1%eth0", 256), "fe80::1%eth0");
  EXPECT_EQ(ClipUnlessSane("Mozilla/5.0 (X11; Linux x86_64)", 1024),
            "Mozilla/5.0 (X11; Linux x86_64)");
  EXPECT_EQ(ClipUnlessSane(std::string(256, 'u'), 256), std::string(256, 'u'));
}

TEST(ClipUnlessSaneTest, ClipsWhatValidationWouldRefuse) {
  EXPECT_EQ(ClipUnlessSane(std::string(257, 'u'), 256), std::string(64, 'u') + kMark);
  EXPECT_EQ(ClipUnlessSane("agent\nforged", 1024), "agent?forged" + kMark);
  EXPECT_EQ(ClipUnlessSane("del\x7f", 1024), "del?" + kMark);
}

}  // namespace
}  // namespace credbroker
