// Runs tasks later: background renewal of cached tokens. An interface so that
// tests run due tasks by hand instead of waiting.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace credbroker {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `task` once, about `delay` from now, on the scheduler's thread.
  virtual void RunAfter(absl::Duration delay, std::function<void()> task) = 0;
};

// One thread and a queue ordered by due time. Tasks still queued when it is
// destroyed are dropped.
class ThreadScheduler final : public Scheduler {
 public:
  ThreadScheduler();
  ~ThreadScheduler() override;
  ThreadScheduler(const ThreadScheduler&) = delete;
  ThreadScheduler& operator=(const ThreadScheduler&) = delete;

  void RunAfter(absl::Duration delay, std::function<void()> task) override;

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace credbroker
