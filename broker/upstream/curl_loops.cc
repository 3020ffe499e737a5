// An id is the loop's own id times the number of loops plus the loop's index,
// so Cancel finds the loop without a table shared between threads.
#include "broker/upstream/curl_loops.h"

#include <algorithm>

namespace credbroker {
namespace {

// Requests in flight on a loop before the next loop takes new ones.
constexpr int kSpillAt = 16;

}  // namespace

CurlLoops::CurlLoops(int count) {
  const int loops = std::clamp(count, 1, kMaxLoops);
  for (int i = 0; i < loops; ++i) loops_.push_back(std::make_unique<Loop>());
}

std::size_t CurlLoops::Pick() const {
  std::size_t least = 0;
  int least_in_flight = loops_[0]->in_flight.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    const int in_flight = loops_[i]->in_flight.load(std::memory_order_relaxed);
    if (in_flight < kSpillAt) return i;
    if (in_flight < least_in_flight) {
      least = i;
      least_in_flight = in_flight;
    }
  }
  return least;
}

uint64_t CurlLoops::Submit(HttpRequest request, CurlMultiLoop::Callback done) {
  const std::size_t index = Pick();
  Loop& chosen = *loops_[index];
  chosen.in_flight.fetch_add(1, std::memory_order_relaxed);
  const uint64_t id =
      chosen.loop.Submit(std::move(request), [&chosen, done = std::move(done)](HttpResult result) {
        chosen.in_flight.fetch_sub(1, std::memory_order_relaxed);
        done(std::move(result));
      });
  return id * loops_.size() + index;
}

void CurlLoops::Cancel(uint64_t id) { loops_[id % loops_.size()]->loop.Cancel(id / loops_.size()); }

void CurlLoops::Stop() {
  for (auto& loop : loops_) loop->loop.Stop();
}

}  // namespace credbroker
