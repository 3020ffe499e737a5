// Where log lines go in the running broker: a queue that a thread of its own
// drains in batches (one writev per batch), so a slow log pipe never stalls a
// gRPC thread or the curl loop with a write of its own. Nothing is dropped:
// when the queue holds its limit, writers wait for room (backpressure), and
// what is queued at shutdown is written before the sink goes.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace credbroker {

class LogSink {
 public:
  // Writes to `fd` (not closed by the sink); at most `max_pending_bytes` wait.
  explicit LogSink(int fd, std::size_t max_pending_bytes = 8 << 20);
  // Writes everything queued, then stops its thread.
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // Queues one line (it ends with '\n'). Waits while the queue is full.
  void Write(std::string line);
  // Returns once every line queued before the call has been written.
  void Flush();

  // Calls that waited for room since the start (the sink could not keep up).
  std::uint64_t waits() const;

 private:
  void Run();
  void WriteAll(const std::vector<std::string>& lines);

  const int fd_;
  const std::size_t max_pending_bytes_;
  mutable std::mutex mu_;
  std::condition_variable wake_writer_;
  std::condition_variable room_;
  std::vector<std::string> pending_;
  std::size_t pending_bytes_ = 0;
  // Lines queued and lines written since the start: Flush waits for the
  // second to reach what the first was when it was called.
  std::uint64_t queued_total_ = 0;
  std::uint64_t written_total_ = 0;
  std::uint64_t waits_ = 0;
  bool writer_asleep_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace credbroker
