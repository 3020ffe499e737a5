// Calls back when anything in a directory changes: files written, created,
// removed or renamed, including Kubernetes' atomic swap of a mounted Secret's
// `..data` symlink. Uses inotify, plus a periodic call as a safety net for
// file systems that do not report changes (some network mounts).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace credbroker {

class DirectoryWatcher {
 public:
  // `on_change` runs on the watcher's thread, once per burst of changes.
  DirectoryWatcher(std::string directory, std::function<void()> on_change,
                   absl::Duration fallback_interval = absl::Seconds(30));
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  // Starts watching; fails when the directory cannot be watched.
  absl::Status Start();

 private:
  void Run();

  const std::string directory_;
  const std::function<void()> on_change_;
  const absl::Duration fallback_interval_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

}  // namespace credbroker
