// The broker's site calls spread over a fixed number of CurlMultiLoops, one
// thread each. A login's work after the site answers (the failure budget, the
// sealed challenge, the store, the audit line, gRPC's answer) runs on the
// thread of the loop that carried it, so with one loop a burst of answers
// queues behind a single thread. The count is fixed at start
// (server.site_call_threads), whatever the load; docs/performance.md has what
// 1, 2 and 4 loops do to a burst of 1,000 logins.
//
// Requests fill the first loop before spilling to the next: at a steady rate
// one busy loop answers sooner than several that each wake from idle for
// every answer, and a burst still spreads over all of them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "broker/upstream/curl_multi_loop.h"

namespace credbroker {

class CurlLoops {
 public:
  // At least one loop; at most kMaxLoops.
  explicit CurlLoops(int count);
  CurlLoops(const CurlLoops&) = delete;
  CurlLoops& operator=(const CurlLoops&) = delete;

  static constexpr int kMaxLoops = 64;

  // As CurlMultiLoop::Submit; `done` runs on the thread of the loop that took
  // the request. The id names the loop too, for Cancel.
  uint64_t Submit(HttpRequest request, CurlMultiLoop::Callback done);
  // As CurlMultiLoop::Cancel, on the loop that took the request.
  void Cancel(uint64_t id);
  // Stops every loop. Idempotent.
  void Stop();

  int size() const { return static_cast<int>(loops_.size()); }

 private:
  struct Loop {
    // Requests submitted and not yet answered. Declared first so that it
    // outlives the loop, whose destructor fails what is still running.
    std::atomic<int> in_flight{0};
    CurlMultiLoop loop;
  };

  // The first loop with fewer than kSpillAt requests in flight, else the
  // least busy one.
  std::size_t Pick() const;

  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace credbroker
