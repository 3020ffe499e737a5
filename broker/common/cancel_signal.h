// Tells work started for a gRPC call that the call is gone (cancelled by the
// caller, past its deadline, or cut by shutdown), so a site call it started
// can stop instead of running to its own timeout.
#pragma once

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace credbroker {

class CancelSignal {
 public:
  // Runs `on_cancel` once when the signal fires, at once (on this thread) if
  // it already has. It must not call back into this signal.
  void OnCancel(std::function<void()> on_cancel) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!cancelled_) {
        handlers_.push_back(std::move(on_cancel));
        return;
      }
    }
    on_cancel();
  }

  // Fires the signal; later calls do nothing.
  void Cancel() {
    std::vector<std::function<void()>> handlers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      handlers.swap(handlers_);
    }
    for (auto& handler : handlers) handler();
  }

  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::vector<std::function<void()>> handlers_;
};

}  // namespace credbroker
