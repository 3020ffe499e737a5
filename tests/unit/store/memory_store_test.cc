// MemoryStore: the store conformance suite on a FakeClock, plus what only the
// memory store does (bounded size, sweeping, exact expiry on the fake clock).
// This test uses no gRPC, so it also runs under TSan (CREDBROKER_UNIT_TSAN).
#include "broker/store/memory_store.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/fakes/fake_clock.h"
#include "tests/unit/store/store_conformance.h"

namespace credbroker {
namespace {

using testing::FakeClock;

// The memory store answers on the caller's thread; time passes at once.
class MemoryStoreEnv {
 public:
  static constexpr int kConcurrencyRounds = 200;
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  static std::optional<std::string> SkipReason() { return std::nullopt; }

  StateStore& store() { return store_; }
  const Clock& clock() { return clock_; }
  void Pass(absl::Duration d) { clock_.Advance(d); }

 private:
  FakeClock clock_;
  MemoryStore store_{clock_};
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, StoreConformanceTest, ::testing::Types<MemoryStoreEnv>);
}  // namespace testing

namespace {

class MemoryStoreTest : public ::testing::Test {
 protected:
  std::optional<std::string> Get(const std::string& key) {
    std::optional<std::string> out;
    bool called = false;
    store_.Get(key, [&](absl::StatusOr<std::optional<std::string>> v) {
      called = true;
      ASSERT_TRUE(v.ok()) << v.status();
      out = *v;
    });
    EXPECT_TRUE(called);
    return out;
  }
  void Put(const std::string& key, const std::string& value, absl::Duration ttl) {
    bool called = false;
    store_.Put(key, value, ttl, [&](absl::Status s) {
      called = true;
      EXPECT_TRUE(s.ok()) << s;
    });
    EXPECT_TRUE(called);
  }
  WindowState Reserve(const std::string& key, const std::string& member, int limit,
                      absl::Duration ttl) {
    WindowState out;
    bool called = false;
    store_.ReserveInWindow(key, member, limit, ttl, false, [&](absl::StatusOr<WindowState> w) {
      called = true;
      ASSERT_TRUE(w.ok()) << w.status();
      out = *w;
    });
    EXPECT_TRUE(called);
    return out;
  }

  FakeClock clock_;
  MemoryStore store_{clock_};
};

TEST_F(MemoryStoreTest, ExpiryIsExactOnTheClockAndDropsTheEntry) {
  Put("k", "v", absl::Seconds(10));
  clock_.Advance(absl::Seconds(10) - absl::Nanoseconds(1));
  EXPECT_EQ(Get("k"), "v");
  clock_.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(Get("k"), std::nullopt);
  EXPECT_EQ(store_.SizeForTest(), 0u);
}

TEST_F(MemoryStoreTest, WindowMembersExpireExactlyAndTheEmptyWindowGoes) {
  const WindowState first = Reserve("w", "a", 2, absl::Seconds(60));
  ASSERT_EQ(first.members.size(), 1u);
  EXPECT_EQ(first.members[0].expires, clock_.Now() + absl::Seconds(60));
  clock_.Advance(absl::Seconds(30));
  Reserve("w", "b", 2, absl::Seconds(60));
  clock_.Advance(absl::Seconds(30));  // a leaves exactly 60 s after it came
  EXPECT_EQ(Reserve("w", "c", 2, absl::Seconds(60)).members.size(), 2u);
  clock_.Advance(absl::Seconds(120));
  EXPECT_EQ(store_.SizeForTest(), 1u);  // swept when touched
  store_.RemoveFromWindow("w", "nothing", [](absl::StatusOr<WindowState> w) {
    ASSERT_TRUE(w.ok());
    EXPECT_TRUE(w->members.empty());
  });
  EXPECT_EQ(store_.SizeForTest(), 0u);
}

TEST_F(MemoryStoreTest, FullStoreRefusesNewKeysButServesLiveOnes) {
  MemoryStore small(clock_, 2);
  small.Put("a", "1", absl::Seconds(60), [](absl::Status s) { EXPECT_TRUE(s.ok()); });
  small.Put("b", "2", absl::Seconds(60), [](absl::Status s) { EXPECT_TRUE(s.ok()); });
  absl::Status refused;
  small.Put("c", "3", absl::Seconds(60), [&](absl::Status s) { refused = s; });
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(refused.message()).find("full"), std::string::npos);
  small.ReserveInWindow("w", "m", 1, absl::Seconds(60), false, [](absl::StatusOr<WindowState> w) {
    EXPECT_EQ(w.status().code(), absl::StatusCode::kUnavailable);
  });
  // Keys already held can still change, and expired ones make room.
  small.Put("a", "1b", absl::Seconds(1), [](absl::Status s) { EXPECT_TRUE(s.ok()); });
  clock_.Advance(absl::Seconds(2));
  small.Put("c", "3", absl::Seconds(60), [](absl::Status s) { EXPECT_TRUE(s.ok()); });
}

TEST_F(MemoryStoreTest, ExpiredEntriesAreSweptEvenIfNeverTouched) {
  // Keys before and after the one written, so the sweep must wrap around.
  for (int i = 0; i < 500; ++i) {
    Put("a-old/" + std::to_string(i), "v", absl::Seconds(1));
    Put("z-old/" + std::to_string(i), "v", absl::Seconds(1));
    Put("z-live/" + std::to_string(i), "v", absl::Seconds(60));
  }
  clock_.Advance(absl::Seconds(2));
  // Each write looks at a few keys only; 1,500 keys take a few hundred writes.
  for (int i = 0; i < 100; ++i) Put("new", "v", absl::Seconds(60));
  EXPECT_GT(store_.SizeForTest(), 501u);
  for (int i = 0; i < 400; ++i) Put("new", "v", absl::Seconds(60));
  EXPECT_EQ(store_.SizeForTest(), 501u);
}

}  // namespace
}  // namespace credbroker
