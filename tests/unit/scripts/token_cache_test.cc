// TokenCache: single flight per key, cached while valid, refetched when less
// than min_validity remains, failures never cached. No gRPC: runs under TSan.
//
// Regression: OnFetched once built `absl::StatusOr<CachedToken>` from an OK
// status, which Debian's Abseil treats as fatal: every successful fetch
// aborted the process. Any test below that completes a fetch catches that.

#include "broker/scripts/token_cache.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/common/errors.h"
#include "gtest/gtest.h"
#include "tests/unit/fakes/fake_clock.h"

namespace credbroker {
namespace {

using testing::FakeClock;

TokenGrant Grant(const std::string& access, absl::Duration expires_in = absl::Seconds(600)) {
  TokenGrant grant;
  grant.access_token = access;
  grant.token_type = "Bearer";
  grant.expires_in = expires_in;
  return grant;
}

// A fetch that parks its callbacks until the test answers them.
class HeldFetches {
 public:
  TokenCache::Fetch fetch() {
    return [this](SiteClient::TokenCallback done) {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(std::move(done));
      ++started_;
    };
  }
  int started() const {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }
  void AnswerAll(const absl::StatusOr<TokenGrant>& answer) {
    std::vector<SiteClient::TokenCallback> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending.swap(pending_);
    }
    for (auto& done : pending) done(answer);
  }

 private:
  mutable std::mutex mu_;
  std::vector<SiteClient::TokenCallback> pending_;
  int started_ = 0;
};

// A fetch that answers at once and counts.
struct ImmediateFetch {
  std::atomic<int> calls{0};
  absl::StatusOr<TokenGrant> answer = Grant("at");
  TokenCache::Fetch fetch() {
    return [this](SiteClient::TokenCallback done) {
      const int n = ++calls;
      if (answer.ok()) {
        TokenGrant g = *answer;
        g.access_token += "-" + std::to_string(n);
        done(g);
      } else {
        done(answer.status());
      }
    };
  }
};

absl::StatusOr<CachedToken> GetNow(TokenCache& cache, const std::string& key,
                                   const TokenCache::Fetch& fetch) {
  absl::StatusOr<CachedToken> out = absl::InternalError("callback not called");
  cache.GetOrFetch(key, fetch, [&](absl::StatusOr<CachedToken> t) { out = std::move(t); });
  return out;
}

// Records RunAfter tasks with their delays; the test runs them by hand, so
// background renewal is tested without a thread or waiting.
class ManualScheduler final : public Scheduler {
 public:
  struct Task {
    absl::Duration delay;
    std::function<void()> run;
  };
  void RunAfter(absl::Duration delay, std::function<void()> task) override {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back({delay, std::move(task)});
  }
  std::size_t pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.size();
  }
  // The delays of the tasks queued now, oldest first.
  std::vector<absl::Duration> delays() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<absl::Duration> out;
    for (const Task& task : tasks_) out.push_back(task.delay);
    return out;
  }
  // Takes the queued tasks out without running them.
  std::vector<Task> TakeAll() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Task> out;
    out.swap(tasks_);
    return out;
  }
  // Runs the tasks queued now (not those they queue); answers how many ran.
  std::size_t RunPending() {
    std::vector<Task> tasks = TakeAll();
    for (Task& task : tasks) task.run();
    return tasks.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Task> tasks_;
};

// Fetched with renew_in_background, as keyring script tokens are.
absl::StatusOr<CachedToken> GetBackground(TokenCache& cache, const std::string& key,
                                          const TokenCache::Fetch& fetch) {
  absl::StatusOr<CachedToken> out = absl::InternalError("callback not called");
  cache.GetOrFetch(
      key, fetch, [&](absl::StatusOr<CachedToken> t) { out = std::move(t); },
      /*renew_in_background=*/true);
  return out;
}

std::string AccessToken(const absl::StatusOr<CachedToken>& token) {
  return token.ok() ? token->grant.access_token : std::string(token.status().ToString());
}

