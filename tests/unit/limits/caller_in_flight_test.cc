// CallerInFlight: the cap holds per caller under concurrency, places come
// back when handles drop, and one caller at its cap leaves others alone.
#include "broker/limits/caller_in_flight.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace credbroker {
namespace {

TEST(CallerInFlightTest, CapIsPerCaller) {
  CallerInFlight limiter(2);
  std::shared_ptr<void> a1 = limiter.TryEnter("token:a");
  std::shared_ptr<void> a2 = limiter.TryEnter("token:a");
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(limiter.TryEnter("token:a"), nullptr);
  EXPECT_NE(limiter.TryEnter("token:b"), nullptr);
  a1.reset();
  EXPECT_NE(limiter.TryEnter("token:a"), nullptr);
}

TEST(CallerInFlightTest, ConcurrentCallersNeverExceedTheCap) {
  CallerInFlight limiter(8);
  std::atomic<int> peak{0};
  std::atomic<int> current{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        std::shared_ptr<void> place = limiter.TryEnter("token:busy");
        if (!place) continue;
        const int now = current.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        current.fetch_sub(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_LE(peak.load(), 8);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(limiter.InFlightForTest("token:busy"), 0);
}

}  // namespace
}  // namespace credbroker
