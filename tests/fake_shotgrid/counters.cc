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

void Counters::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  password_ = client_credentials_ = refresh_token_ = session_token_ = other_ = 0;
  entity_reads_ = 0;
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
          {"max_in_flight", max_in_flight_}};
}

}  // namespace fake_shotgrid
