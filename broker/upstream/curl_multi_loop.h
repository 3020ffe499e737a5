// Runs every HTTP request the broker makes on one libcurl multi handle driven
// by one thread, so thousands of slow site calls cost sockets, not threads.
// Connections and DNS answers are reused across requests. The thread waits in
// epoll and hands curl only the sockets that are ready (curl's socket-action
// API), so a wake-up costs the same with 10 or 10,000 transfers running.
#pragma once

#include <curl/curl.h>

#include <chrono>
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

  // curl's callbacks: which sockets to watch for what, and when to call it
  // back for its timeouts.
  static int OnSocket(CURL* easy, curl_socket_t socket, int what, void* loop, void* socket_data);
  static int OnTimer(CURLM* multi, long timeout_ms, void* loop);

  void Run();
  // Starts what Submit queued and ends what Cancel named; false once Stop was
  // called (everything has been failed then).
  bool TakeQueued();
  // Tells the loop thread to look at the queue; needs mu_.
  void WakeLocked();
  // Milliseconds until curl's timer is due: -1 for none, 0 when it is due.
  int MillisUntilTimer() const;
  void StartTransfer(std::unique_ptr<Transfer> transfer);
  void FinishDone();
  void FinishTransfer(CURL* easy, CURLcode code, bool cancelled = false);

  CURLM* multi_;
  int epoll_fd_ = -1;
  // An eventfd: written by Submit, Cancel and Stop, watched by the epoll.
  int wake_fd_ = -1;
  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queued_;
  std::vector<uint64_t> cancelled_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  // A write to wake_fd_ is on its way and the queue not yet taken: later
  // callers need not write again.
  bool wake_pending_ = false;
  std::thread thread_;
  // Owned by the loop thread only; keyed by easy handle, which is what curl
  // reports a finished transfer by.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> running_;
  std::unordered_map<uint64_t, CURL*> running_ids_;
  bool timer_set_ = false;
  std::chrono::steady_clock::time_point timer_due_;
};

}  // namespace credbroker
