// The loop thread owns every easy handle and the multi handle; other threads
// only touch the queue and wake the loop through an eventfd.
#include "broker/upstream/curl_multi_loop.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"

namespace credbroker {
namespace {

// A token answer is a few hundred bytes; anything far larger is not one.
constexpr std::size_t kMaxBodyBytes = 256 * 1024;

std::once_flag global_init_once;

void GlobalInit() {
  std::call_once(global_init_once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) std::abort();
  });
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t bytes = size * count;
  if (body->size() + bytes > kMaxBodyBytes) return 0;  // Makes curl fail the transfer.
  body->append(data, bytes);
  return bytes;
}

std::string HeaderValue(CURL* easy, const char* name) {
  struct curl_header* header = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &header) != CURLHE_OK || !header) return "";
  return header->value;
}

std::string DescribeTransportError(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return "the ShotGrid site did not answer in time";
    case CURLE_COULDNT_RESOLVE_HOST:
      return "the ShotGrid site's host name does not resolve";
    case CURLE_COULDNT_CONNECT:
      return "the ShotGrid site refused the connection or is unreachable";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return "the ShotGrid site's TLS certificate is not trusted";
    case CURLE_SSL_CONNECT_ERROR:
      return "the TLS handshake with the ShotGrid site failed";
    case CURLE_ABORTED_BY_CALLBACK:
      return "the broker is shutting down";
    case CURLE_WRITE_ERROR:
      return "the ShotGrid site's answer was too large";
    default:
      return absl::StrCat("the connection to the ShotGrid site failed (", curl_easy_strerror(code),
                          ")");
  }
}

HttpResult ShuttingDown() {
  HttpResult result;
  result.transport = BrokerError(Reason::kUpstreamUnavailable, "the broker is shutting down");
  return result;
}

long Millis(absl::Duration d) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

// Ready sockets handed to curl per epoll_wait; more wait for the next call.
constexpr int kMaxEvents = 256;

// Stored by curl with a socket once the epoll watches it.
char watched_marker;

}  // namespace

struct CurlMultiLoop::Transfer {
  uint64_t id = 0;
  HttpRequest request;
  Callback done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string response_body;

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
    OPENSSL_cleanse(request.body.data(), request.body.size());
  }
};

CurlMultiLoop::CurlMultiLoop() {
  GlobalInit();
  multi_ = curl_multi_init();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!multi_ || epoll_fd_ < 0 || wake_fd_ < 0) std::abort();
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0) std::abort();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMultiLoop::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMultiLoop::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  thread_ = std::thread([this] { Run(); });
}

CurlMultiLoop::~CurlMultiLoop() {
  Stop();
  // Closes cached connections, which calls OnSocket: the epoll must still be open.
  curl_multi_cleanup(multi_);
  close(wake_fd_);
  close(epoll_fd_);
}

uint64_t CurlMultiLoop::Submit(HttpRequest request, Callback done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = transfer->id = next_id_++;
    if (!stopping_) {
      queued_.push_back(std::move(transfer));
      WakeLocked();
      return id;
    }
  }
  transfer->done(ShuttingDown());
  return id;
}

void CurlMultiLoop::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  cancelled_.push_back(id);
  WakeLocked();
}

void CurlMultiLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    WakeLocked();
  }
  if (thread_.joinable()) thread_.join();
}

void CurlMultiLoop::WakeLocked() {
  if (wake_pending_) return;
  wake_pending_ = true;
  const uint64_t one = 1;
  // Only fails when the counter is near overflow, and then the loop is woken anyway.
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof(one));
}

int CurlMultiLoop::OnSocket(CURL*, curl_socket_t socket, int what, void* loop, void* socket_data) {
  auto* self = static_cast<CurlMultiLoop*>(loop);
  if (what == CURL_POLL_REMOVE) {
    // Fails harmlessly when curl has closed the socket already: closing removed it.
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event event{};
  event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  event.data.fd = socket;
  int op = socket_data ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(self->epoll_fd_, op, socket, &event) != 0) {
    // The epoll's view and curl's disagree (a descriptor closed and reused): take the other op.
    op = errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    epoll_ctl(self->epoll_fd_, op, socket, &event);
  }
  if (!socket_data) curl_multi_assign(self->multi_, socket, &watched_marker);
  return 0;
}

