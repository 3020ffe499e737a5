// App session launcher state machine: pending -> approved | rejected, and gone after 180 s.
#include "launcher.h"

#include <algorithm>
#include <vector>

#include "random_id.h"

namespace fake_shotgrid {

namespace {

ApiReply Gone() { return {404, {{"message", "The request has been rejected or has expired."}}}; }

}  // namespace

ApiReply AppSessionLauncher::Create(const std::string& app_name, const std::string& machine_id,
                                    const std::string& site_url) {
  counters_.CountLauncher("create");
  if (app_name.empty() || machine_id.empty()) {
    return {400, {{"message", "appName and machineId are required"}}};
  }
  std::string id = RandomHex(16);
  {
    std::lock_guard<std::mutex> lock(mu_);
    Request r;
    r.app_name = app_name;
    r.machine_id = machine_id;
    r.created_at = settings_.Now();
    r.seq = next_seq_++;
    requests_[id] = std::move(r);
  }
  return {200, {{"sessionRequestId", id}, {"url", site_url + "/app_session_request/" + id}}};
}

AppSessionLauncher::Request* AppSessionLauncher::LiveLocked(const std::string& id, int64_t now) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return nullptr;
  if (it->second.created_at + kLauncherRequestLifetimeSeconds <= now) return nullptr;
  return &it->second;
}

ApiReply AppSessionLauncher::Poll(const std::string& id) {
  counters_.CountLauncher("poll");
  std::lock_guard<std::mutex> lock(mu_);
  Request* r = LiveLocked(id, settings_.Now());
  if (r == nullptr || r->state == State::kRejected) return Gone();
  if (r->fail_polls > 0) {
    --r->fail_polls;
    return {r->fail_status, {{"message", "Service temporarily unavailable"}}};
  }
  if (r->state == State::kPending) return {200, {{"approved", false}}};
  return {200,
          {{"approved", true}, {"sessionToken", r->session_token}, {"userLogin", r->user_login}}};
}

AppSessionLauncher::Decision AppSessionLauncher::Approve(const std::string& id,
                                                         const std::string& login) {
  const UserFixture* user = endpoint_.ActiveUser(login);
  {
    std::lock_guard<std::mutex> lock(mu_);
    Request* r = LiveLocked(id, settings_.Now());
    if (r == nullptr || r->state != State::kPending) return Decision::kUnknownRequest;
  }
  if (user == nullptr) return Decision::kUnknownUser;
  std::string token = endpoint_.MintSessionToken({"HumanUser", user->id, user->login});
  std::lock_guard<std::mutex> lock(mu_);
  Request* r = LiveLocked(id, settings_.Now());
  if (r == nullptr || r->state != State::kPending) return Decision::kUnknownRequest;
  r->state = State::kApproved;
  r->user_login = user->login;
  r->session_token = token;
  counters_.CountLauncher("approve");
  return Decision::kApproved;
}

AppSessionLauncher::Decision AppSessionLauncher::Reject(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Request* r = LiveLocked(id, settings_.Now());
  if (r == nullptr || r->state != State::kPending) return Decision::kUnknownRequest;
  r->state = State::kRejected;
  counters_.CountLauncher("reject");
  return Decision::kRejected;
}

bool AppSessionLauncher::FailPolls(const std::string& id, int count, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  Request* r = LiveLocked(id, settings_.Now());
  if (r == nullptr || r->state == State::kRejected) return false;
  r->fail_polls = count;
  r->fail_status = status;
  return true;
}

std::optional<std::pair<std::string, std::string>> AppSessionLauncher::Describe(
    const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second.state != State::kPending ||
      it->second.created_at + kLauncherRequestLifetimeSeconds <= settings_.Now()) {
    return std::nullopt;
  }
  return std::make_pair(it->second.app_name, it->second.machine_id);
}

nlohmann::json AppSessionLauncher::ToJson() const {
  const int64_t now = settings_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<int64_t, nlohmann::json>> rows;
  for (const auto& [id, r] : requests_) {
    const int64_t expires_at = r.created_at + kLauncherRequestLifetimeSeconds;
    const char* state = expires_at <= now             ? "expired"
                        : r.state == State::kApproved ? "approved"
                        : r.state == State::kRejected ? "rejected"
                                                      : "pending";
    nlohmann::json row = {
        {"id", id},       {"app_name", r.app_name},     {"machine_id", r.machine_id},
        {"state", state}, {"created_at", r.created_at}, {"expires_at", expires_at}};
    if (!r.user_login.empty()) row["user_login"] = r.user_login;
    rows.emplace_back(r.seq, std::move(row));
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json out = nlohmann::json::array();
  for (auto& row : rows) out.push_back(std::move(row.second));
  return out;
}

void AppSessionLauncher::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
}

}  // namespace fake_shotgrid
