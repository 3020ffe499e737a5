// A memory-store window holding `n` members, as the open challenges are held:
// one login adds its member and, once the challenge ends, removes it. Both
// look through the window's members under the store's lock, so the cost per
// login grows with n; the open challenges are therefore kept in 64 windows
// (n / 64 each), and this shows what one window of n costs.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <limits>
#include <string>

#include "broker/common/clock.h"
#include "broker/store/memory_store.h"

namespace credbroker {
namespace {

// 15 hex digits, like an open challenge's tag.
std::string Tag(int i) {
  char tag[16];
  std::snprintf(tag, sizeof(tag), "%015x", i);
  return tag;
}

void BM_WindowAddThenRemove(benchmark::State& state) {
  const SystemClock clock;
  MemoryStore store(clock);
  const int members = static_cast<int>(state.range(0));
  constexpr int kNoLimit = std::numeric_limits<int>::max();
  for (int i = 0; i < members; ++i) {
    store.ReserveInWindow("window", Tag(i), kNoLimit, absl::Hours(1), false, nullptr);
  }
  const std::string extra = Tag(members);
  for (auto _ : state) {
    store.ReserveInWindow("window", extra, kNoLimit, absl::Hours(1), false, nullptr);
    store.RemoveFromWindow("window", extra, nullptr);
  }
}
BENCHMARK(BM_WindowAddThenRemove)->Arg(100)->Arg(1562)->Arg(100000);

}  // namespace
}  // namespace credbroker
