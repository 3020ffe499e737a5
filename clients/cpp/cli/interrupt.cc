// A signal handler may do almost nothing safely: it writes one byte to a
// pipe, and a thread of the watcher's own reads it and cancels. The handler
// is one-shot (SA_RESETHAND), so a second Ctrl-C ends the process the
// ordinary way even if the first one's cancellation were stuck.
#include "interrupt.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace credbroker::cli {
namespace {

constexpr char kInterrupt = 'i';
constexpr char kStop = 'q';
volatile sig_atomic_t write_end = -1;

void OnInterrupt(int) {
  const int saved_errno = errno;
  const char byte = kInterrupt;
  if (write_end >= 0) (void)!write(write_end, &byte, 1);
  errno = saved_errno;
}

}  // namespace

InterruptWatcher::InterruptWatcher(client::LoginCancellation* cancellation) {
  if (pipe2(pipe_, O_CLOEXEC) != 0) throw std::runtime_error("cannot make a pipe for Ctrl-C");
  write_end = pipe_[1];
  thread_ = std::thread([this, cancellation] { Watch(cancellation); });
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &action, &previous_);
}

InterruptWatcher::~InterruptWatcher() {
  sigaction(SIGINT, &previous_, nullptr);
  write_end = -1;
  const char byte = kStop;
  (void)!write(pipe_[1], &byte, 1);
  thread_.join();
  close(pipe_[0]);
  close(pipe_[1]);
}

void InterruptWatcher::Watch(client::LoginCancellation* cancellation) {
  for (;;) {
    char byte = 0;
    const ssize_t n = read(pipe_[0], &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == kStop) return;
    interrupted_ = true;
    cancellation->Cancel();
  }
}

}  // namespace credbroker::cli