const TokenCacheSettings kSettings{absl::Seconds(60), 0.8};

TEST(TokenCacheTest, ConcurrentColdGetsFetchOnce) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  HeldFetches site;
  constexpr int kCallers = 500;
  std::atomic<int> answered{0};
  std::atomic<int> right_token{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(kCallers);
  const TokenCache::Fetch fetch = site.fetch();
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      cache.GetOrFetch("site/pipeline", fetch, [&](absl::StatusOr<CachedToken> token) {
        if (token.ok() && token->grant.access_token == "at-once") ++right_token;
        ++answered;
      });
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(site.started(), 1);
  EXPECT_EQ(answered.load(), 0);  // everyone waits on the one fetch
  site.AnswerAll(Grant("at-once"));
  EXPECT_EQ(answered.load(), kCallers);
  EXPECT_EQ(right_token.load(), kCallers);
  EXPECT_EQ(site.started(), 1);
}

TEST(TokenCacheTest, ConcurrentColdGetsWithImmediateFetchFetchOnce) {
  // Racing callers against a fetch that answers at once: after the first
  // answer everyone is served from cache, so exactly one fetch happens.
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  const TokenCache::Fetch fetch = site.fetch();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 500; ++i) {
    threads.emplace_back([&] {
      cache.GetOrFetch("k", fetch, [&](absl::StatusOr<CachedToken> t) {
        if (t.ok() && t->grant.access_token == "at-1") ++ok;
      });
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(site.calls.load(), 1);
  EXPECT_EQ(ok.load(), 500);
}

TEST(TokenCacheTest, ServedFromCacheWhileValid) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  const absl::Time start = clock.Now();
  absl::StatusOr<CachedToken> first = GetNow(cache, "k", site.fetch());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->grant.access_token, "at-1");
  EXPECT_EQ(first->expire_time, start + absl::Seconds(600));
  clock.Advance(absl::Seconds(479));  // before the renewal point (80% of 600 s)
  absl::StatusOr<CachedToken> again = GetNow(cache, "k", site.fetch());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->grant.access_token, "at-1");
  EXPECT_EQ(site.calls.load(), 1);
}

TEST(TokenCacheTest, PastTheRenewalPointTheCurrentTokenServesWhileOneRenewalRuns) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  HeldFetches site;
  cache.GetOrFetch("k", site.fetch(), [](absl::StatusOr<CachedToken>) {});
  site.AnswerAll(Grant("first"));
  clock.Advance(absl::Seconds(481));  // past 80% of 600 s, 119 s left
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<CachedToken> served = GetNow(cache, "k", site.fetch());
    ASSERT_TRUE(served.ok());
    EXPECT_EQ(served->grant.access_token, "first");
  }
  EXPECT_EQ(site.started(), 2);  // the first fetch and exactly one renewal
  site.AnswerAll(Grant("second"));
  EXPECT_EQ(GetNow(cache, "k", site.fetch())->grant.access_token, "second");
}

TEST(TokenCacheTest, WhileTheSiteIsDownTheCachedTokenServesUntilMinValidity) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());
  site.answer = absl::UnavailableError("site down");
  clock.Advance(absl::Seconds(500));  // renewal due; it fails
  EXPECT_EQ(GetNow(cache, "k", site.fetch())->grant.access_token, "at-1");
  clock.Advance(absl::Seconds(39));  // 61 s left: still served
  EXPECT_EQ(GetNow(cache, "k", site.fetch())->grant.access_token, "at-1");
  clock.Advance(absl::Seconds(2));  // 59 s left: no longer good enough
  EXPECT_EQ(GetNow(cache, "k", site.fetch()).status().code(), absl::StatusCode::kUnavailable);
}

TEST(TokenCacheTest, RefetchedWhenLessThanMinValidityRemains) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(541));  // 59 s left < 60 s
  absl::StatusOr<CachedToken> fresh = GetNow(cache, "k", site.fetch());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->grant.access_token, "at-2");
  EXPECT_EQ(fresh->expire_time, clock.Now() + absl::Seconds(600));
  EXPECT_EQ(site.calls.load(), 2);
}

