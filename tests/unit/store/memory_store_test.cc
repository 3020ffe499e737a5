// MemoryStore: values, locks and rolling windows with expiry from a FakeClock. This
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
  WindowState Reserve(const std::string& key, const std::string& member, int limit,
                      absl::Duration ttl, bool evict = false) {
    WindowState out;
    bool called = false;
    store_.ReserveInWindow(key, member, limit, ttl, evict, [&](absl::StatusOr<WindowState> w) {
      called = true;
      ASSERT_TRUE(w.ok()) << w.status();
      out = *w;
    });
    EXPECT_TRUE(called);
    return out;
  }
  WindowState Replace(const std::string& key, const std::string& old_member,
                      const std::string& new_member, absl::Duration ttl) {
    WindowState out;
    store_.ReplaceInWindow(key, old_member, new_member, ttl, [&](absl::StatusOr<WindowState> w) {
      ASSERT_TRUE(w.ok()) << w.status();
      out = *w;
    });
    return out;
  }
  WindowState Remove(const std::string& key, const std::string& member) {
    WindowState out;
    store_.RemoveFromWindow(key, member, [&](absl::StatusOr<WindowState> w) {
      ASSERT_TRUE(w.ok()) << w.status();
      out = *w;
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

TEST_F(MemoryStoreTest, WindowAdmitsUpToItsLimit) {
  EXPECT_TRUE(Reserve("w", "a", 2, absl::Seconds(60)).added);
  const WindowState second = Reserve("w", "b", 2, absl::Seconds(60));
  EXPECT_TRUE(second.added);
  ASSERT_EQ(second.members.size(), 2u);
  const WindowState third = Reserve("w", "c", 2, absl::Seconds(60));
  EXPECT_FALSE(third.added);
  ASSERT_EQ(third.members.size(), 2u);
  EXPECT_EQ(third.members[0].name, "a");
  EXPECT_EQ(third.members[0].expires, clock_.Now() + absl::Seconds(60));
}

TEST_F(MemoryStoreTest, WindowMembersExpireOneByOne) {
  Reserve("w", "a", 2, absl::Seconds(60));
  clock_.Advance(absl::Seconds(30));
  Reserve("w", "b", 2, absl::Seconds(60));
  EXPECT_FALSE(Reserve("w", "c", 2, absl::Seconds(60)).added);
  clock_.Advance(absl::Seconds(30));  // a leaves exactly 60 s after it came
  const WindowState later = Reserve("w", "c", 2, absl::Seconds(60));
  EXPECT_TRUE(later.added);
  ASSERT_EQ(later.members.size(), 2u);
  EXPECT_EQ(later.members[0].name, "b");
  EXPECT_EQ(later.members[1].name, "c");
  clock_.Advance(absl::Seconds(120));
  EXPECT_EQ(store_.SizeForTest(), 1u);  // swept when touched
  EXPECT_TRUE(Remove("w", "nothing").members.empty());
  EXPECT_EQ(store_.SizeForTest(), 0u);
}

TEST_F(MemoryStoreTest, ReplaceTurnsAPlaceIntoAnotherWhateverTheLimit) {
  Reserve("w", "inflight:1", 1, absl::Seconds(60));
  clock_.Advance(absl::Seconds(10));
  const WindowState replaced = Replace("w", "inflight:1", "failed:1", absl::Seconds(60));
  ASSERT_EQ(replaced.members.size(), 1u);
  EXPECT_EQ(replaced.members[0].name, "failed:1");
  EXPECT_EQ(replaced.members[0].expires, clock_.Now() + absl::Seconds(60));
  // A member already gone is still recorded: the failure happened.
  EXPECT_EQ(Replace("w", "inflight:2", "failed:2", absl::Seconds(60)).members.size(), 2u);
}

TEST_F(MemoryStoreTest, RemoveGivesAPlaceBack) {
  Reserve("w", "a", 1, absl::Seconds(60));
  EXPECT_FALSE(Reserve("w", "b", 1, absl::Seconds(60)).added);
  EXPECT_TRUE(Remove("w", "a").members.empty());
  EXPECT_TRUE(Reserve("w", "b", 1, absl::Seconds(60)).added);
}

TEST_F(MemoryStoreTest, EvictionDropsTheMemberThatExpiresFirst) {
  Reserve("w", "first", 2, absl::Seconds(60), true);
  clock_.Advance(absl::Seconds(1));
  Reserve("w", "second", 2, absl::Seconds(60), true);
  clock_.Advance(absl::Seconds(1));
  const WindowState third = Reserve("w", "third", 2, absl::Seconds(60), true);
  EXPECT_TRUE(third.added);
  EXPECT_EQ(third.evicted, std::optional<std::string>("first"));
  ASSERT_EQ(third.members.size(), 2u);
  EXPECT_EQ(third.members[1].name, "third");
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

TEST_F(MemoryStoreTest, ConcurrentReservationsNeverExceedTheLimit) {
  constexpr int kThreads = 16;
  constexpr int kRounds = 100;
  constexpr int kLimit = 5;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = "w/" + std::to_string(round);
    std::atomic<int> added{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        store_.ReserveInWindow(key, "m" + std::to_string(t), kLimit, absl::Seconds(60), false,
                               [&](absl::StatusOr<WindowState> w) {
                                 if (w.ok() && w->added) added.fetch_add(1);
                               });
        // Some give their place back at once, as refunds do.
        if (t % 4 == 0) store_.RemoveFromWindow(key, "m" + std::to_string(t), [](auto) {});
      });
    }
    go.store(true, std::memory_order_release);
    for (std::thread& th : threads) th.join();
    ASSERT_LE(static_cast<int>(Reserve(key, "probe", 1000, absl::Seconds(60)).members.size()) - 1,
              kLimit)
        << "round " << round;
    ASSERT_GE(added.load(), kLimit) << "round " << round;
  }
}

}  // namespace
}  // namespace credbroker
