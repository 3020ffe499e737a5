// The loop thread owns every easy handle; other threads only touch the queue
// and wake the loop with curl_multi_wakeup.
#include "broker/upstream/curl_multi_loop.h"

#include <openssl/crypto.h>

#include <algorithm>
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
  if (!multi_) std::abort();
  thread_ = std::thread([this] { Run(); });
}

CurlMultiLoop::~CurlMultiLoop() {
  Stop();
  curl_multi_cleanup(multi_);
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
      transfer = nullptr;
    }
  }
  if (transfer) {
    transfer->done(ShuttingDown());
    return id;
  }
  curl_multi_wakeup(multi_);
  return id;
}

void CurlMultiLoop::Cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    cancelled_.push_back(id);
  }
  curl_multi_wakeup(multi_);
}

void CurlMultiLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  curl_multi_wakeup(multi_);
  if (thread_.joinable()) thread_.join();
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

void CurlMultiLoop::Run() {
  for (;;) {
    std::deque<std::unique_ptr<Transfer>> incoming;
    std::vector<uint64_t> cancelled;
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      incoming.swap(queued_);
      cancelled.swap(cancelled_);
      stopping = stopping_;
    }
    if (stopping) {
      // Fail everything still pending so every caller hears back.
      for (auto& transfer : incoming) transfer->done(ShuttingDown());
      while (!running_.empty()) FinishTransfer(running_.begin()->first, CURLE_ABORTED_BY_CALLBACK);
      return;
    }
    for (auto& transfer : incoming) StartTransfer(std::move(transfer));
    for (uint64_t id : cancelled) {
      auto running = running_ids_.find(id);
      if (running != running_ids_.end()) {
        FinishTransfer(running->second, CURLE_ABORTED_BY_CALLBACK, /*cancelled=*/true);
      }
    }

    int still_running = 0;
    curl_multi_perform(multi_, &still_running);
    int queued_messages = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued_messages)) {
      if (msg->msg == CURLMSG_DONE) FinishTransfer(msg->easy_handle, msg->data.result);
    }
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

}  // namespace credbroker
