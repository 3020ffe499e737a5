// The fake ShotGrid site as an object: an HTTP(S) server with the token endpoint, one
// authenticated entity read, the /api3/json RPC door, the app session launcher and the /_fake
// control API. Tests start it in-process on port 0;
// the fake-shotgrid binary is a thin wrapper around it.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "api3.h"
#include "counters.h"
#include "faults.h"
#include "fixtures.h"
#include "launcher.h"
#include "settings.h"
#include "token_endpoint.h"

namespace httplib {
class Server;
}

namespace fake_shotgrid {

struct SiteOptions {
  std::string host = "127.0.0.1";
  int port = 0;          // 0: the OS picks
  std::string tls_cert;  // both set: serve HTTPS
  std::string tls_key;
  SiteSettings settings;
  Fixtures fixtures = BuiltinFixtures();
  bool quiet = true;  // false: one stderr line per request
  // Worker threads = connections served at once; the load test holds ~1,000 open.
  size_t threads = 1200;
};

class FakeShotgridSite {
 public:
  explicit FakeShotgridSite(SiteOptions options);
  ~FakeShotgridSite();
  FakeShotgridSite(const FakeShotgridSite&) = delete;
  FakeShotgridSite& operator=(const FakeShotgridSite&) = delete;

  // Binds and starts serving on a background thread; returns once requests are accepted.
  bool Start(std::string* error);
  void Stop();

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  std::string base_url() const;  // e.g. http://127.0.0.1:41234

  // In-process access to what the control API exposes.
  Counters& counters() { return counters_; }
  FaultKnobs& faults() { return faults_; }
  SettingsStore& settings() { return settings_; }
  TokenEndpoint& endpoint() { return endpoint_; }
  AppSessionLauncher& launcher() { return launcher_; }
  nlohmann::json StatsJson() const;
  void ResetAll();

 private:
  void InstallRoutes();

  SiteOptions options_;
  SettingsStore settings_;
  Counters counters_;
  FaultKnobs faults_;
  TokenEndpoint endpoint_;
  Api3 api3_;
  AppSessionLauncher launcher_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fake_shotgrid
