// Under load the writer polls every millisecond instead of being woken per
// line, so a request thread only takes a lock and moves a string; once the
// queue runs dry the writer sleeps until the next line wakes it.
#include "broker/telemetry/log_sink.h"

#include <errno.h>
#include <limits.h>
#include <sys/uio.h>

#include <algorithm>
#include <chrono>

namespace credbroker {
namespace {

constexpr auto kPollWhileBusy = std::chrono::milliseconds(1);

}  // namespace

LogSink::LogSink(int fd, std::size_t max_pending_bytes)
    : fd_(fd), max_pending_bytes_(max_pending_bytes), writer_([this] { Run(); }) {}

LogSink::~LogSink() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();
}

void LogSink::Write(std::string line) {
  std::unique_lock<std::mutex> lock(mu_);
  if (pending_bytes_ + line.size() > max_pending_bytes_ && pending_bytes_ > 0) {
    ++waits_;
    room_.wait(lock, [&] {
      return stopping_ || pending_bytes_ == 0 || pending_bytes_ + line.size() <= max_pending_bytes_;
    });
  }
  pending_bytes_ += line.size();
  pending_.push_back(std::move(line));
  ++queued_total_;
  if (writer_asleep_) {
    writer_asleep_ = false;
    lock.unlock();
    wake_writer_.notify_one();
  }
}

void LogSink::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t target = queued_total_;
  writer_asleep_ = false;
  wake_writer_.notify_one();
  room_.wait(lock, [&] { return written_total_ >= target; });
}

std::uint64_t LogSink::waits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waits_;
}

void LogSink::Run() {
  std::vector<std::string> batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (pending_.empty()) {
      if (stopping_) return;
      // Nothing came during the last poll: sleep until a line wakes us.
      writer_asleep_ = true;
      wake_writer_.wait(lock, [&] { return !writer_asleep_ || stopping_; });
      writer_asleep_ = false;
      continue;
    }
    batch.swap(pending_);
    const std::size_t bytes = pending_bytes_;
    lock.unlock();
    WriteAll(batch);
    const std::size_t lines = batch.size();
    batch.clear();
    lock.lock();
    pending_bytes_ -= bytes;
    written_total_ += lines;
    room_.notify_all();
    if (pending_.empty() && !stopping_) {
      // Busy: look again shortly rather than being woken line by line.
      wake_writer_.wait_for(lock, kPollWhileBusy);
    }
  }
}

void LogSink::WriteAll(const std::vector<std::string>& lines) {
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(lines.size(), IOV_MAX));
  std::size_t next = 0;
  while (next < lines.size()) {
    iov.clear();
    for (std::size_t i = next; i < lines.size() && iov.size() < IOV_MAX; ++i) {
      iov.push_back({const_cast<char*>(lines[i].data()), lines[i].size()});
    }
    next += iov.size();
    // writev may write part of the batch (a full pipe); go on from there.
    std::size_t first = 0;
    while (first < iov.size()) {
      const ssize_t written = writev(fd_, iov.data() + first, static_cast<int>(iov.size() - first));
      if (written < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return;  // the log is gone (closed pipe): nothing left to write to
      }
      std::size_t left = static_cast<std::size_t>(written);
      while (first < iov.size() && left >= iov[first].iov_len) {
        left -= iov[first].iov_len;
        ++first;
      }
      if (left > 0) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
  }
}

}  // namespace credbroker
