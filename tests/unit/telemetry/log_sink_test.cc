// The log sink under concurrent writers: every line arrives whole and once,
// writers wait (never drop) when the reader falls behind, and Flush and the
// destructor write out what is queued.
#include "broker/telemetry/log_sink.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace credbroker {
namespace {

// A pipe whose read end a thread of its own drains into a string, once
// started (so a test can leave the pipe full first).
class PipeReader {
 public:
  PipeReader() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
  ~PipeReader() {
    CloseWriteEnd();
    if (thread_.joinable()) thread_.join();
    close(read_fd_);
  }
  int write_fd() const { return write_fd_; }
  void Start() {
    thread_ = std::thread([this] {
      char buffer[65536];
      for (;;) {
        const ssize_t n = read(read_fd_, buffer, sizeof(buffer));
        if (n <= 0) return;
        text_.append(buffer, static_cast<std::size_t>(n));
      }
    });
  }
  // Everything written, once the write end is closed.
  std::string Finish() {
    CloseWriteEnd();
    if (thread_.joinable()) thread_.join();
    return text_;
  }

 private:
  void CloseWriteEnd() {
    if (write_fd_ >= 0) close(write_fd_);
    write_fd_ = -1;
  }
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::thread thread_;
  std::string text_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end = text.find('\n'); end != std::string::npos;
       start = end + 1, end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
  }
  EXPECT_EQ(start, text.size()) << "the last line has no newline";
  return lines;
}

std::string LineFor(int writer, int i) {
  // Long enough that a batch spans many pipe buffers.
  return "{\"writer\":" + std::to_string(writer) + ",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
         std::string(100, 'x') + "\"}\n";
}

TEST(LogSinkTest, ConcurrentWritersLoseNoLineAndSplitNone) {
  PipeReader reader;
  reader.Start();
  constexpr int kWriters = 8;
  constexpr int kLines = 5000;
  {
    LogSink sink(reader.write_fd());
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&sink, w] {
        for (int i = 0; i < kLines; ++i) sink.Write(LineFor(w, i));
      });
    }
    for (std::thread& writer : writers) writer.join();
  }  // the destructor writes what is still queued
  const std::vector<std::string> lines = Lines(reader.Finish());
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kWriters * kLines));
  std::set<std::string> seen(lines.begin(), lines.end());
  EXPECT_EQ(seen.size(), lines.size());
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kLines; i += 997) {
      std::string line = LineFor(w, i);
      line.pop_back();
      EXPECT_EQ(seen.count(line), 1u) << line;
    }
  }
}

TEST(LogSinkTest, WritersWaitForASlowReaderInsteadOfDroppingLines) {
  PipeReader reader;  // not read yet: the pipe fills, then the queue
  constexpr int kLines = 20000;
  std::atomic<int> written{0};
  LogSink sink(reader.write_fd(), /*max_pending_bytes=*/64 << 10);
  std::thread writer([&] {
    for (int i = 0; i < kLines; ++i) {
      sink.Write(LineFor(0, i));
      ++written;
    }
  });
  // The pipe (64 KiB) and the queue (64 KiB) hold about 1,100 lines of 117
  // bytes: the writer must be held well short of the end.
  for (int i = 0; i < 200 && sink.waits() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(sink.waits(), 0u);
  EXPECT_LT(written.load(), kLines);
  reader.Start();
  writer.join();
  sink.Flush();
  EXPECT_EQ(Lines(reader.Finish()).size(), static_cast<std::size_t>(kLines));
}

TEST(LogSinkTest, FlushReturnsOnceQueuedLinesAreWritten) {
  char path[] = "/tmp/log_sink_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  LogSink sink(fd);
  for (int i = 0; i < 100; ++i) sink.Write(LineFor(1, i));
  sink.Flush();
  // Read back at once, while the sink is still running.
  std::string text(200 * 117, '\0');
  const ssize_t n = pread(fd, text.data(), text.size(), 0);
  ASSERT_GT(n, 0);
  text.resize(static_cast<std::size_t>(n));
  EXPECT_EQ(Lines(text).size(), 100u);
  close(fd);
}

}  // namespace
}  // namespace credbroker
