// Ctrl-C during `credbroker login --browser`: while an InterruptWatcher is
// alive, SIGINT cancels the browser login's call in flight (which may be
// waiting up to 30 s for the broker) instead of killing the process, so the
// CLI ends at once with its own message and exit code.
#pragma once

#include <atomic>
#include <csignal>
#include <thread>

#include "credbroker/browser_login.h"

namespace credbroker::cli {

class InterruptWatcher {
 public:
  // Installs the SIGINT handler. One watcher at a time.
  explicit InterruptWatcher(client::LoginCancellation* cancellation);
  // Puts the previous SIGINT disposition back.
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  bool interrupted() const { return interrupted_.load(); }

 private:
  void Watch(client::LoginCancellation* cancellation);

  int pipe_[2] = {-1, -1};
  struct sigaction previous_ {};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace credbroker::cli
