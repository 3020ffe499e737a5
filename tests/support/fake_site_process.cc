// Control calls go over the same scheme the site serves; certificate checks
// are off for them only (the broker's own checks are what the tests test).
#include "fake_site_process.h"

#include <httplib.h>

#include <ctime>
#include <stdexcept>

#include "totp.h"

namespace credbroker::testing {

FakeSiteProcess::FakeSiteProcess(const TempDir& dir, const FakeSiteOptions& options) {
  const std::string port_file = dir.File("fake-site.port");
  std::vector<std::string> argv = {BinaryPath("fake-shotgrid"),
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--port-file",
                                   port_file,
                                   "--auth-mode",
                                   options.auth_mode,
                                   "--token-lifetime",
                                   std::to_string(options.token_lifetime_seconds),
                                   "--quiet"};
  if (options.two_factor) argv.push_back("--two-factor");
  if (options.tls != nullptr) {
    https_ = true;
    argv.insert(argv.end(),
                {"--tls-cert", options.tls->cert_file, "--tls-key", options.tls->key_file});
  }
  process_ = std::make_unique<ChildProcess>(argv, std::vector<std::string>{},
                                            dir.File("fake-site.out"), dir.File("fake-site.err"));
  port_ = WaitForPortFile(port_file, *process_);
  if (port_ == 0) {
    throw std::runtime_error("fake-shotgrid did not start: " +
                             ReadFileOrEmpty(dir.File("fake-site.err")));
  }
  url_ = std::string(https_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

nlohmann::json FakeSiteProcess::Call(const std::string& method, const std::string& path,
                                     const nlohmann::json& body) {
  httplib::Client client(url_);
  client.enable_server_certificate_verification(false);
  client.set_read_timeout(10, 0);
  httplib::Result result =
      method == "GET"
          ? client.Get(path.c_str())
          : client.Post(path.c_str(), body.is_null() ? "{}" : body.dump(), "application/json");
  if (!result || result->status != 200) {
    throw std::runtime_error("fake site control call failed: " + method + " " + path);
  }
  return nlohmann::json::parse(result->body, nullptr, false);
}

nlohmann::json FakeSiteProcess::Stats() { return Call("GET", "/_fake/stats"); }

int FakeSiteProcess::Requests(const std::string& grant) {
  return Stats()["requests"].value(grant, -1);
}

void FakeSiteProcess::Reset() {
  Call("POST", "/_fake/reset");
  clock_offset_ = 0;
}

void FakeSiteProcess::SetFaults(const nlohmann::json& faults) {
  Call("POST", "/_fake/faults", faults);
}

void FakeSiteProcess::SetClockOffset(int seconds) {
  Call("POST", "/_fake/clock", {{"offset_seconds", seconds}});
  clock_offset_ = seconds;
}

void FakeSiteProcess::SetSettings(const nlohmann::json& settings) {
  Call("POST", "/_fake/settings", settings);
}

std::string FakeSiteProcess::CurrentCode(const std::string& base32_secret) {
  return shotgrid_totp::TotpCode(base32_secret,
                                 static_cast<int64_t>(std::time(nullptr)) + clock_offset_);
}

int FakeSiteProcess::ReadProjects(const std::string& access_token, std::string* body) {
  httplib::Client client(url_);
  client.enable_server_certificate_verification(false);
  httplib::Headers headers = {{"Authorization", "Bearer " + access_token}};
  httplib::Result result = client.Get("/api/v1/entity/projects", headers);
  if (!result) return 0;
  if (body != nullptr) *body = result->body;
  return result->status;
}

int FakeSiteProcess::PostStatus(const std::string& path, const std::string& body,
                                nlohmann::json* answer) {
  httplib::Client client(url_);
  client.enable_server_certificate_verification(false);
  client.set_read_timeout(10, 0);
  httplib::Result result = client.Post(path.c_str(), body, "application/json");
  if (!result) return 0;
  if (answer != nullptr) *answer = nlohmann::json::parse(result->body, nullptr, false);
  return result->status;
}

int FakeSiteProcess::Api3Calls(const std::string& key) {
  nlohmann::json api3 = Stats()["api3"];
  if (key.find('.') != std::string::npos) return api3["by_method_and_auth"].value(key, 0);
  return api3.value(key, -1);
}

int FakeSiteProcess::LauncherCount(const std::string& event) {
  return Stats()["launcher"].value(event, -1);
}

nlohmann::json FakeSiteProcess::AppSessionRequests() {
  return Call("GET", "/_fake/app_session_request")["requests"];
}

namespace {

// ".../app_session_request/<id>" or "<id>" -> "<id>".
std::string RequestId(const std::string& request) {
  auto slash = request.find_last_of('/');
  return slash == std::string::npos ? request : request.substr(slash + 1);
}

}  // namespace

bool FakeSiteProcess::ApproveAppSession(const std::string& request, const std::string& login) {
  nlohmann::json body = {{"approve_as", login}};
  return PostStatus("/_fake/app_session_request/" + RequestId(request), body.dump()) == 200;
}

bool FakeSiteProcess::RejectAppSession(const std::string& request) {
  nlohmann::json body = {{"reject", true}};
  return PostStatus("/_fake/app_session_request/" + RequestId(request), body.dump()) == 200;
}

bool FakeSiteProcess::FailAppSessionPolls(const std::string& request, int count, int status) {
  nlohmann::json body = {{"fail_polls", count}, {"status", status}};
  return PostStatus("/_fake/app_session_request/" + RequestId(request), body.dump()) == 200;
}

std::string FakeSiteProcess::MintSessionToken(const std::string& login) {
  return Call("POST", "/_fake/session_token", {{"login", login}}).value("session_token", "");
}

bool FakeSiteProcess::SessionTokenWorks(const std::string& session_token) {
  nlohmann::json auth = {{"session_token", session_token}, {"reject_if_expired", true}};
  nlohmann::json read = {{"type", "Project"}, {"return_fields", {"name"}}};
  nlohmann::json request = {{"method_name", "read"},
                            {"params", nlohmann::json::array({auth, read})}};
  nlohmann::json answer;
  if (PostStatus("/api3/json", request.dump(), &answer) != 200) return false;
  return answer.is_object() && answer.contains("results") && !answer.contains("exception");
}

}  // namespace credbroker::testing
