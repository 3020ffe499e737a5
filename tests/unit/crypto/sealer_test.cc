// AES-256-GCM sealing of passwords held in challenges: round trip, and every
// way a sealed value can be wrong fails to open instead of yielding garbage.
#include "broker/crypto/sealer.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace credbroker {
namespace {

constexpr char kPlain[] = "correct horse battery staple";
constexpr char kAd[] = "challenge-id-aaaa";

Sealer MakeSealer(char fill) {
  absl::StatusOr<Sealer> sealer = Sealer::Create(std::string(Sealer::kKeyBytes, fill));
  EXPECT_TRUE(sealer.ok()) << sealer.status();
  return *std::move(sealer);
}

TEST(SealerTest, RoundTrip) {
  const Sealer sealer = MakeSealer('k');
  const std::string sealed = sealer.Seal(kPlain, kAd);
  EXPECT_EQ(sealed.size(), 1 + 4 + 12 + std::string(kPlain).size() + 16);
  const absl::StatusOr<std::string> opened = sealer.Open(sealed, kAd);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kPlain);
}

TEST(SealerTest, RoundTripEmptyAndBinary) {
  const Sealer sealer = Sealer::WithRandomKey();
  EXPECT_EQ(*sealer.Open(sealer.Seal("", kAd), kAd), "");
  const std::string binary("a\0b\xff\x01", 5);
  EXPECT_EQ(*sealer.Open(sealer.Seal(binary, ""), ""), binary);
}

TEST(SealerTest, EachSealUsesAFreshNonce) {
  const Sealer sealer = MakeSealer('k');
  EXPECT_NE(sealer.Seal(kPlain, kAd), sealer.Seal(kPlain, kAd));
}

TEST(SealerTest, SealedOutputDoesNotContainThePlaintext) {
  const Sealer sealer = MakeSealer('k');
  const std::string sealed = sealer.Seal(kPlain, kAd);
  EXPECT_EQ(sealed.find(kPlain), std::string::npos);
  EXPECT_EQ(sealed.find("horse"), std::string::npos);
}

TEST(SealerTest, WrongAssociatedDataFails) {
  const Sealer sealer = MakeSealer('k');
  const std::string sealed = sealer.Seal(kPlain, kAd);
  const absl::StatusOr<std::string> opened = sealer.Open(sealed, "challenge-id-bbbb");
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(sealer.Open(sealed, "").status().code(), absl::StatusCode::kDataLoss);
}

TEST(SealerTest, EveryTamperedByteFails) {
  const Sealer sealer = MakeSealer('k');
  const std::string sealed = sealer.Seal(kPlain, kAd);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_EQ(sealer.Open(tampered, kAd).status().code(), absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
}

TEST(SealerTest, TruncatedFails) {
  const Sealer sealer = MakeSealer('k');
  const std::string sealed = sealer.Seal(kPlain, kAd);
  EXPECT_EQ(sealer.Open(sealed.substr(0, sealed.size() - 1), kAd).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(sealer.Open(sealed.substr(0, 27), kAd).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(sealer.Open("", kAd).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SealerTest, WrongKeyFails) {
  const std::string sealed = MakeSealer('k').Seal(kPlain, kAd);
  EXPECT_EQ(MakeSealer('j').Open(sealed, kAd).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Sealer::WithRandomKey().Open(sealed, kAd).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SealerTest, KeySizeChecked) {
  for (std::size_t size : {0, 16, 31, 33, 64}) {
    EXPECT_EQ(Sealer::Create(std::string(size, 'k')).status().code(),
              absl::StatusCode::kInvalidArgument)
        << size;
  }
  EXPECT_TRUE(Sealer::Create(std::string(32, 'k')).ok());
}

TEST(SealerTest, SealedValuesNameTheirKey) {
  const Sealer sealer = MakeSealer('k');
  const std::string sealed = sealer.Seal(kPlain, kAd);
  EXPECT_EQ(sealed[0], '\x01');
  EXPECT_EQ(absl::BytesToHexString(sealed.substr(1, 4)), sealer.active_key_id());
  EXPECT_EQ(sealer.active_key_id(), MakeSealer('k').active_key_id());
  EXPECT_NE(sealer.active_key_id(), MakeSealer('j').active_key_id());
}

TEST(SealerTest, AcceptedKeysOpenButNeverSeal) {
  const Sealer old_key = MakeSealer('o');
  const Sealer rotated = *Sealer::Create(std::string(32, 'n'), {std::string(32, 'o')});
  const std::string sealed_before = old_key.Seal(kPlain, kAd);
  EXPECT_EQ(*rotated.Open(sealed_before, kAd), kPlain);
  const std::string sealed_after = rotated.Seal(kPlain, kAd);
  EXPECT_EQ(absl::BytesToHexString(sealed_after.substr(1, 4)), MakeSealer('n').active_key_id());
  EXPECT_EQ(old_key.Open(sealed_after, kAd).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*MakeSealer('n').Open(sealed_after, kAd), kPlain);
}

TEST(SealerTest, KeyIdCannotBeSwapped) {
  // A value whose key id is rewritten to another held key does not open.
  const Sealer both = *Sealer::Create(std::string(32, 'n'), {std::string(32, 'o')});
  std::string sealed = both.Seal(kPlain, kAd);
  const std::string other_id = MakeSealer('o').Seal("", "").substr(1, 4);
  sealed.replace(1, 4, other_id);
  EXPECT_EQ(both.Open(sealed, kAd).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SealerTest, AnyWrongSizedKeyIsRefused) {
  EXPECT_FALSE(Sealer::Create(std::string(32, 'n'), {std::string(31, 'o')}).ok());
}

}  // namespace
}  // namespace credbroker
