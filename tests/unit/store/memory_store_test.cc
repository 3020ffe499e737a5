// MemoryStore: values, locks and counters with expiry from a FakeClock. This
// test uses no gRPC, so it also runs under TSan (CREDBROKER_UNIT_TSAN).
#include "broker/store/memory_store.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/fakes/fake_clock.h"

namespace credbroker {
namespace {

using testing::FakeClock;

// MemoryStore answers on the caller's thread; these helpers make that a value.
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
  bool PutIfAbsent(const std::string& key, const std::string& value, absl::Duration ttl) {
    bool out = false;
    store_.PutIfAbsent(key, value, ttl, [&](absl::StatusOr<bool> b) {
      ASSERT_TRUE(b.ok()) << b.status();
      out = *b;
    });
    return out;
  }
  void Delete(const std::string& key) {
    store_.Delete(key, [](absl::Status s) { EXPECT_TRUE(s.ok()) << s; });
  }
  CounterValue Increment(const std::string& key, absl::Duration window) {
    CounterValue out;
    store_.Increment(key, window, [&](absl::StatusOr<CounterValue> c) {
      ASSERT_TRUE(c.ok()) << c.status();
      out = *c;
    });
    return out;
  }
  CounterValue Read(const std::string& key) {
    CounterValue out;
    out.count = -1;
    store_.ReadCounter(key, [&](absl::StatusOr<CounterValue> c) {
      ASSERT_TRUE(c.ok()) << c.status();
      out = *c;
    });
    return out;
  }

  FakeClock clock_;
  MemoryStore store_{clock_};
};

TEST_F(MemoryStoreTest, GetOfAbsentKeyIsNullopt) { EXPECT_EQ(Get("nope"), std::nullopt); }

TEST_F(MemoryStoreTest, PutThenGet) {
  Put("k", "v1", absl::Seconds(10));
  EXPECT_EQ(Get("k"), "v1");
  Put("k", "v2", absl::Seconds(10));
  EXPECT_EQ(Get("k"), "v2");
}

TEST_F(MemoryStoreTest, PutExpiresAfterTtl) {
  Put("k", "v", absl::Seconds(10));
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(Get("k"), "v");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Get("k"), std::nullopt);
  EXPECT_EQ(store_.SizeForTest(), 0u);
}

TEST_F(MemoryStoreTest, PutReplacesTtl) {
  Put("k", "v", absl::Seconds(10));
  clock_.Advance(absl::Seconds(8));
  Put("k", "v", absl::Seconds(10));
  clock_.Advance(absl::Seconds(8));
  EXPECT_EQ(Get("k"), "v");
}

TEST_F(MemoryStoreTest, PutIfAbsent) {
  EXPECT_TRUE(PutIfAbsent("lock", "a", absl::Seconds(60)));
  EXPECT_FALSE(PutIfAbsent("lock", "b", absl::Seconds(60)));
  EXPECT_EQ(Get("lock"), "a");
  Delete("lock");
  EXPECT_TRUE(PutIfAbsent("lock", "c", absl::Seconds(60)));
  EXPECT_EQ(Get("lock"), "c");
}

TEST_F(MemoryStoreTest, PutIfAbsentSucceedsOnceExpired) {
  EXPECT_TRUE(PutIfAbsent("lock", "a", absl::Seconds(60)));
  clock_.Advance(absl::Seconds(59));
  EXPECT_FALSE(PutIfAbsent("lock", "b", absl::Seconds(60)));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(PutIfAbsent("lock", "b", absl::Seconds(60)));
  EXPECT_EQ(Get("lock"), "b");
}

TEST_F(MemoryStoreTest, DeleteOfAbsentKeyIsFine) {
  Delete("never-there");
  Put("k", "v", absl::Seconds(1));
  Delete("k");
  EXPECT_EQ(Get("k"), std::nullopt);
}