TEST(TokenCacheTest, ShortLivedTokensAreKeptForHalfTheirLife) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  site.answer = Grant("short", absl::Seconds(40));
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(19));
  EXPECT_EQ(GetNow(cache, "k", site.fetch())->grant.access_token, "short-1");
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(GetNow(cache, "k", site.fetch())->grant.access_token, "short-2");
}

TEST(TokenCacheTest, FailedFetchIsNotCachedAndEveryWaiterGetsTheError) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  HeldFetches site;
  std::vector<absl::Status> answers;
  for (int i = 0; i < 3; ++i) {
    cache.GetOrFetch("k", site.fetch(),
                     [&](absl::StatusOr<CachedToken> t) { answers.push_back(t.status()); });
  }
  EXPECT_EQ(site.started(), 1);
  site.AnswerAll(BrokerError(Reason::kInvalidScriptKey, "wrong script name or script key"));
  ASSERT_EQ(answers.size(), 3u);
  for (const absl::Status& s : answers) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_TRUE(HasReason(s, Reason::kInvalidScriptKey)) << s;
  }
  // The next caller starts a new fetch rather than getting the old error.
  absl::StatusOr<CachedToken> later = absl::InternalError("unset");
  cache.GetOrFetch("k", site.fetch(), [&](absl::StatusOr<CachedToken> t) { later = t; });
  EXPECT_EQ(site.started(), 2);
  site.AnswerAll(Grant("recovered"));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->grant.access_token, "recovered");
}

TEST(TokenCacheTest, FailedRefreshOfStaleTokenIsNotCachedEither) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(550));
  site.answer = BrokerError(Reason::kUpstreamUnavailable, "down");
  const absl::StatusOr<CachedToken> failed = GetNow(cache, "k", site.fetch());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(HasReason(failed.status(), Reason::kUpstreamUnavailable));
  site.answer = Grant("at");
  const absl::StatusOr<CachedToken> ok = GetNow(cache, "k", site.fetch());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->grant.access_token, "at-3");
  EXPECT_EQ(site.calls.load(), 3);
}

TEST(TokenCacheTest, DifferentKeysFetchSeparately) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  HeldFetches a;
  HeldFetches b;
  std::string got_a, got_b;
  cache.GetOrFetch("site/a", a.fetch(),
                   [&](absl::StatusOr<CachedToken> t) { got_a = t->grant.access_token; });
  cache.GetOrFetch("site/b", b.fetch(),
                   [&](absl::StatusOr<CachedToken> t) { got_b = t->grant.access_token; });
  EXPECT_EQ(a.started(), 1);
  EXPECT_EQ(b.started(), 1);
  b.AnswerAll(Grant("token-b"));
  EXPECT_EQ(got_b, "token-b");
  EXPECT_EQ(got_a, "");
  a.AnswerAll(Grant("token-a"));
  EXPECT_EQ(got_a, "token-a");
}

TEST(TokenCacheTest, DropForcesRefetch) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());
  cache.Drop("k");
  EXPECT_EQ(GetNow(cache, "k", site.fetch())->grant.access_token, "at-2");
}

TEST(TokenCacheTest, WaitersMayUseTheCacheAgain) {
  FakeClock clock;
  TokenCache cache(clock, absl::Seconds(60));
  ImmediateFetch site;
  std::string inner;
  cache.GetOrFetch("k", site.fetch(), [&](absl::StatusOr<CachedToken>) {
    cache.GetOrFetch("k", site.fetch(),
                     [&](absl::StatusOr<CachedToken> t) { inner = t->grant.access_token; });
  });
  EXPECT_EQ(inner, "at-1");
  EXPECT_EQ(site.calls.load(), 1);
}

