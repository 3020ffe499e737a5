// One behavioural suite for every StateStore, so that the memory store and the
// Redis store cannot drift apart (the way Dex tests all its storages with one
// conformance suite). A test binary instantiates it with an environment:
//
//   struct Env {
//     static void SetUpTestSuite();              // e.g. start a server
//     static void TearDownTestSuite();
//     static std::optional<std::string> SkipReason();  // nullopt: run
//     static constexpr int kConcurrencyRounds = ...;
//     Env();                                     // a fresh, empty store
//     StateStore& store();
//     const Clock& clock();                      // the clock the store reads
//     void Pass(absl::Duration d);               // let d go by for the store
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, StoreConformanceTest, ::testing::Types<Env>);
//
// Stores may answer on another thread, so every helper waits for its callback.
// Expiry tests use short TTLs: a fake clock advances through them at once, a
// real store really waits them out.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/store/state_store.h"
#include "gtest/gtest.h"

namespace credbroker::testing {

// One store answer, whichever thread it arrives on.
template <typename T>
class Answer {
 public:
  std::function<void(T)> Callback() {
    return [promise = promise_](T value) { promise->set_value(std::move(value)); };
  }
  // A store that never answers fails the test instead of hanging it.
  T Wait() {
    if (future_.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return T(absl::DeadlineExceededError("the store never answered"));
    }
    return future_.get();
  }

 private:
  std::shared_ptr<std::promise<T>> promise_ = std::make_shared<std::promise<T>>();
  std::future<T> future_ = promise_->get_future();
};

template <typename Env>
class StoreConformanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { Env::SetUpTestSuite(); }
  static void TearDownTestSuite() { Env::TearDownTestSuite(); }

  void SetUp() override {
    if (std::optional<std::string> why = Env::SkipReason()) GTEST_SKIP() << *why;
    env_ = std::make_unique<Env>();
  }

  StateStore& store() { return env_->store(); }
  absl::Time Now() { return env_->clock().Now(); }
  void Pass(absl::Duration d) { env_->Pass(d); }

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) {
    Answer<absl::StatusOr<std::optional<std::string>>> answer;
    store().Get(key, answer.Callback());
    return answer.Wait();
  }
  absl::Status Put(const std::string& key, const std::string& value, absl::Duration ttl) {
    Answer<absl::Status> answer;
    store().Put(key, value, ttl, answer.Callback());
    return answer.Wait();
  }
  absl::StatusOr<bool> PutIfAbsent(const std::string& key, const std::string& value,
                                   absl::Duration ttl) {
    Answer<absl::StatusOr<bool>> answer;
    store().PutIfAbsent(key, value, ttl, answer.Callback());
    return answer.Wait();
  }
  absl::StatusOr<bool> PutIfHeld(const std::string& key, const std::string& value,
                                 const std::string& guard_key, const std::string& guard_value) {
    Answer<absl::StatusOr<bool>> answer;
    store().PutIfHeld(key, value, kLongTtl(), guard_key, guard_value, answer.Callback());
    return answer.Wait();
  }
  static absl::Duration kLongTtl() { return absl::Seconds(60); }
  absl::Status Delete(const std::string& key) {
    Answer<absl::Status> answer;
    store().Delete(key, answer.Callback());
    return answer.Wait();
  }
  absl::Status DeleteIfEquals(const std::string& key, const std::string& expected) {
    Answer<absl::Status> answer;
    store().DeleteIfEquals(key, expected, answer.Callback());
    return answer.Wait();
  }
  absl::StatusOr<WindowState> Reserve(const std::string& key, const std::string& member, int limit,
                                      absl::Duration ttl, bool evict = false) {
    Answer<absl::StatusOr<WindowState>> answer;
    store().ReserveInWindow(key, member, limit, ttl, evict, answer.Callback());
    return answer.Wait();
  }
  absl::StatusOr<WindowState> Replace(const std::string& key, const std::string& old_member,
                                      const std::string& new_member, absl::Duration ttl) {
    Answer<absl::StatusOr<WindowState>> answer;
    store().ReplaceInWindow(key, old_member, new_member, ttl, answer.Callback());
    return answer.Wait();
  }
  absl::StatusOr<std::size_t> Count(const std::string& key) {
    Answer<absl::StatusOr<std::size_t>> answer;
    store().CountWindow(key, answer.Callback());
    return answer.Wait();
  }
  absl::StatusOr<WindowState> Remove(const std::string& key, const std::string& member) {
    Answer<absl::StatusOr<WindowState>> answer;
    store().RemoveFromWindow(key, member, answer.Callback());
    return answer.Wait();
  }

  // A member's expiry is `ttl` after the call, as the store's clock saw it
  // between `before` and `after`; a networked store counts whole milliseconds.
  static void ExpectExpiry(absl::Time expires, absl::Time before, absl::Time after,
                           absl::Duration ttl) {
    EXPECT_GE(expires, before + ttl - absl::Milliseconds(1));
    EXPECT_LE(expires, after + ttl);
  }

  std::unique_ptr<Env> env_;
};

