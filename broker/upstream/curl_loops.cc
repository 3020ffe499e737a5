// An id is the loop's own id times the number of loops plus the loop's index,
// so Cancel finds the loop without a table shared between threads.
#include "broker/upstream/curl_loops.h"

#include <algorithm>

namespace credbroker {

CurlLoops::CurlLoops(int count) {
  const int loops = std::clamp(count, 1, kMaxLoops);
  for (int i = 0; i < loops; ++i) loops_.push_back(std::make_unique<CurlMultiLoop>());
}

uint64_t CurlLoops::Submit(HttpRequest request, CurlMultiLoop::Callback done) {
  const uint64_t index = next_.fetch_add(1, std::memory_order_relaxed) % loops_.size();
  const uint64_t id = loops_[index]->Submit(std::move(request), std::move(done));
  return id * loops_.size() + index;
}

void CurlLoops::Cancel(uint64_t id) { loops_[id % loops_.size()]->Cancel(id / loops_.size()); }

void CurlLoops::Stop() {
  for (auto& loop : loops_) loop->Stop();
}

}  // namespace credbroker