TEST(TokenCacheTest, RenewAfterSettingMovesTheRenewalPoint) {
  FakeClock clock;
  TokenCache cache(clock, TokenCacheSettings{absl::Seconds(60), 0.5}, nullptr);
  ImmediateFetch site;
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(299));
  EXPECT_EQ(AccessToken(GetNow(cache, "k", site.fetch())), "at-1");
  EXPECT_EQ(site.calls.load(), 1);
  clock.Advance(absl::Seconds(1));  // half of 600 s: refresh ahead
  EXPECT_EQ(AccessToken(GetNow(cache, "k", site.fetch())), "at-1");
  EXPECT_EQ(site.calls.load(), 2);
  EXPECT_EQ(AccessToken(GetNow(cache, "k", site.fetch())), "at-2");
}

TEST(TokenCacheTest, EachFetchSchedulesACheckAtTheRenewalPoint) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  EXPECT_EQ(scheduler.delays(), std::vector<absl::Duration>{absl::Seconds(480)});
}

TEST(TokenCacheTest, BackgroundRenewalOfAnEntryUsedSinceItsFetch) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  EXPECT_EQ(AccessToken(GetBackground(cache, "k", site.fetch())), "at-1");
  clock.Advance(absl::Seconds(100));
  EXPECT_EQ(AccessToken(GetBackground(cache, "k", site.fetch())), "at-1");  // used again
  EXPECT_EQ(site.calls.load(), 1);
  clock.Advance(absl::Seconds(380));  // the renewal point
  ASSERT_EQ(scheduler.RunPending(), 1u);
  EXPECT_EQ(site.calls.load(), 2);  // renewed by the task, not by a caller
  // The renewal scheduled the next check, a full renewal period on.
  EXPECT_EQ(scheduler.delays(), std::vector<absl::Duration>{absl::Seconds(480)});
  const absl::StatusOr<CachedToken> served = GetBackground(cache, "k", site.fetch());
  EXPECT_EQ(AccessToken(served), "at-2");
  EXPECT_EQ(served->expire_time, clock.Now() + absl::Seconds(600));
  EXPECT_EQ(site.calls.load(), 2);  // served from cache, no foreground fetch
}

TEST(TokenCacheTest, BackgroundRenewalKeepsGoingWhileUsed) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  for (int round = 2; round <= 5; ++round) {
    clock.Advance(absl::Seconds(10));
    ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
    clock.Advance(absl::Seconds(470));
    ASSERT_EQ(scheduler.RunPending(), 1u);
    EXPECT_EQ(site.calls.load(), round);
  }
  EXPECT_EQ(AccessToken(GetBackground(cache, "k", site.fetch())), "at-5");
}

TEST(TokenCacheTest, EntryNotUsedSinceItsFetchIsNotRenewedAndForgottenAfterExpiry) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(480));
  ASSERT_EQ(scheduler.RunPending(), 1u);
  EXPECT_EQ(site.calls.load(), 1);  // nobody asked: no renewal
  EXPECT_EQ(cache.SizeForTest(), 1u);
  // It looks again at expiry.
  EXPECT_EQ(scheduler.delays(), std::vector<absl::Duration>{absl::Seconds(120)});
  clock.Advance(absl::Seconds(120));
  ASSERT_EQ(scheduler.RunPending(), 1u);
  EXPECT_EQ(site.calls.load(), 1);
  EXPECT_EQ(cache.SizeForTest(), 0u);  // forgotten
  EXPECT_EQ(scheduler.pending(), 0u);  // and no more timers
  // A later caller fetches afresh.
  EXPECT_EQ(AccessToken(GetBackground(cache, "k", site.fetch())), "at-2");
}

TEST(TokenCacheTest, EntryWithoutBackgroundRenewalIsNotRenewedByTheTimer) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());  // renew_in_background = false
  clock.Advance(absl::Seconds(100));
  ASSERT_TRUE(GetNow(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(380));
  scheduler.RunPending();
  EXPECT_EQ(site.calls.load(), 1);
  clock.Advance(absl::Seconds(120));
  scheduler.RunPending();
  EXPECT_EQ(site.calls.load(), 1);
  EXPECT_EQ(cache.SizeForTest(), 0u);
}