int CurlMultiLoop::OnTimer(CURLM*, long timeout_ms, void* loop) {
  auto* self = static_cast<CurlMultiLoop*>(loop);
  // curl must not be called back from here: the loop calls it once the time is due.
  self->timer_set_ = timeout_ms >= 0;
  if (self->timer_set_) {
    self->timer_due_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

int CurlMultiLoop::MillisUntilTimer() const {
  if (!timer_set_) return -1;
  const auto left = timer_due_ - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  // Rounded up: waking before the timer is due would only wait again.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

void CurlMultiLoop::StartTransfer(std::unique_ptr<Transfer> transfer) {
  CURL* easy = curl_easy_init();
  if (!easy) std::abort();
  transfer->easy = easy;
  for (const std::string& header : transfer->request.headers) {
    transfer->headers = curl_slist_append(transfer->headers, header.c_str());
  }
  const HttpRequest& req = transfer->request;
  curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  if (req.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  // Not COPYPOSTFIELDS: curl would keep a copy of the password it never wipes.
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!req.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, req.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, Millis(req.connect_timeout));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, Millis(req.total_timeout));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer->response_body);
  curl_multi_add_handle(multi_, easy);
  running_ids_.emplace(transfer->id, easy);
  running_.emplace(easy, std::move(transfer));
}

void CurlMultiLoop::FinishTransfer(CURL* easy, CURLcode code, bool cancelled) {
  curl_multi_remove_handle(multi_, easy);
  auto it = running_.find(easy);
  if (it == running_.end()) return;
  std::unique_ptr<Transfer> transfer = std::move(it->second);
  running_.erase(it);
  running_ids_.erase(transfer->id);

  HttpResult result;
  if (code != CURLE_OK) {
    result.transport = BrokerError(Reason::kUpstreamUnavailable,
                                   cancelled ? "the call was cancelled before the site answered"
                                             : DescribeTransportError(code));
    // Nothing of the request left the broker: the site cannot have seen it.
    long request_bytes = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    if (request_bytes == 0) result.transport = MarkedNotProcessedBySite(result.transport);
  } else {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.answer.http_status);
    result.answer.content_type = HeaderValue(easy, "Content-Type");
    result.answer.retry_after = HeaderValue(easy, "Retry-After");
    result.site_request_id = HeaderValue(easy, "x-request-id");
    result.answer.body = std::move(transfer->response_body);
  }
  Callback done = std::move(transfer->done);
  transfer.reset();
  done(std::move(result));
}

void CurlMultiLoop::FinishDone() {
  int queued_messages = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &queued_messages)) {
    if (msg->msg == CURLMSG_DONE) FinishTransfer(msg->easy_handle, msg->data.result);
  }
}

bool CurlMultiLoop::TakeQueued() {
  std::deque<std::unique_ptr<Transfer>> incoming;
  std::vector<uint64_t> cancelled;
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    incoming.swap(queued_);
    cancelled.swap(cancelled_);
    stopping = stopping_;
    wake_pending_ = false;
  }
  if (stopping) {
    // Fail everything still pending so every caller hears back.
    for (auto& transfer : incoming) transfer->done(ShuttingDown());
    while (!running_.empty()) FinishTransfer(running_.begin()->first, CURLE_ABORTED_BY_CALLBACK);
    return false;
  }
  for (auto& transfer : incoming) StartTransfer(std::move(transfer));
  for (uint64_t id : cancelled) {
    auto running = running_ids_.find(id);
    if (running != running_ids_.end()) {
      FinishTransfer(running->second, CURLE_ABORTED_BY_CALLBACK, /*cancelled=*/true);
    }
  }
  return true;
}

void CurlMultiLoop::Run() {
  // Named for profiles and top.
  pthread_setname_np(pthread_self(), "curl-loop");
  epoll_event events[kMaxEvents];
  int still_running = 0;
  while (TakeQueued()) {
    const int ready = epoll_wait(epoll_fd_, events, kMaxEvents, MillisUntilTimer());
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t read_bytes = read(wake_fd_, &count, sizeof(count));
        continue;
      }
      const uint32_t got = events[i].events;
      const int flags = ((got & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                        ((got & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                        ((got & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
      // A socket closed by an earlier action in this batch is unknown to curl, which ignores it.
      curl_multi_socket_action(multi_, fd, flags, &still_running);
    }
    if (MillisUntilTimer() == 0) {
      timer_set_ = false;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &still_running);
    }
    FinishDone();
  }
}

}  // namespace credbroker
