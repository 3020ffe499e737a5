// Polling for what a broker process does on its own schedule (file reloads,
// log lines written by its log thread, gauges refreshed on a timer).
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace credbroker::testing {

// Calls `done` until it holds or `timeout` passes; answers its last result.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace credbroker::testing