TEST(TokenCacheTest, FailedBackgroundRenewalKeepsServingAndRetries) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(100));
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(380));  // 120 s left
  site.answer = BrokerError(Reason::kUpstreamUnavailable, "site down");
  ASSERT_EQ(scheduler.RunPending(), 1u);
  EXPECT_EQ(site.calls.load(), 2);     // the renewal ran and failed
  EXPECT_EQ(cache.SizeForTest(), 1u);  // the token is kept
  // A retry in 30 s (a quarter of the 120 s left, capped at 30 s).
  EXPECT_EQ(scheduler.delays(), std::vector<absl::Duration>{absl::Seconds(30)});

  clock.Advance(absl::Seconds(30));  // 90 s left
  ASSERT_EQ(scheduler.RunPending(), 1u);
  EXPECT_EQ(site.calls.load(), 3);  // retried, failed again
  EXPECT_EQ(scheduler.delays(), std::vector<absl::Duration>{absl::Milliseconds(22500)});

  // Meanwhile callers are served the old token while min_validity holds (a
  // caller past the renewal point also tries once more itself).
  EXPECT_EQ(AccessToken(GetBackground(cache, "k", site.fetch())), "at-1");
  EXPECT_EQ(site.calls.load(), 4);

  site.answer = Grant("at");  // the site is back
  clock.Advance(absl::Milliseconds(22500));
  scheduler.RunPending();
  EXPECT_EQ(site.calls.load(), 5);
  EXPECT_EQ(AccessToken(GetBackground(cache, "k", site.fetch())), "at-5");
  EXPECT_EQ(site.calls.load(), 5);
}

