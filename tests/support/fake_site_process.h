// The fake ShotGrid site (tests/fake_shotgrid) as a real process on a port the
// OS picks, with a client for its /_fake control API: counters, faults, clock.
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

 private:
  nlohmann::json Call(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr);

  std::unique_ptr<ChildProcess> process_;
  bool https_ = false;
  int port_ = 0;
  std::string url_;
  int clock_offset_ = 0;
};

}  // namespace credbroker::testing
