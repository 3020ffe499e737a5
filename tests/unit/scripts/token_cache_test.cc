// TokenCache: single flight per key, cached while valid, refetched when less
// than min_validity remains, failures never cached. No gRPC: runs under TSan.
//
// Regression: OnFetched once built `absl::StatusOr<CachedToken>` from an OK
// status, which Debian's Abseil treats as fatal: every successful fetch
// aborted the process. Any test below that completes a fetch catches that.

#include "broker/scripts/token_cache.h"

#include <atomic>
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

}  // namespace
}  // namespace credbroker
