// Processes for the client tests, started on ports the OS picks and stopped
// (killed) when the objects go away.
#include "test_env.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <thread>

#include "totp.h"

extern char** environ;

namespace credbroker::client_testing {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::string BrokerBinary() {
  return EnvOr("CREDBROKER_BROKER_BINARY", CREDBROKER_DEFAULT_BROKER_BINARY);
}
std::string FakeSiteBinary() {
  return EnvOr("CREDBROKER_FAKE_SITE_BINARY", CREDBROKER_DEFAULT_FAKE_SITE_BINARY);
}
std::string CliBinary() { return EnvOr("CREDBROKER_CLI_BINARY", CREDBROKER_DEFAULT_CLI_BINARY); }

FakeSite::FakeSite(const TempDir& dir, const SiteOptions& options) {
  const std::string port_file = dir.File("fake-site.port");
  std::vector<std::string> argv = {FakeSiteBinary(),
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--port-file",
                                   port_file,
                                   "--token-lifetime",
                                   std::to_string(options.token_lifetime_seconds),
                                   "--quiet"};
  if (options.two_factor) argv.push_back("--two-factor");
  argv.insert(argv.end(), {"--auth-mode", options.auth_mode});
  process_ = std::make_unique<testing::ChildProcess>(
      argv, std::vector<std::string>{}, dir.File("fake-site.out"), dir.File("fake-site.err"));
  const int port = testing::WaitForPortFile(port_file, *process_);
  if (port == 0) {
    throw std::runtime_error("fake-shotgrid did not start: " +
                             testing::ReadFileOrEmpty(dir.File("fake-site.err")));
  }
  url_ = "http://127.0.0.1:" + std::to_string(port);
}

nlohmann::json FakeSite::Stats() {
  httplib::Client http(url_);
  auto result = http.Get("/_fake/stats");
  if (!result || result->status != 200) throw std::runtime_error("GET /_fake/stats failed");
  return nlohmann::json::parse(result->body);
}

int FakeSite::ReadProjects(const std::string& access_token) {
  httplib::Client http(url_);
  auto result = http.Get("/api/v1/entity/projects",
                         httplib::Headers{{"Authorization", "Bearer " + access_token}});
  return result ? result->status : -1;
}

int FakeSite::Api3ReadProjects(const std::string& session_token) {
  const nlohmann::json request = {{"method_name", "read"},
                                  {"params",
                                   {{{"session_token", session_token}, {"reject_if_expired", true}},
                                    {{"type", "Project"}, {"return_fields", {"name"}}}}}};
  httplib::Client http(url_);
  auto result = http.Post("/api3/json", request.dump(), "application/json");
  if (!result || result->status != 200) throw std::runtime_error("POST /api3/json failed");
  const nlohmann::json answer = nlohmann::json::parse(result->body);
  if (answer.value("exception", false)) return -answer.value("error_code", 1);
  return static_cast<int>(answer["results"]["entities"].size());
}

nlohmann::json FakeSite::Control(const std::string& path, const nlohmann::json& body) {
  httplib::Client http(url_);
  auto result = http.Post(path, body.dump(), "application/json");
  if (!result || result->status != 200) {
    throw std::runtime_error("POST " + path + " failed" + (result ? ": " + result->body : ""));
  }
  return nlohmann::json::parse(result->body);
}

std::string FakeSite::MintSessionToken(const std::string& login) {
  return Control("/_fake/session_token", {{"login", login}})["session_token"];
}

nlohmann::json FakeSite::LauncherRequests() {
  httplib::Client http(url_);
  auto result = http.Get("/_fake/app_session_request");
  if (!result || result->status != 200) {
    throw std::runtime_error("GET /_fake/app_session_request failed");
  }
  return nlohmann::json::parse(result->body)["requests"];
}

std::string FakeSite::OnlyLauncherRequestId() {
  const nlohmann::json requests = LauncherRequests();
  if (requests.size() != 1) {
    throw std::runtime_error("expected one launcher request, the site has " + requests.dump());
  }
  return requests[0]["id"];
}

int FakeSite::SubmitApprovalPage(const std::string& approval_url, const std::string& login,
                                 const std::string& password, const std::string& decision) {
  // approval_url is {scheme}://{host}:{port}{path}: the page's own server.
  const size_t path_start = approval_url.find('/', approval_url.find("://") + 3);
  if (path_start == std::string::npos) throw std::runtime_error("no path in " + approval_url);
  httplib::Client http(approval_url.substr(0, path_start));
  const std::string path = approval_url.substr(path_start);
  auto page = http.Get(path);
  if (!page) throw std::runtime_error("GET " + approval_url + " failed");
  if (page->status != 200) return page->status;
  auto decided = http.Post(
      path, httplib::Params{{"login", login}, {"password", password}, {"decision", decision}});
  if (!decided) throw std::runtime_error("POST " + approval_url + " failed");
  return decided->status;
}

Broker::Broker(const TempDir& dir, const std::string& site_url, const BrokerConfig& config) {
  testing::BrokerOptions options;
  options.site_url = site_url;
  options.extra_yaml = config.extra_yaml;
  if (!config.tls_cert_file.empty()) {
    options.extra_yaml += "tls:\n  cert_file: \"" + config.tls_cert_file + "\"\n  key_file: \"" +
                          config.tls_key_file + "\"\n";
  }
  const std::string yaml = dir.Write("broker.yaml", testing::BrokerConfigYaml(options));
  const std::string port_file = dir.File("broker.port");
  stderr_path_ = dir.File("broker.err");
  process_ = std::make_unique<testing::ChildProcess>(
      std::vector<std::string>{BrokerBinary(), "--config", yaml, "--port-file", port_file},
      std::vector<std::string>{}, dir.File("broker.out"), stderr_path_);
  const int port = testing::WaitForPortFile(port_file, *process_);
  if (port == 0) throw std::runtime_error("credential-broker did not start: " + Logs());
  address_ = "127.0.0.1:" + std::to_string(port);
}

std::string Broker::Logs() const { return testing::ReadFileOrEmpty(stderr_path_); }

std::string CurrentCode(const std::string& base32_secret) {
  return shotgrid_totp::TotpCode(base32_secret, std::time(nullptr));
}

std::string WrongCode(const std::string& base32_secret) {
  const int64_t now = std::time(nullptr);
  for (int candidate = 0;; ++candidate) {
    char code[8];
    std::snprintf(code, sizeof code, "%06d", (candidate * 137 + 11) % 1000000);
    bool valid = false;
    for (int step = -2; step <= 2; ++step) {
      valid = valid || shotgrid_totp::TotpCode(base32_secret, now + step * 30) == code;
    }
    if (!valid) return code;
  }
}

CliProcess::CliProcess(const TempDir& dir, const std::vector<std::string>& args,
                       const std::string& stdin_text, const std::vector<std::string>& env) {
  static std::atomic<int> counter{0};
  const std::string tag = "cli" + std::to_string(++counter);
  const std::string in_path = dir.Write(tag + ".in", stdin_text);
  out_path_ = dir.File(tag + ".out");
  err_path_ = dir.File(tag + ".err");

  std::vector<std::string> argv_strings = {CliBinary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const std::string& extra : env) {
      const std::string name = extra.substr(0, extra.find('=') + 1);
      replaced = replaced || entry.rfind(name, 0) == 0;
    }
    if (!replaced) env_strings.push_back(entry);
  }
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> argv, envp;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  for (std::string& s : env_strings) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  pid_ = fork();
  if (pid_ == 0) {
    const int in = open(in_path.c_str(), O_RDONLY);
    const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (pid_ < 0) throw std::runtime_error("cannot fork the CLI");
}

CliProcess::~CliProcess() {
  if (!exited_) Wait(std::chrono::milliseconds(0));
}

std::string CliProcess::Err() const { return testing::ReadFileOrEmpty(err_path_); }

void CliProcess::Signal(int signal_number) {
  if (!exited_) kill(pid_, signal_number);
}

CliResult CliProcess::Wait(std::chrono::milliseconds timeout) {
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  exited_ = true;
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = testing::ReadFileOrEmpty(out_path_);
  result.err = testing::ReadFileOrEmpty(err_path_);
  return result;
}

CliResult RunCli(const TempDir& dir, const std::vector<std::string>& args,
                 const std::string& stdin_text, const std::vector<std::string>& env) {
  return CliProcess(dir, args, stdin_text, env).Wait();
}

}  // namespace credbroker::client_testing
