// One thread per connection, as in cpp-httplib, but an idle connection's thread sleeps in poll
// until the next request, the keep-alive timeout or ReleaseIdle, and is never woken otherwise.
#include "keep_alive_server.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace fake_shotgrid {

namespace {

int PollRetrying(pollfd* fds, nfds_t count, int timeout_ms) {
  int ready = 0;
  do {
    ready = ::poll(fds, count, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  return ready;
}

bool PollOne(int fd, short events, time_t sec, time_t usec) {
  pollfd p{fd, events, 0};
  return PollRetrying(&p, 1, static_cast<int>(sec * 1000 + usec / 1000)) > 0;
}

void Address(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    port = ntohs(in.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    port = ntohs(in6.sin6_port);
  }
  ip = text;
}

// A connection's socket with cpp-httplib's read and write timeouts and a read buffer that lives
// as long as the connection, so bytes of a next request read early are not lost.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(socket_t sock, time_t read_sec, time_t read_usec, time_t write_sec,
                   time_t write_usec)
      : sock_(sock),
        read_sec_(read_sec),
        read_usec_(read_usec),
        write_sec_(write_sec),
        write_usec_(write_usec),
        buffer_(4096) {}

  bool buffered() const { return offset_ < filled_; }

  bool is_readable() const override {
    return buffered() || PollOne(sock_, POLLIN, read_sec_, read_usec_);
  }

  bool is_writable() const override {
    if (!PollOne(sock_, POLLOUT, write_sec_, write_usec_)) return false;
    // Like cpp-httplib: a peer that has hung up is not written to.
    pollfd p{sock_, POLLIN, 0};
    if (PollRetrying(&p, 1, 0) <= 0) return true;
    char byte = 0;
    return ::recv(sock_, &byte, 1, MSG_PEEK) > 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (buffered()) {
      const size_t n = std::min(size, filled_ - offset_);
      std::memcpy(ptr, buffer_.data() + offset_, n);
      offset_ += n;
      return static_cast<ssize_t>(n);
    }
    if (!is_readable()) return -1;
    if (size >= buffer_.size()) return Receive(ptr, size);
    offset_ = filled_ = 0;
    const ssize_t got = Receive(buffer_.data(), buffer_.size());
    if (got <= 0) return got;
    filled_ = static_cast<size_t>(got);
    return read(ptr, size);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t sent = 0;
    do {
      sent = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      Address(addr, ip, port);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      Address(addr, ip, port);
  }

  socket_t socket() const override { return sock_; }

 private:
  ssize_t Receive(char* ptr, size_t size) {
    ssize_t got = 0;
    do {
      got = ::recv(sock_, ptr, size, 0);
    } while (got < 0 && errno == EINTR);
    return got;
  }

  socket_t sock_;
  time_t read_sec_, read_usec_, write_sec_, write_usec_;
  std::vector<char> buffer_;
  size_t offset_ = 0;
  size_t filled_ = 0;
};

}  // namespace

KeepAliveServer::KeepAliveServer() : release_fd_(::eventfd(0, EFD_CLOEXEC)) {}

KeepAliveServer::~KeepAliveServer() {
  if (release_fd_ >= 0) ::close(release_fd_);
}

void KeepAliveServer::ReleaseIdle() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(release_fd_, &one, sizeof(one));
}

// cpp-httplib's own loop (process_server_socket), but waiting in one poll.
bool KeepAliveServer::process_and_close_socket(socket_t sock) {
  ConnectionStream stream(sock, read_timeout_sec_, read_timeout_usec_, write_timeout_sec_,
                          write_timeout_usec_);
  const int keep_alive_ms = static_cast<int>(keep_alive_timeout_sec_ * 1000);
  bool ok = false;
  for (size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    if (!stream.buffered()) {
      pollfd fds[2] = {{sock, POLLIN, 0}, {release_fd_, POLLIN, 0}};
      if (PollRetrying(fds, 2, keep_alive_ms) <= 0 || fds[1].revents != 0) break;
    }
    bool closed = false;
    ok = process_request(stream, /*close_connection=*/left == 1, closed, nullptr);
    if (!ok || closed) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace fake_shotgrid
