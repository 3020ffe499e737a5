// One thread per watched directory, blocked in poll() on the inotify fd and an
// eventfd that the destructor signals to stop it.
#include "broker/common/directory_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace credbroker {
namespace {

constexpr uint32_t kEvents = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
                             IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
// Changes arrive in bursts (a Secret update is several renames); wait this
// long for quiet before calling back once.
constexpr int kSettleMillis = 50;

}  // namespace

DirectoryWatcher::DirectoryWatcher(std::string directory, std::function<void()> on_change,
                                   absl::Duration fallback_interval)
    : directory_(std::move(directory)),
      on_change_(std::move(on_change)),
      fallback_interval_(fallback_interval) {}

DirectoryWatcher::~DirectoryWatcher() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

absl::Status DirectoryWatcher::Start() {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (inotify_fd_ < 0 || stop_fd_ < 0) {
    return absl::InternalError(absl::StrCat("cannot watch files: ", std::strerror(errno)));
  }
  if (inotify_add_watch(inotify_fd_, directory_.c_str(), kEvents) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot watch '", directory_, "': ", std::strerror(errno)));
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void DirectoryWatcher::Run() {
  const int fallback_millis = static_cast<int>(absl::ToInt64Milliseconds(fallback_interval_));
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    const int ready = poll(fds, 2, fallback_millis);
    if (ready < 0 && errno == EINTR) continue;
    if (fds[0].revents & POLLIN) return;
    if (ready > 0 && (fds[1].revents & POLLIN)) {
      // Drain this burst and any that follows within the settle time.
      char buffer[8192];
      do {
        while (read(inotify_fd_, buffer, sizeof(buffer)) > 0) {
        }
        pollfd again = {inotify_fd_, POLLIN, 0};
        if (poll(&again, 1, kSettleMillis) <= 0) break;
      } while (true);
    }
    on_change_();
  }
}

}  // namespace credbroker
