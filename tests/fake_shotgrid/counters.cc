// One mutex for all counters: cheap at this scale and keeps every snapshot self-consistent.
#include "counters.h"

#include <algorithm>

namespace fake_shotgrid {

void Counters::BeginTokenRequest(const std::string& grant_type) {
  std::lock_guard<std::mutex> lock(mu_);
  if (grant_type == "password")
    ++password_;
  else if (grant_type == "client_credentials")
    ++client_credentials_;
  else if (grant_type == "refresh_token" || grant_type == "refresh")
    ++refresh_token_;
  else if (grant_type == "session_token")
    ++session_token_;
  else
    ++other_;
  ++in_flight_;
  max_in_flight_ = std::max(max_in_flight_, in_flight_);
}

void Counters::EndTokenRequest() {
  std::lock_guard<std::mutex> lock(mu_);
  --in_flight_;
}

void Counters::CountEntityRead() {
  std::lock_guard<std::mutex> lock(mu_);
  ++entity_reads_;
}

namespace {

const char* const kApi3Methods[] = {"info", "get_session_token", "read", "other"};
const char* const kApi3Auth[] = {"none", "user", "script", "session_token", "invalid"};
const char* const kLauncherEvents[] = {"create", "poll", "approve", "reject"};

template <size_t N>
nlohmann::json FixedKeys(const char* const (&keys)[N], const std::map<std::string, int64_t>& m) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* k : keys) {
    auto it = m.find(k);
    out[k] = it == m.end() ? 0 : it->second;
  }
  return out;
}

}  // namespace

void Counters::CountApi3(const std::string& method, const std::string& auth) {
  std::lock_guard<std::mutex> lock(mu_);
  bool known = false;
  for (const char* m : kApi3Methods) known = known || method == m;
  const std::string name = known ? method : "other";
  ++api3_methods_[name];
  ++api3_auth_[auth];
  ++api3_pairs_[name + "." + auth];
}

void Counters::CountLauncher(const std::string& event) {
  std::lock_guard<std::mutex> lock(mu_);
  ++launcher_[event];
}

void Counters::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  password_ = client_credentials_ = refresh_token_ = session_token_ = other_ = 0;
  entity_reads_ = 0;
  api3_methods_.clear();
  api3_auth_.clear();
  api3_pairs_.clear();
  launcher_.clear();
  max_in_flight_ = in_flight_;
}

nlohmann::json Counters::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"requests",
           {{"password", password_},
            {"client_credentials", client_credentials_},
            {"refresh_token", refresh_token_},
            {"session_token", session_token_},
            {"other", other_}}},
          {"entity_reads", entity_reads_},
          {"in_flight", in_flight_},
          {"max_in_flight", max_in_flight_},
          {"api3",
           [&] {
             nlohmann::json api3 = FixedKeys(kApi3Methods, api3_methods_);
             api3["by_auth"] = FixedKeys(kApi3Auth, api3_auth_);
             api3["by_method_and_auth"] = nlohmann::json(api3_pairs_);
             return api3;
           }()},
          {"launcher", FixedKeys(kLauncherEvents, launcher_)}};
}

}  // namespace fake_shotgrid