TEST(TokenCacheTest, FailedBackgroundRenewalPastMinValidityForgetsTheToken) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(100));
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  site.answer = BrokerError(Reason::kUpstreamUnavailable, "site down");
  clock.Advance(absl::Seconds(541));  // the timer ran late: 59 s left < min_validity
  ASSERT_EQ(scheduler.RunPending(), 1u);
  EXPECT_EQ(site.calls.load(), 2);
  EXPECT_EQ(cache.SizeForTest(), 0u);
  EXPECT_EQ(scheduler.pending(), 0u);
  EXPECT_EQ(GetBackground(cache, "k", site.fetch()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(TokenCacheTest, DropIfWhileFetchingAnswersWaitersButKeepsNothing) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  HeldFetches site;
  std::vector<std::string> answers;
  for (const char* key : {"main\ningest\nkeyring\n", "main\nrender\nkeyring\n"}) {
    cache.GetOrFetch(
        key, site.fetch(),
        [&](absl::StatusOr<CachedToken> t) { answers.push_back(AccessToken(t)); },
        /*renew_in_background=*/true);
  }
  EXPECT_EQ(site.started(), 2);
  cache.DropIf([](const std::string& key) { return key.find("\ningest\n") != std::string::npos; });
  EXPECT_EQ(cache.SizeForTest(), 1u);  // dropped at once; its fetch still answers its waiters
  site.AnswerAll(Grant("old-key-token"));
  EXPECT_EQ(answers, (std::vector<std::string>{"old-key-token", "old-key-token"}));
  EXPECT_EQ(cache.SizeForTest(), 1u);  // only render's token is kept
  EXPECT_EQ(scheduler.pending(), 1u);  // and only render's is renewed

  // The next caller for the dropped key fetches again.
  std::string again;
  cache.GetOrFetch("main\ningest\nkeyring\n", site.fetch(),
                   [&](absl::StatusOr<CachedToken> t) { again = AccessToken(t); });
  EXPECT_EQ(site.started(), 3);
  site.AnswerAll(Grant("new-key-token"));
  EXPECT_EQ(again, "new-key-token");
  EXPECT_EQ(cache.SizeForTest(), 2u);
}

TEST(TokenCacheTest, DropIfDuringARefreshAheadStopsServingTheOldToken) {
  FakeClock clock;
  TokenCache cache(clock, kSettings, nullptr);
  HeldFetches site;
  cache.GetOrFetch("k", site.fetch(), [](absl::StatusOr<CachedToken>) {});
  site.AnswerAll(Grant("old"));
  clock.Advance(absl::Seconds(500));
  EXPECT_EQ(AccessToken(GetNow(cache, "k", site.fetch())), "old");  // starts a renewal
  EXPECT_EQ(site.started(), 2);
  cache.Drop("k");
  std::string waited;
  cache.GetOrFetch("k", site.fetch(),
                   [&](absl::StatusOr<CachedToken> t) { waited = AccessToken(t); });
  EXPECT_EQ(waited, "");  // the dropped token is no longer served
  site.AnswerAll(Grant("renewed"));
  EXPECT_FALSE(waited.empty());
}

// Bug: a caller arriving after DropIf, while the dropped entry's fetch is
// still under way, joins that fetch. For keyring scripts the cache key does
// not change with the script key, so after a key rotation the caller gets the
// token (or the INVALID_SCRIPT_KEY error) of the OLD key's fetch, and since
// the entry is then erased nothing is kept for it either.
TEST(TokenCacheTest, GetAfterDropIfDoesNotJoinTheDroppedFetch) {
  FakeClock clock;
  TokenCache cache(clock, kSettings, nullptr);
  HeldFetches old_key;
  HeldFetches new_key;
  std::string first;
  cache.GetOrFetch("k", old_key.fetch(),
                   [&](absl::StatusOr<CachedToken> t) { first = AccessToken(t); });
  cache.Drop("k");  // the key rotated while the fetch was under way
  std::string second;
  cache.GetOrFetch("k", new_key.fetch(),
                   [&](absl::StatusOr<CachedToken> t) { second = AccessToken(t); });
  EXPECT_EQ(new_key.started(), 1) << "the caller after the drop joined the old-key fetch";
  old_key.AnswerAll(BrokerError(Reason::kInvalidScriptKey, "revoked"));
  new_key.AnswerAll(Grant("new-key-token"));
  EXPECT_NE(first, "");
  EXPECT_EQ(second, "new-key-token");
}

TEST(TokenCacheTest, TimerOfADroppedEntryDoesNothing) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  clock.Advance(absl::Seconds(100));
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  cache.Drop("k");
  clock.Advance(absl::Seconds(380));
  ASSERT_EQ(scheduler.RunPending(), 1u);
  EXPECT_EQ(site.calls.load(), 1);
  EXPECT_EQ(cache.SizeForTest(), 0u);
  EXPECT_EQ(scheduler.pending(), 0u);
}

// Bug: generations restart at 0 for a re-created entry, so the timer armed
// for a dropped entry matches the generation of the entry that replaced it
// and renews it early (and runs a second timer chain for it).
TEST(TokenCacheTest, TimerOfADroppedEntryDoesNotTouchItsReplacement) {
  FakeClock clock;
  ManualScheduler scheduler;
  TokenCache cache(clock, kSettings, &scheduler);
  ImmediateFetch site;
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());
  std::vector<ManualScheduler::Task> stale = scheduler.TakeAll();  // due at +480 s
  ASSERT_EQ(stale.size(), 1u);
  clock.Advance(absl::Seconds(100));
  cache.Drop("k");  // e.g. the script's key changed
  EXPECT_EQ(AccessToken(GetBackground(cache, "k", site.fetch())), "at-2");  // due at +580 s
  clock.Advance(absl::Seconds(100));
  ASSERT_TRUE(GetBackground(cache, "k", site.fetch()).ok());  // used since its fetch
  clock.Advance(absl::Seconds(280));  // +480 s: the dropped entry's timer fires
  stale[0].run();
  EXPECT_EQ(site.calls.load(), 2) << "the dropped entry's timer renewed its replacement early";
  EXPECT_EQ(scheduler.pending(), 1u);
}

