// The app session launcher tk-core uses to log people in on SSO and Autodesk Identity sites,
// independent of HTTP: a client creates a request, a person approves (or rejects) it in a browser,
// the client polls until it gets a session token. Requests expire 180 s after creation by the
// site clock.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "counters.h"
#include "errors.h"
#include "settings.h"
#include "token_endpoint.h"

namespace fake_shotgrid {

inline constexpr int64_t kLauncherRequestLifetimeSeconds = 180;

class AppSessionLauncher {
 public:
  AppSessionLauncher(TokenEndpoint& endpoint, SettingsStore& settings, Counters& counters)
      : endpoint_(endpoint), settings_(settings), counters_(counters) {}

  // POST /internal_api/app_session_request. `site_url` is what the person's browser reaches
  // the site at; the answer's url is {site_url}/app_session_request/{id}.
  ApiReply Create(const std::string& app_name, const std::string& machine_id,
                  const std::string& site_url);
  // PUT /internal_api/app_session_request/{id}: pending 200 {"approved":false}; approved
  // 200 {"approved":true,"sessionToken","userLogin"} (again on every poll until it expires);
  // rejected, expired or unknown 404 with a JSON body.
  ApiReply Poll(const std::string& id);

  enum class Decision { kApproved, kRejected, kUnknownRequest, kUnknownUser };
  // Approves as `login` (an active user; mints a session token for them) or rejects. Only a
  // pending, unexpired request can be decided.
  Decision Approve(const std::string& id, const std::string& login);
  Decision Reject(const std::string& id);
  // The next `count` polls of a pending or approved request answer `status` (5xx, as a busy site
  // or proxy would) without changing its state. False when the request is unknown or expired.
  bool FailPolls(const std::string& id, int count, int status);

  // App name and machine of a pending, unexpired request, for the approval page.
  std::optional<std::pair<std::string, std::string>> Describe(const std::string& id) const;

  // [{"id","app_name","machine_id","state","created_at","expires_at"[,"user_login"]}], oldest
  // first; no session tokens.
  nlohmann::json ToJson() const;
  void Reset();

 private:
  enum class State { kPending, kApproved, kRejected };
  struct Request {
    std::string app_name, machine_id;
    int64_t created_at = 0;
    int64_t seq = 0;
    State state = State::kPending;
    std::string user_login, session_token;
    int fail_polls = 0;
    int fail_status = 503;
  };
  // Caller holds mu_. The request if it exists and has not expired.
  Request* LiveLocked(const std::string& id, int64_t now);

  TokenEndpoint& endpoint_;
  SettingsStore& settings_;
  Counters& counters_;
  mutable std::mutex mu_;
  std::map<std::string, Request> requests_;
  int64_t next_seq_ = 0;
};

}  // namespace fake_shotgrid
