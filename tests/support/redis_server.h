// A throwaway redis-server for tests: its own temporary directory, a free
// loopback port, no persistence. Tests kill, pause and restart it to see how
// the store behaves when Redis goes away or stops answering.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace credbroker::testing {

class RedisServer {
 public:
  // The redis-server on PATH, if any.
  static std::optional<std::string> FindBinary() {
    const char* path = getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/usr/sbin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      const std::string candidate = dir + "/redis-server";
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
  }

  // Starts a server on a free port; with a password it requires AUTH. The
  // password goes in a config file (and a password file for the store), never
  // on a command line.
  // With `append_only`, every write is fsynced to an append-only file, so a
  // restart keeps what was written.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      const std::optional<std::string>& password = std::nullopt, bool append_only = false) {
    std::optional<std::string> binary = FindBinary();
    if (!binary) return absl::NotFoundError("redis-server is not installed");
    // Another process may take the free port before redis-server binds it
    // (tests run in parallel): try a few.
    absl::Status last = absl::InternalError("redis-server did not start");
    for (int attempt = 0; attempt < 3; ++attempt) {
      char dir_template[] = "/tmp/credbroker-redis-XXXXXX";
      if (mkdtemp(dir_template) == nullptr) return absl::InternalError("mkdtemp failed");
      absl::StatusOr<int> port = FreePort();
      if (!port.ok()) return port.status();
      std::unique_ptr<RedisServer> server(
          new RedisServer(*binary, dir_template, *port, password, append_only));
      if (absl::Status s = server->WriteConfig(); !s.ok()) return s;
      last = server->Restart();
      if (last.ok()) return server;
    }
    return last;
  }

  ~RedisServer() {
    Kill();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  // Holds the password, for the broker's password_file.
  std::string password_file() const { return dir_ + "/password"; }

  // Starts the server (again) on the same port and waits until it answers.
  absl::Status Restart() {
    Kill();
    const std::string config = dir_ + "/redis.conf";
    const std::string log = dir_ + "/redis.log";
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) return absl::InternalError("cannot open the redis log");
    const pid_t pid = fork();
    if (pid < 0) {
      close(log_fd);
      return absl::InternalError("fork failed");
    }
    if (pid == 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      execl(binary_.c_str(), binary_.c_str(), config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(log_fd);
    pid_ = pid;
    // Polls until the server answers: the one wait tests allow themselves.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return absl::InternalError(absl::StrCat("redis-server exited: ", LogTail()));
      }
      if (Answers()) return absl::OkStatus();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return absl::DeadlineExceededError(absl::StrCat("redis-server did not start: ", LogTail()));
  }

  // SIGKILL: the connection drops at once, as when a node dies.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGSTOP: connections stay open but nothing answers, as with a hung node.
  void Pause() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }
  void Resume() {
    if (pid_ > 0) kill(pid_, SIGCONT);
  }

  // A plain blocking connection, for tests to look at what the store wrote.
  struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  using Connection = std::unique_ptr<redisContext, ContextDeleter>;
  Connection Connect() const {
    Connection c(redisConnect("127.0.0.1", port_));
    if (c && c->err == 0 && password_) {
      redisReply* reply =
          static_cast<redisReply*>(redisCommand(c.get(), "AUTH %s", password_->c_str()));
      if (reply != nullptr) freeReplyObject(reply);
    }
    return c;
  }

 private:
  RedisServer(std::string binary, std::string dir, int port, std::optional<std::string> password,
              bool append_only)
      : binary_(std::move(binary)),
        dir_(std::move(dir)),
        port_(port),
        password_(std::move(password)),
        append_only_(append_only) {}

  static absl::StatusOr<int> FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(fd);
      return absl::InternalError("cannot find a free port");
    }
    close(fd);
    return ntohs(addr.sin_port);
  }

  absl::Status WriteConfig() const {
    std::ofstream config(dir_ + "/redis.conf");
    config << "port " << port_ << "\n"
           << "bind 127.0.0.1\n"
           << "save \"\"\n"
           << (append_only_ ? "appendonly yes\nappendfsync always\n" : "appendonly no\n")
           << "daemonize no\n"
           << "dir " << dir_ << "\n";
    if (password_) {
      config << "requirepass " << *password_ << "\n";
      std::ofstream(password_file()) << *password_;
    }
    return config.good() ? absl::OkStatus() : absl::InternalError("cannot write redis.conf");
  }

  // The end of the server's log, so that a failure to start explains itself
  // after the directory is gone.
  std::string LogTail() const {
    std::ifstream file(dir_ + "/redis.log");
    std::stringstream text;
    text << file.rdbuf();
    const std::string all = text.str();
    return all.size() > 600 ? all.substr(all.size() - 600) : all;
  }

  bool Answers() const {
    redisContext* c = redisConnect("127.0.0.1", port_);
    bool ok = false;
    if (c != nullptr && c->err == 0) {
      // Any answer, NOAUTH included, means the server is serving.
      redisReply* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = reply != nullptr;
      if (reply != nullptr) freeReplyObject(reply);
    }
    if (c != nullptr) redisFree(c);
    return ok;
  }

  const std::string binary_;
  const std::string dir_;
  const int port_;
  const std::optional<std::string> password_;
  const bool append_only_;
  pid_t pid_ = -1;
};

}  // namespace credbroker::testing