TYPED_TEST_SUITE_P(StoreConformanceTest);

constexpr absl::Duration kLong = absl::Seconds(60);
// Short enough for a real store to wait out, long enough that a loaded test
// machine reads a fresh value well before it expires.
constexpr absl::Duration kShort = absl::Milliseconds(400);

TYPED_TEST_P(StoreConformanceTest, GetOfAbsentKeyIsNullopt) {
  EXPECT_EQ(this->Get("nope").value(), std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, PutThenGet) {
  ASSERT_TRUE(this->Put("k", "v1", kLong).ok());
  EXPECT_EQ(this->Get("k").value(), "v1");
  ASSERT_TRUE(this->Put("k", "v2", kLong).ok());
  EXPECT_EQ(this->Get("k").value(), "v2");
}

TYPED_TEST_P(StoreConformanceTest, ValuesAreBinarySafe) {
  // Sealed records are arbitrary bytes: NULs, high bytes, CR LF.
  constexpr char kSealed[] = "\0\x01\xff\r\n$3\r\nend\0";
  const std::string sealed(kSealed, sizeof(kSealed) - 1);
  ASSERT_TRUE(this->Put("sealed", sealed, kLong).ok());
  EXPECT_EQ(this->Get("sealed").value(), sealed);
  ASSERT_TRUE(this->PutIfAbsent("lock", sealed, kLong).value());
  ASSERT_TRUE(this->DeleteIfEquals("lock", sealed).ok());
  EXPECT_EQ(this->Get("lock").value(), std::nullopt);
  const std::string key("k\0\xfe y", 5);
  ASSERT_TRUE(this->Put(key, "v", kLong).ok());
  EXPECT_EQ(this->Get(key).value(), "v");
  EXPECT_EQ(this->Get("k").value(), std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, PutExpiresAfterTtl) {
  ASSERT_TRUE(this->Put("k", "v", kShort).ok());
  EXPECT_EQ(this->Get("k").value(), "v");
  this->Pass(kShort);
  EXPECT_EQ(this->Get("k").value(), std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, PutReplacesTtl) {
  constexpr absl::Duration kTtl = absl::Milliseconds(600);
  ASSERT_TRUE(this->Put("k", "v", kTtl).ok());
  this->Pass(absl::Milliseconds(350));
  ASSERT_TRUE(this->Put("k", "v", kTtl).ok());
  this->Pass(absl::Milliseconds(350));  // past the first ttl, within the second
  EXPECT_EQ(this->Get("k").value(), "v");
}

TYPED_TEST_P(StoreConformanceTest, PutIfAbsentTakesOnlyAnAbsentKey) {
  EXPECT_TRUE(this->PutIfAbsent("lock", "a", kLong).value());
  EXPECT_FALSE(this->PutIfAbsent("lock", "b", kLong).value());
  EXPECT_EQ(this->Get("lock").value(), "a");
  ASSERT_TRUE(this->Delete("lock").ok());
  EXPECT_TRUE(this->PutIfAbsent("lock", "c", kLong).value());
  EXPECT_EQ(this->Get("lock").value(), "c");
}

TYPED_TEST_P(StoreConformanceTest, PutIfAbsentSucceedsOnceExpired) {
  EXPECT_TRUE(this->PutIfAbsent("lock", "a", kShort).value());
  EXPECT_FALSE(this->PutIfAbsent("lock", "b", kLong).value());
  this->Pass(kShort);
  EXPECT_TRUE(this->PutIfAbsent("lock", "b", kLong).value());
  EXPECT_EQ(this->Get("lock").value(), "b");
}

TYPED_TEST_P(StoreConformanceTest, DeleteOfAbsentKeyIsFine) {
  EXPECT_TRUE(this->Delete("never-there").ok());
  ASSERT_TRUE(this->Put("k", "v", kLong).ok());
  EXPECT_TRUE(this->Delete("k").ok());
  EXPECT_EQ(this->Get("k").value(), std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, DeleteIfEqualsReleasesOnlyTheHoldersLock) {
  EXPECT_TRUE(this->PutIfAbsent("lock", "first-holder", kShort).value());
  this->Pass(kShort);  // expired; someone else takes it
  EXPECT_TRUE(this->PutIfAbsent("lock", "second-holder", kLong).value());
  EXPECT_TRUE(this->DeleteIfEquals("lock", "first-holder").ok());
  EXPECT_EQ(this->Get("lock").value(), "second-holder");
  EXPECT_TRUE(this->DeleteIfEquals("lock", "second-holder").ok());
  EXPECT_EQ(this->Get("lock").value(), std::nullopt);
  EXPECT_TRUE(this->DeleteIfEquals("never-there", "x").ok());
}

TYPED_TEST_P(StoreConformanceTest, WindowAdmitsUpToItsLimit) {
  const absl::Time before = this->Now();
  EXPECT_TRUE(this->Reserve("w", "a", 2, kLong).value().added);
  const absl::Time after = this->Now();
  const WindowState second = this->Reserve("w", "b", 2, kLong).value();
  EXPECT_TRUE(second.added);
  ASSERT_EQ(second.members.size(), 2u);
  const WindowState third = this->Reserve("w", "c", 2, kLong).value();
  EXPECT_FALSE(third.added);
  EXPECT_EQ(third.evicted, std::nullopt);
  ASSERT_EQ(third.members.size(), 2u);
  EXPECT_EQ(third.members[0].name, "a");
  EXPECT_EQ(third.members[1].name, "b");
  this->ExpectExpiry(third.members[0].expires, before, after, kLong);
}

TYPED_TEST_P(StoreConformanceTest, WindowMembersExpireOneByOne) {
  ASSERT_TRUE(this->Reserve("w", "a", 2, kShort).value().added);
  this->Pass(kShort / 2);
  ASSERT_TRUE(this->Reserve("w", "b", 2, kShort).value().added);
  EXPECT_FALSE(this->Reserve("w", "c", 2, kShort).value().added);
  this->Pass(kShort / 2);  // a leaves kShort after it came
  const WindowState later = this->Reserve("w", "c", 2, kShort).value();
  EXPECT_TRUE(later.added);
  ASSERT_EQ(later.members.size(), 2u);
  EXPECT_EQ(later.members[0].name, "b");
  EXPECT_EQ(later.members[1].name, "c");
  this->Pass(kShort);
  EXPECT_TRUE(this->Remove("w", "nothing").value().members.empty());
  EXPECT_TRUE(this->Reserve("w", "d", 1, kLong).value().added);
}

TYPED_TEST_P(StoreConformanceTest, ReserveOfAMemberAlreadyThereRenewsIt) {
  ASSERT_TRUE(this->Reserve("w", "a", 2, kShort).value().added);
  const WindowState again = this->Reserve("w", "a", 2, kLong).value();
  EXPECT_TRUE(again.added);
  ASSERT_EQ(again.members.size(), 1u);
  this->Pass(kShort);
  EXPECT_EQ(this->Remove("w", "nothing").value().members.size(), 1u);
}

TYPED_TEST_P(StoreConformanceTest, ReplaceTurnsAPlaceIntoAnotherWhateverTheLimit) {
  ASSERT_TRUE(this->Reserve("w", "inflight:1", 1, kLong).value().added);
  const absl::Time before = this->Now();
  const WindowState replaced = this->Replace("w", "inflight:1", "failed:1", kLong).value();
  const absl::Time after = this->Now();
  EXPECT_TRUE(replaced.added);
  ASSERT_EQ(replaced.members.size(), 1u);
  EXPECT_EQ(replaced.members[0].name, "failed:1");
  this->ExpectExpiry(replaced.members[0].expires, before, after, kLong);
  // A member already gone is still recorded: the failure happened.
  EXPECT_EQ(this->Replace("w", "inflight:2", "failed:2", kLong).value().members.size(), 2u);
  // And into a window that does not exist yet.
  EXPECT_EQ(this->Replace("fresh", "inflight:3", "failed:3", kLong).value().members.size(), 1u);
}

TYPED_TEST_P(StoreConformanceTest, RemoveGivesAPlaceBack) {
  ASSERT_TRUE(this->Reserve("w", "a", 1, kLong).value().added);
  EXPECT_FALSE(this->Reserve("w", "b", 1, kLong).value().added);
  const WindowState removed = this->Remove("w", "a").value();
  EXPECT_FALSE(removed.added);
  EXPECT_TRUE(removed.members.empty());
  EXPECT_TRUE(this->Reserve("w", "b", 1, kLong).value().added);
  EXPECT_TRUE(this->Remove("absent-window", "a").value().members.empty());
}

// Without a callback nothing is answered, and the window still changes.
TYPED_TEST_P(StoreConformanceTest, WindowChangesNeedNoAnswer) {
  this->store().ReserveInWindow("w", "a", 10, kLong, false, nullptr);
  this->store().ReserveInWindow("w", "b", 10, kLong, false, nullptr);
  this->store().ReplaceInWindow("w", "b", "c", kLong, nullptr);
  this->store().RemoveFromWindow("w", "a", nullptr);
  const WindowState window = this->Remove("w", "").value();
  ASSERT_EQ(window.members.size(), 1u);
  EXPECT_EQ(window.members[0].name, "c");
}

// A count sees only live members, and every answer carries it.
TYPED_TEST_P(StoreConformanceTest, CountWindowCountsLiveMembersOnly) {
  EXPECT_EQ(this->Count("w").value(), 0u);
  ASSERT_TRUE(this->Reserve("w", "short", 10, kShort).value().added);
  this->store().ReserveInWindow("w", "long-1", 10, kLong, false, nullptr);
  const WindowState third = this->Reserve("w", "long-2", 10, kLong).value();
  EXPECT_EQ(third.size, 3u);
  EXPECT_EQ(third.members.size(), 3u);
  EXPECT_EQ(this->Count("w").value(), 3u);
  this->Pass(kShort);
  EXPECT_EQ(this->Count("w").value(), 2u);
  EXPECT_EQ(this->Remove("w", "long-1").value().size, 1u);
  EXPECT_EQ(this->Count("w").value(), 1u);
  EXPECT_EQ(this->Remove("w", "long-2").value().size, 0u);
  EXPECT_EQ(this->Count("w").value(), 0u);
}

TYPED_TEST_P(StoreConformanceTest, EvictionDropsTheMemberThatExpiresFirst) {
  // Distinct ttls order the expiries without waiting.
  ASSERT_TRUE(this->Reserve("w", "second", 2, kLong + absl::Seconds(1), true).value().added);
  ASSERT_TRUE(this->Reserve("w", "first", 2, kLong, true).value().added);
  const WindowState third = this->Reserve("w", "third", 2, kLong + absl::Seconds(2), true).value();
  EXPECT_TRUE(third.added);
  EXPECT_EQ(third.evicted, std::optional<std::string>("first"));
  ASSERT_EQ(third.members.size(), 2u);
  EXPECT_EQ(third.members[0].name, "second");
  EXPECT_EQ(third.members[1].name, "third");
  // Without eviction a full window refuses and evicts nothing.
  const WindowState refused = this->Reserve("w", "fourth", 2, kLong, false).value();
  EXPECT_FALSE(refused.added);
  EXPECT_EQ(refused.evicted, std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, CallbacksMayUseTheStoreAgain) {
  Answer<absl::StatusOr<std::optional<std::string>>> inner;
  StateStore& store = this->store();
  auto inner_done = inner.Callback();
  store.Put("k", "v", absl::Seconds(5), [&store, inner_done](const absl::Status& s) {
    if (!s.ok()) return inner_done(s);
    store.Get("k", inner_done);
  });
  EXPECT_EQ(inner.Wait().value(), "v");
}

TYPED_TEST_P(StoreConformanceTest, PutIfAbsentHasExactlyOneWinnerUnderConcurrency) {
  constexpr int kThreads = 16;
  for (int round = 0; round < TypeParam::kConcurrencyRounds; ++round) {
    const std::string key = "lock/" + std::to_string(round);
    std::atomic<int> winners{0};
    std::atomic<int> failures{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        Answer<absl::StatusOr<bool>> answer;
        this->store().PutIfAbsent(key, std::to_string(t), kLong, answer.Callback());
        const absl::StatusOr<bool> claimed = answer.Wait();
        if (!claimed.ok()) {
          failures.fetch_add(1);
        } else if (*claimed) {
          winners.fetch_add(1);
        }
      });
    }
    go.store(true, std::memory_order_release);
    for (std::thread& th : threads) th.join();
    ASSERT_EQ(failures.load(), 0) << "round " << round;
    ASSERT_EQ(winners.load(), 1) << "round " << round;
  }
}

TYPED_TEST_P(StoreConformanceTest, ConcurrentReservationsNeverExceedTheLimit) {
  constexpr int kThreads = 16;
  constexpr int kLimit = 5;
  for (int round = 0; round < TypeParam::kConcurrencyRounds; ++round) {
    const std::string key = "w/" + std::to_string(round);
    std::atomic<int> added{0};
    std::atomic<int> failures{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        const std::string member = "m" + std::to_string(t);
        Answer<absl::StatusOr<WindowState>> reserved;
        this->store().ReserveInWindow(key, member, kLimit, kLong, false, reserved.Callback());
        // Some give their place back at once, as refunds do.
        std::optional<Answer<absl::StatusOr<WindowState>>> removed;
        if (t % 4 == 0) {
          removed.emplace();
          this->store().RemoveFromWindow(key, member, removed->Callback());
        }
        const absl::StatusOr<WindowState> w = reserved.Wait();
        if (!w.ok()) {
          failures.fetch_add(1);
        } else if (w->added) {
          if (static_cast<int>(w->members.size()) > kLimit) failures.fetch_add(1);
          added.fetch_add(1);
        }
        if (removed && !removed->Wait().ok()) failures.fetch_add(1);
      });
    }
    go.store(true, std::memory_order_release);
    for (std::thread& th : threads) th.join();
    ASSERT_EQ(failures.load(), 0) << "round " << round;
    const WindowState probe = this->Reserve(key, "probe", 1000, kLong).value();
    ASSERT_LE(static_cast<int>(probe.members.size()) - 1, kLimit) << "round " << round;
    ASSERT_GE(added.load(), kLimit) << "round " << round;
  }
}

TYPED_TEST_P(StoreConformanceTest, PutIfHeldWritesOnlyForTheGuardsHolder) {
  ASSERT_TRUE(this->PutIfAbsent("lease", "holder-1", kLong).value());
  EXPECT_TRUE(this->PutIfHeld("record", "v1", "lease", "holder-1").value());
  EXPECT_EQ(this->Get("record").value(), "v1");
  // The lease passed to another holder: the first can no longer write.
  ASSERT_TRUE(this->DeleteIfEquals("lease", "holder-1").ok());
  ASSERT_TRUE(this->PutIfAbsent("lease", "holder-2", kLong).value());
  EXPECT_FALSE(this->PutIfHeld("record", "stale", "lease", "holder-1").value());
  EXPECT_EQ(this->Get("record").value(), "v1");
  // No lease at all: nothing is written.
  ASSERT_TRUE(this->Delete("lease").ok());
  EXPECT_FALSE(this->PutIfHeld("record", "orphan", "lease", "holder-2").value());
  EXPECT_EQ(this->Get("record").value(), "v1");
}

REGISTER_TYPED_TEST_SUITE_P(StoreConformanceTest, GetOfAbsentKeyIsNullopt, PutThenGet,
                            PutIfHeldWritesOnlyForTheGuardsHolder, ValuesAreBinarySafe,
                            PutExpiresAfterTtl, PutReplacesTtl, PutIfAbsentTakesOnlyAnAbsentKey,
                            PutIfAbsentSucceedsOnceExpired, DeleteOfAbsentKeyIsFine,
                            DeleteIfEqualsReleasesOnlyTheHoldersLock, WindowAdmitsUpToItsLimit,
                            WindowMembersExpireOneByOne, ReserveOfAMemberAlreadyThereRenewsIt,
                            ReplaceTurnsAPlaceIntoAnotherWhateverTheLimit, RemoveGivesAPlaceBack,
                            WindowChangesNeedNoAnswer, CountWindowCountsLiveMembersOnly,
                            EvictionDropsTheMemberThatExpiresFirst, CallbacksMayUseTheStoreAgain,
                            PutIfAbsentHasExactlyOneWinnerUnderConcurrency,
                            ConcurrentReservationsNeverExceedTheLimit);

}  // namespace credbroker::testing
