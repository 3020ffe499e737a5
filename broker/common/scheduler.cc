// A steady clock, not the wall clock: renewals must not jump with NTP.
#include "broker/common/scheduler.h"

namespace credbroker {

ThreadScheduler::ThreadScheduler() : thread_([this] { Run(); }) {}

ThreadScheduler::~ThreadScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ThreadScheduler::RunAfter(absl::Duration delay, std::function<void()> task) {
  const auto due = std::chrono::steady_clock::now() +
                   absl::ToChronoMilliseconds(std::max(delay, absl::ZeroDuration()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    queue_.emplace(due, std::move(task));
  }
  wake_.notify_all();
}

void ThreadScheduler::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      wake_.wait_until(lock, first->first);
      continue;
    }
    std::function<void()> task = std::move(first->second);
    queue_.erase(first);
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace credbroker