TEST_F(MemoryStoreTest, DeleteIfEqualsReleasesOnlyTheHoldersLock) {
  EXPECT_TRUE(PutIfAbsent("lock", "first-holder", absl::Seconds(60)));
  clock_.Advance(absl::Seconds(60));  // expired; someone else takes it
  EXPECT_TRUE(PutIfAbsent("lock", "second-holder", absl::Seconds(60)));
  bool called = false;
  store_.DeleteIfEquals("lock", "first-holder", [&](absl::Status s) {
    called = true;
    EXPECT_TRUE(s.ok());
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(Get("lock"), "second-holder");
  store_.DeleteIfEquals("lock", "second-holder", [](absl::Status) {});
  EXPECT_EQ(Get("lock"), std::nullopt);
}

TEST_F(MemoryStoreTest, CounterCountsWithinItsWindow) {
  EXPECT_EQ(Read("c").count, 0);
  EXPECT_EQ(Read("c").remaining, absl::ZeroDuration());
  CounterValue v = Increment("c", absl::Seconds(900));
  EXPECT_EQ(v.count, 1);
  EXPECT_EQ(v.remaining, absl::Seconds(900));
  clock_.Advance(absl::Seconds(100));
  v = Increment("c", absl::Seconds(900));
  EXPECT_EQ(v.count, 2);
  EXPECT_EQ(v.remaining, absl::Seconds(800));
  const CounterValue read = Read("c");
  EXPECT_EQ(read.count, 2);
  EXPECT_EQ(read.remaining, absl::Seconds(800));
}

TEST_F(MemoryStoreTest, CounterWindowStartsAtFirstIncrementNotLast) {
  Increment("c", absl::Seconds(900));
  for (int i = 0; i < 8; ++i) {
    clock_.Advance(absl::Seconds(100));
    Increment("c", absl::Seconds(900));
  }
  // 800 s in, nine increments; the window still ends at 900 s.
  EXPECT_EQ(Read("c").count, 9);
  EXPECT_EQ(Read("c").remaining, absl::Seconds(100));
  clock_.Advance(absl::Seconds(100));
  EXPECT_EQ(Read("c").count, 0);
  // The next increment opens a new window.
  const CounterValue fresh = Increment("c", absl::Seconds(900));
  EXPECT_EQ(fresh.count, 1);
  EXPECT_EQ(fresh.remaining, absl::Seconds(900));
}

TEST_F(MemoryStoreTest, KeysAreIndependent) {
  Increment("a", absl::Seconds(60));
  Increment("a", absl::Seconds(60));
  Increment("b", absl::Seconds(60));
  Put("v", "x", absl::Seconds(60));
  EXPECT_EQ(Read("a").count, 2);
  EXPECT_EQ(Read("b").count, 1);
  EXPECT_EQ(Get("v"), "x");
}

TEST_F(MemoryStoreTest, ExpiredEntriesAreSweptEvenIfNeverTouched) {
  for (int i = 0; i < 100; ++i) Put("old/" + std::to_string(i), "v", absl::Seconds(1));
  clock_.Advance(absl::Seconds(2));
  for (int i = 0; i < 2000; ++i) Put("new", "v", absl::Seconds(60));
  EXPECT_EQ(store_.SizeForTest(), 1u);
}

TEST_F(MemoryStoreTest, CallbacksMayUseTheStoreAgain) {
  bool inner = false;
  store_.Put("k", "v", absl::Seconds(5), [&](absl::Status) {
    store_.Get("k", [&](absl::StatusOr<std::optional<std::string>> v) {
      inner = v.ok() && *v == std::optional<std::string>("v");
    });
  });
  EXPECT_TRUE(inner);
}

TEST_F(MemoryStoreTest, PutIfAbsentHasExactlyOneWinnerUnderConcurrency) {
  constexpr int kThreads = 16;
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = "lock/" + std::to_string(round);
    std::atomic<int> winners{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        store_.PutIfAbsent(key, std::to_string(t), absl::Seconds(60),
                           [&](absl::StatusOr<bool> claimed) {
                             if (claimed.ok() && *claimed) winners.fetch_add(1);
                           });
      });
    }
    go.store(true, std::memory_order_release);
    for (std::thread& th : threads) th.join();
    ASSERT_EQ(winners.load(), 1) << "round " << round;
  }
}

TEST_F(MemoryStoreTest, ConcurrentIncrementsAreNotLost) {
  constexpr int kThreads = 8;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        store_.Increment("c", absl::Seconds(60), [](absl::StatusOr<CounterValue>) {});
        if (i % 50 == 0) clock_.Advance(absl::Milliseconds(1));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(Read("c").count, kThreads * kEach);
}

}  // namespace
}  // namespace credbroker
