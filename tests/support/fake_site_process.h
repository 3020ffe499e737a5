// The fake ShotGrid site (tests/fake_shotgrid) as a real process on a port the
// OS picks, with a client for its /_fake control API: counters, faults, clock,
// session tokens and app session launcher approvals.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "child_process.h"
#include "temp_dir.h"
#include "test_certs.h"

namespace credbroker::testing {

struct FakeSiteOptions {
  bool two_factor = true;
  std::string auth_mode = "password";
  int token_lifetime_seconds = 600;
  // Serve HTTPS with this certificate when set.
  const Certificate* tls = nullptr;
};

class FakeSiteProcess {
 public:
  FakeSiteProcess(const TempDir& dir, const FakeSiteOptions& options);

  // e.g. http://127.0.0.1:40123
  const std::string& url() const { return url_; }
  int port() const { return port_; }

  // GET /_fake/stats.
  nlohmann::json Stats();
  // requests.<grant> from the stats: how many token requests of that grant
  // reached the site.
  int Requests(const std::string& grant);
  void Reset();
  void SetFaults(const nlohmann::json& faults);
  void SetClockOffset(int seconds);
  void SetSettings(const nlohmann::json& settings);
  // The TOTP code the site accepts now for `base32_secret` (its clock offset
  // included).
  std::string CurrentCode(const std::string& base32_secret);
  // GET /api/v1/entity/projects with the token; returns the HTTP status.
  int ReadProjects(const std::string& access_token, std::string* body = nullptr);

  // /api3/json calls that reached the site, from stats.api3: `key` is a method
  // ("info", "get_session_token", "read", "other") or a method.auth pair such as
  // "get_session_token.user" or "read.session_token" (auth: none, user, script,
  // session_token, invalid).
  int Api3Calls(const std::string& key);
  // App session launcher events from stats.launcher: "create", "poll",
  // "approve" or "reject".
  int LauncherCount(const std::string& event);
  // The launcher requests the site holds (GET /_fake/app_session_request):
  // [{"id","app_name","machine_id","state","created_at","expires_at"[,"user_login"]}].
  nlohmann::json AppSessionRequests();
  // Approves a pending launcher request as `login`, or rejects it. `request`
  // is the site's request id or the approval URL it handed out. False when the
  // request is unknown, expired or already decided.
  bool ApproveAppSession(const std::string& request, const std::string& login);
  bool RejectAppSession(const std::string& request);
  // The next `count` polls of the request answer `status` (a 5xx), as a busy
  // site would; its state is unchanged. False when unknown or expired.
  bool FailAppSessionPolls(const std::string& request, int count, int status = 503);
  // A fresh session token for a fixture user, minted by the control API (not
  // counted as site traffic); it expires after the site's
  // session_token_lifetime.
  std::string MintSessionToken(const std::string& login);
  // Whether the site accepts `session_token` on /api3/json right now (one
  // "read.session_token" call, counted like any other).
  bool SessionTokenWorks(const std::string& session_token);

 private:
  nlohmann::json Call(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr);
  // POST with a JSON body; the HTTP status (0 on transport failure).
  int PostStatus(const std::string& path, const std::string& body,
                 nlohmann::json* answer = nullptr);

  std::unique_ptr<ChildProcess> process_;
  bool https_ = false;
  int port_ = 0;
  std::string url_;
  int clock_offset_ = 0;
};

}  // namespace credbroker::testing
