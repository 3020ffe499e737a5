// Browser-approved login (tk-core's app session launcher), for sites where
// passwords are refused (SSO, Autodesk Identity) or people prefer it:
// BeginBrowserLogin opens a launcher request at the site and keeps it, sealed,
// under the broker's own id; CompleteBrowserLogin waits while the broker polls
// the site until the person approves in a browser, then hands out a session
// token, or REST tokens exchanged for it.
//
// Concurrent completions of one request on a replica share one polling loop
// and all get its result. Across replicas, a claim in the store lets exactly
// one completion make the session; completions on other replicas that saw
// the approval too wait for that session in the store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/common/call_context.h"
#include "broker/common/clock.h"
#include "broker/common/scheduler.h"
#include "broker/common/session.h"
#include "broker/crypto/sealer.h"
#include "broker/login/browser_login_record.h"
#include "broker/sessions/session_token_exchange.h"
#include "broker/store/state_store.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct BrowserLoginSettings {
  std::string default_site;
  // Shown on the approval page when the caller names no app or machine.
  std::string app_name = "credential-broker";
  std::string machine_id;
  // tk-core polls every 2 s and gives up after 180 s.
  absl::Duration poll_interval = absl::Seconds(2);
  absl::Duration lifetime = absl::Seconds(180);
  absl::Duration default_wait = absl::Seconds(30);
  // After a failed poll (5xx, no connection), the next waits this long at
  // most, doubling from poll_interval.
  absl::Duration max_backoff = absl::Seconds(16);
  // How long a completion that lost the claim to another replica waits for
  // the session that replica makes: longer than its site call.
  absl::Duration result_wait = absl::Seconds(15);
};

struct BeginBrowserLoginParams {
  std::string site;
  std::string app_name;
  std::string machine_id;
  TokenKind kind = TokenKind::kRest;
  int custody = 0;
};

struct BrowserLoginInfo {
  std::string request_id;
  std::string approval_url;
  absl::Time expire_time;
};

class BrowserLogin {
 public:
  using BeginCallback = std::function<void(absl::StatusOr<BrowserLoginInfo>)>;
  using SessionCallback = std::function<void(absl::StatusOr<SessionInfo>)>;

  BrowserLogin(BrowserLoginSettings settings, SiteClient& sites, StateStore& store,
               const Sealer& sealer, const Clock& clock, Scheduler& scheduler, Logger& logger,
               SessionTokenExchange& exchange);

  // Inputs are already validated by the API layer.
  void Begin(BeginBrowserLoginParams params, CallContext call, BeginCallback done);
  // `wait` unset: the default wait; zero: one poll, answered at once.
  void Complete(std::string request_id, std::optional<absl::Duration> wait, CallContext call,
                SessionCallback done);

 private:
  struct Waiter;
  struct Poller;

  void OnRecordLoaded(const std::string& request_id,
                      absl::StatusOr<std::optional<std::string>> data,
                      std::shared_ptr<Waiter> waiter);
  // Adds the waiter to the request's loop, starting the loop if none runs.
  void Join(const std::string& request_id, const BrowserLoginRecord& record,
            std::shared_ptr<Waiter> waiter);
  void Poll(std::shared_ptr<Poller> poller);
  void OnPolled(std::shared_ptr<Poller> poller, absl::StatusOr<LauncherState> state);
  // Approved: claims the completion, then builds the session.
  void Approve(std::shared_ptr<Poller> poller, LauncherState state);
  // Keeps the session for completions on other replicas, then answers.
  void Publish(const std::shared_ptr<Poller>& poller, SessionInfo session);
  // Another replica holds the claim: its session, once in the store.
  void AwaitResult(std::shared_ptr<Poller> poller, absl::Time give_up);
  // Ends the loop: every waiter gets `result`, the request is forgotten.
  void Finish(const std::shared_ptr<Poller>& poller, absl::StatusOr<SessionInfo> result,
              bool forget_request);
  // The waiter's wait is over with the request still pending.
  void TimeOut(const std::shared_ptr<Poller>& poller, uint64_t waiter_id);
  void ScheduleNextPoll(const std::shared_ptr<Poller>& poller, uint64_t generation,
                        absl::Duration delay);
  // What a waiter whose wait ends hears: APPROVAL_PENDING, or why the last
  // poll failed. Needs mu_.
  absl::Status PendingStatus(const Poller& poller) const;
  // Writes the audit line of one CompleteBrowserLogin call and answers it.
  void Answer(const std::shared_ptr<Waiter>& waiter, const BrowserLoginRecord* record,
              absl::StatusOr<SessionInfo> result);

  const BrowserLoginSettings settings_;
  SiteClient& sites_;
  StateStore& store_;
  const Sealer& sealer_;
  const Clock& clock_;
  Scheduler& scheduler_;
  Logger& logger_;
  SessionTokenExchange& exchange_;

  // Loops running on this replica, by request id.
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Poller>> pollers_;
  uint64_t next_waiter_id_ = 1;
};

}  // namespace credbroker
