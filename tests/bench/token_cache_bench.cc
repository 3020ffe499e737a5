// The script-token cache lookup (token_cache.h) on a hit, as every cached
// IssueScriptSession makes it: key lookup under the cache's mutex, copy of the
// cached token, the caller's callback. With 1 and 2 threads (the broker's
// gRPC threads share the one mutex), and with 1 or 1,000 entries.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/common/clock.h"
#include "broker/scripts/token_cache.h"

namespace credbroker {
namespace {

std::string KeyOf(int i) { return absl::StrCat("main\nscript-", i, "\nkeyring\n"); }

// A cache holding `entries` tokens good for an hour, filled through the
// ordinary path (a fetch that answers at once).
std::unique_ptr<TokenCache> FilledCache(const Clock& clock, int entries) {
  auto cache = std::make_unique<TokenCache>(clock, absl::Seconds(60));
  for (int i = 0; i < entries; ++i) {
    cache->GetOrFetch(
        KeyOf(i),
        [](SiteClient::TokenCallback fetched) {
          fetched(TokenGrant{"at-0123456789abcdef0123456789abcdef", "Bearer", absl::Hours(1), ""});
        },
        [](absl::StatusOr<CachedToken>) {});
  }
  return cache;
}

void BM_TokenCacheHit(benchmark::State& state) {
  static const SystemClock clock;
  static std::unique_ptr<TokenCache> cache;
  const int entries = static_cast<int>(state.range(0));
  if (state.thread_index() == 0) cache = FilledCache(clock, entries);
  const std::string key = KeyOf(entries / 2);
  const TokenCache::Fetch never = [](SiteClient::TokenCallback) {};
  int64_t hits = 0;
  for (auto _ : state) {
    cache->GetOrFetch(key, never, [&hits](absl::StatusOr<CachedToken> token) {
      hits += token.ok() ? 1 : 0;
      benchmark::DoNotOptimize(token);
    });
  }
  if (hits != state.iterations()) state.SkipWithError("a lookup missed");
}
BENCHMARK(BM_TokenCacheHit)->Arg(1)->Arg(1000)->Threads(1)->Threads(2);

}  // namespace
}  // namespace credbroker
