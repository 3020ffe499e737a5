// SiteClient over libcurl: builds token, /api3/json and app session launcher
// requests for each configured site and sends them through the shared CurlLoops, at most a
// configured number per site at once, so one busy site or one caller's burst cannot take every
// socket.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "broker/common/clock.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/curl_loops.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct SiteEndpoint {
  std::string name;
  // e.g. https://studio.shotgrid.autodesk.com (no trailing slash).
  std::string base_url;
  std::string ca_file;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(10);
  // At most this many requests to the site at once; beyond it requests wait
  // in a queue of at most max_queued_requests, and beyond that are refused
  // at once (UPSTREAM_UNAVAILABLE with retry_after).
  int max_concurrent_requests = 1024;
  int max_queued_requests = 4096;
};

// The form body for `request`, URL-encoded. Holds secrets.
std::string EncodeTokenForm(const TokenRequest& request);

class CurlSiteClient final : public SiteClient {
 public:
  CurlSiteClient(std::vector<SiteEndpoint> sites, CurlLoops& loops, const Clock& clock,
                 Logger& logger);

  bool HasSite(absl::string_view site) const override;
  std::string SiteUrl(absl::string_view site) const override;
  void RequestToken(absl::string_view site, const TokenRequest& request, absl::Time deadline,
                    TokenCallback done) override;
  void StartLauncherRequest(absl::string_view site, const std::string& app_name,
                            const std::string& machine_id, absl::Time deadline,
                            std::shared_ptr<CancelSignal> cancel,
                            LauncherRequestCallback done) override;
  void PollLauncherRequest(absl::string_view site, const std::string& site_request_id,
                           absl::Time deadline, std::shared_ptr<CancelSignal> cancel,
                           LauncherStateCallback done) override;

 private:
  // What one site call is, for its log line and metrics.
  struct CallLabel {
    std::string site;
    absl::string_view name;  // e.g. "password", "app_session_poll"
    std::string session_uuid;
  };

  // One site's requests at the site and waiting for a place.
  struct Gate {
    struct Waiting {
      uint64_t ticket;
      HttpRequest http;
      absl::Time deadline;
      CurlMultiLoop::Callback done;
      std::shared_ptr<CancelSignal> cancel;
    };
    std::mutex mu;
    int in_flight = 0;
    uint64_t next_ticket = 1;
    std::deque<Waiting> waiting;
  };

  const SiteEndpoint* Find(absl::string_view site) const;
  // Sends `http` (its url a path on the site) with the site's timeouts cut to
  // `deadline`, reads the answer with `read`, logs and counts the call, then
  // answers `done`. Unknown sites and spent deadlines answer at once.
  template <typename T>
  void Send(absl::string_view site, HttpRequest http, absl::Time deadline,
            std::shared_ptr<CancelSignal> cancel, CallLabel label,
            std::function<absl::StatusOr<T>(const SiteAnswer&)> read,
            std::function<void(absl::StatusOr<T>)> done);
  // The call's debug log line (warn when the site itself failed) and metrics.
  void Record(const CallLabel& label, const HttpResult& result, const absl::Status& outcome,
              absl::Time started);
  // Sends now if the site has a free place, else queues, else refuses.
  void Admit(std::size_t site_index, HttpRequest http, absl::Time deadline,
             std::shared_ptr<CancelSignal> cancel, CurlMultiLoop::Callback done);
  void Launch(std::size_t site_index, HttpRequest http, std::shared_ptr<CancelSignal> cancel,
              CurlMultiLoop::Callback done);
  // A request to the site ended: its place goes to the next one waiting.
  void Release(std::size_t site_index);
  // A waiting request's call was cancelled: it leaves the queue unsent.
  void Withdraw(std::size_t site_index, uint64_t ticket);

  std::vector<SiteEndpoint> sites_;
  std::vector<std::unique_ptr<Gate>> gates_;
  CurlLoops& loops_;
  const Clock& clock_;
  Logger& logger_;
};

}  // namespace credbroker
