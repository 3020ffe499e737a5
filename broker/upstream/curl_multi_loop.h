// Runs every HTTP request the broker makes on one libcurl multi handle driven
// by one thread, so thousands of slow site calls cost sockets, not threads.
// Connections and DNS answers are reused across requests.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/upstream/site_answer.h"

namespace credbroker {

struct HttpRequest {
  std::string url;
  // POST or PUT.
  std::string method = "POST";
  // Sent as the request body. Holds secrets: wiped once the transfer ends.
  std::string body;
  std::vector<std::string> headers;
  // PEM bundle of trusted CAs; empty means the system's.
  std::string ca_file;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(10);
};

struct HttpResult {
  // Not OK when no complete answer came back (UPSTREAM_UNAVAILABLE).
  absl::Status transport;
  SiteAnswer answer;
  // The site's x-request-id header, for logs.
  std::string site_request_id;
};

class CurlMultiLoop {
 public:
  using Callback = std::function<void(HttpResult)>;

  CurlMultiLoop();
  ~CurlMultiLoop();
  CurlMultiLoop(const CurlMultiLoop&) = delete;
  CurlMultiLoop& operator=(const CurlMultiLoop&) = delete;

  // Queues a request; `done` runs once, on the loop's thread. The id names
  // it for Cancel.
  uint64_t Submit(HttpRequest request, Callback done);
  // Abandons the request if it is still running: `done` gets
  // UPSTREAM_UNAVAILABLE, marked as not processed when nothing was sent yet.
  // Safe from any thread, for finished or unknown ids too.
  void Cancel(uint64_t id);
  // Fails what is still queued or running and joins the thread. Idempotent.
  void Stop();

 private:
  struct Transfer;

  void Run();
  void StartTransfer(std::unique_ptr<Transfer> transfer);
  void FinishTransfer(CURL* easy, CURLcode code, bool cancelled = false);

  CURLM* multi_;
  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queued_;
  std::vector<uint64_t> cancelled_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
  // Owned by the loop thread only; keyed by easy handle, which is what curl
  // reports a finished transfer by.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> running_;
  std::unordered_map<uint64_t, CURL*> running_ids_;
};

}  // namespace credbroker
