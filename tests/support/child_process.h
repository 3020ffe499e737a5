// A real process started by a test: the broker or the fake site. Its output
// goes to files the test can read; it is killed if the test forgets it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace credbroker::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, the current environment plus `extra_env`
  // ("NAME=value"), stdout and stderr to the given files.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
               const std::string& stdout_path, const std::string& stderr_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int signal_number);
  // Waits for the exit; nullopt on timeout. The value is the exit code, or
  // 128 + signal for a process killed by a signal.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Polls until `path` holds a port number written by `process`; fails (returns
// 0) if the process exits first or `timeout` passes.
int WaitForPortFile(const std::string& path, ChildProcess& process,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Where the build put the project's binaries (set by CMake at compile time).
std::string BinaryPath(const std::string& name);

}  // namespace credbroker::testing
