// Test support for the C++ client's tests: the fake site and the broker as
// processes (binaries from $CREDBROKER_FAKE_SITE_BINARY /
// $CREDBROKER_BROKER_BINARY, defaulting to this build's), the fake site's
// control API (stats, session tokens, /api3/json reads, the app session
// launcher and its approval page), TOTP codes, and running the `credbroker`
// CLI with piped stdin, to its end or in the background.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "broker_process.h"
#include "child_process.h"
#include "temp_dir.h"

namespace credbroker::client_testing {

using credbroker::testing::TempDir;

std::string BrokerBinary();
std::string FakeSiteBinary();
std::string CliBinary();

struct SiteOptions {
  int token_lifetime_seconds = 600;
  bool two_factor = true;
  // password, sso or identity (--auth-mode): on the last two, password
  // logins are refused (codes 108, 110) and only browser logins work.
  std::string auth_mode = "password";
};

class FakeSite {
 public:
  FakeSite(const TempDir& dir, const SiteOptions& options = {});
  const std::string& url() const { return url_; }
  nlohmann::json Stats();
  int Requests(const std::string& grant) { return Stats()["requests"].value(grant, -1); }
  // Counts of /api3/json calls by method ("get_session_token", "read", ...).
  int Api3Calls(const std::string& method) { return Stats()["api3"].value(method, -1); }
  // Counts of launcher events ("create", "poll", "approve", "reject").
  int LauncherEvents(const std::string& event) { return Stats()["launcher"].value(event, -1); }
  // GET /api/v1/entity/projects with the token: the HTTP status.
  int ReadProjects(const std::string& access_token);
  // A read of projects through /api3/json with session-token AUTH: the
  // number of projects answered, or minus the fault's error_code (-102 for
  // an unknown or expired session token).
  int Api3ReadProjects(const std::string& session_token);
  // A session token minted for `login` (POST /_fake/session_token).
  std::string MintSessionToken(const std::string& login);
  // POST `path` with a JSON body on the control API; throws unless 200.
  nlohmann::json Control(const std::string& path, const nlohmann::json& body);
  // The launcher requests the site holds (GET /_fake/app_session_request).
  nlohmann::json LauncherRequests();
  // The site's id of its one launcher request; throws unless there is
  // exactly one.
  std::string OnlyLauncherRequestId();
  // The approval page as a person uses it: GET `approval_url`, then POST
  // login, password and decision ("approve" or "reject") to it. The POST's
  // HTTP status (200 when decided; the GET's status if it was not 200).
  int SubmitApprovalPage(const std::string& approval_url, const std::string& login,
                         const std::string& password, const std::string& decision);

 private:
  std::unique_ptr<testing::ChildProcess> process_;
  std::string url_;
};

struct BrokerConfig {
  std::string extra_yaml;  // top level, e.g. "challenge:\n  max_attempts: 2\n"
  std::string tls_cert_file, tls_key_file;
};

class Broker {
 public:
  Broker(const TempDir& dir, const std::string& site_url, const BrokerConfig& config = {});
  const std::string& address() const { return address_; }
  std::string Logs() const;

 private:
  std::unique_ptr<testing::ChildProcess> process_;
  std::string address_;
  std::string stderr_path_;
};

// A test with a fake site and a broker of its own, started by
// StartSiteAndBroker().
class SiteAndBrokerTest : public ::testing::Test {
 protected:
  void StartSiteAndBroker(const SiteOptions& site = {}, const BrokerConfig& config = {}) {
    site_ = std::make_unique<FakeSite>(dir_, site);
    broker_ = std::make_unique<Broker>(dir_, site_->url(), config);
  }
  // A site in `auth_mode` (password, sso, identity) and a broker that polls
  // its app session launcher every 100 ms, for browser logins.
  void StartBrowserLoginSite(const std::string& auth_mode) {
    SiteOptions site;
    site.auth_mode = auth_mode;
    BrokerConfig config;
    config.extra_yaml = "browser_login:\n  poll_interval_ms: 100\n";
    StartSiteAndBroker(site, config);
  }

  TempDir dir_;
  std::unique_ptr<FakeSite> site_;
  std::unique_ptr<Broker> broker_;
};

// The code the fake site accepts now for a base32 secret (no clock offset).
std::string CurrentCode(const std::string& base32_secret);
// A six-digit code that is not valid now nor in the neighbouring steps.
std::string WrongCode(const std::string& base32_secret);

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The credbroker CLI started with `args`, `stdin_text` piped in (not a
// tty), and extra environment ("NAME=value"; replaces existing names). It is
// killed if still running when the object goes.
class CliProcess {
 public:
  CliProcess(const TempDir& dir, const std::vector<std::string>& args,
             const std::string& stdin_text, const std::vector<std::string>& env = {});
  ~CliProcess();
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  // What it wrote to standard error so far.
  std::string Err() const;
  void Signal(int signal_number);
  // Waits for the exit (killed after `timeout`: exit code 128 + 9).
  CliResult Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string out_path_, err_path_;
};

// Runs the CLI to its end (as CliProcess, then Wait()).
CliResult RunCli(const TempDir& dir, const std::vector<std::string>& args,
                 const std::string& stdin_text, const std::vector<std::string>& env = {});

}  // namespace credbroker::client_testing
