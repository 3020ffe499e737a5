// Test support for the C++ client's tests: the fake site and the broker as
// processes (binaries from $CREDBROKER_FAKE_SITE_BINARY /
// $CREDBROKER_BROKER_BINARY, defaulting to this build's), the fake site's
// control API, TOTP codes, and running the `credbroker` CLI with piped stdin.
#pragma once

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
};

class FakeSite {
 public:
  FakeSite(const TempDir& dir, const SiteOptions& options = {});
  const std::string& url() const { return url_; }
  nlohmann::json Stats();
  int Requests(const std::string& grant) { return Stats()["requests"].value(grant, -1); }
  // GET /api/v1/entity/projects with the token: the HTTP status.
  int ReadProjects(const std::string& access_token);

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

// The code the fake site accepts now for a base32 secret (no clock offset).
std::string CurrentCode(const std::string& base32_secret);
// A six-digit code that is not valid now nor in the neighbouring steps.
std::string WrongCode(const std::string& base32_secret);

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the credbroker CLI with `args`, `stdin_text` piped in (not a tty),
// and extra environment ("NAME=value"; replaces existing names).
CliResult RunCli(const TempDir& dir, const std::vector<std::string>& args,
                 const std::string& stdin_text, const std::vector<std::string>& env = {});

}  // namespace credbroker::client_testing