TEST(TokenCacheTest, ThreadSchedulerRunsTasksAndDropsQueuedOnesAtDestruction) {
  std::atomic<int> ran{0};
  {
    ThreadScheduler scheduler;
    std::mutex mu;
    std::condition_variable cv;
    scheduler.RunAfter(absl::Milliseconds(1), [&] {
      std::lock_guard<std::mutex> lock(mu);
      ++ran;
      cv.notify_all();
    });
    scheduler.RunAfter(absl::Hours(1), [&] { ran += 100; });
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return ran.load() >= 1; }));
  }
  EXPECT_EQ(ran.load(), 1);
}

TEST(TokenCacheTest, BackgroundRenewalWithThreadSchedulerUnderConcurrentUse) {
  // Exercises the cache's locking against a real scheduler thread (for TSan).
  FakeClock clock;
  ImmediateFetch site;
  // Stopped before the cache and the site go: its thread may be in a task.
  auto scheduler = std::make_unique<ThreadScheduler>();
  TokenCache cache(clock, TokenCacheSettings{absl::Seconds(0), 0.1}, scheduler.get());
  site.answer = Grant("at", absl::Milliseconds(20));  // renewal checks every 2 ms
  const TokenCache::Fetch fetch = site.fetch();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        cache.GetOrFetch(
            "k", fetch, [&](absl::StatusOr<CachedToken> token) { ok += token.ok() ? 1 : 0; },
            /*renew_in_background=*/true);
        clock.Advance(absl::Microseconds(50));
        if (i % 50 == 0) cache.Drop("k");
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  scheduler.reset();
  EXPECT_EQ(ok.load(), 800);
}

// Many holders of one refused token report it at once, from many threads:
// one fetch replaces it, all of them get the new token, and a report naming
// any other token changes nothing.
TEST(TokenCacheTest, ManyReportsOfOneRejectedTokenShareOneFetch) {
  FakeClock clock;
  TokenCache cache(clock, kSettings, nullptr);
  HeldFetches site;
  std::string first;
  cache.GetOrFetch("k", site.fetch(),
                   [&](absl::StatusOr<CachedToken> t) { first = AccessToken(t); });
  site.AnswerAll(Grant("t1"));
  ASSERT_EQ(first, "t1");

  constexpr int kReporters = 16;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> answers;
  for (int i = 0; i < kReporters; ++i) {
    threads.emplace_back([&] {
      cache.GetOrFetch(
          "k", site.fetch(),
          [&](absl::StatusOr<CachedToken> t) {
            std::lock_guard<std::mutex> lock(mu);
            answers.push_back(AccessToken(t));
          },
          /*renew_in_background=*/false, /*rejected=*/"t1");
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(site.started(), 2);
  site.AnswerAll(Grant("t2"));
  ASSERT_EQ(answers.size(), static_cast<std::size_t>(kReporters));
  for (const std::string& answer : answers) EXPECT_EQ(answer, "t2");

  for (const char* stale : {"t1", "unknown", ""}) {
    std::string again;
    cache.GetOrFetch(
        "k", site.fetch(), [&](absl::StatusOr<CachedToken> t) { again = AccessToken(t); }, false,
        stale);
    EXPECT_EQ(again, "t2") << stale;
  }
  EXPECT_EQ(site.started(), 2);
}

// A session token (no access token) is compared by the session token.
TEST(TokenCacheTest, ASessionTokenIsRejectedByItself) {
  FakeClock clock;
  TokenCache cache(clock, kSettings, nullptr);
  int fetches = 0;
  TokenCache::Fetch fetch = [&](SiteClient::TokenCallback done) {
    TokenGrant grant;
    grant.session_token = "s" + std::to_string(++fetches);
    grant.expires_in = absl::Hours(1);
    done(grant);
  };
  std::string token;
  auto keep = [&](absl::StatusOr<CachedToken> t) { token = t.ok() ? t->grant.session_token : ""; };
  cache.GetOrFetch("k", fetch, keep);
  EXPECT_EQ(token, "s1");
  cache.GetOrFetch("k", fetch, keep, false, "s1");
  EXPECT_EQ(token, "s2");
  EXPECT_EQ(fetches, 2);
}

}  // namespace
}  // namespace credbroker
