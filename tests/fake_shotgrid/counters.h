// Exact request counters the tests assert on ("exactly one call reached the site"), plus the
// in-flight gauge the load test uses to prove requests were served in parallel.
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace fake_shotgrid {

class Counters {
 public:
  // Counts a token-endpoint POST by grant_type at arrival and marks it in flight.
  void BeginTokenRequest(const std::string& grant_type);
  void EndTokenRequest();
  void CountEntityRead();

  // Zeroes counts; in_flight stays (it is a live gauge) and max_in_flight restarts from it.
  void Reset();
  // {"requests":{...},"entity_reads":N,"in_flight":N,"max_in_flight":N}
  nlohmann::json ToJson() const;

 private:
  mutable std::mutex mu_;
  int64_t password_ = 0, client_credentials_ = 0, refresh_token_ = 0, session_token_ = 0,
          other_ = 0;
  int64_t entity_reads_ = 0;
  int64_t in_flight_ = 0, max_in_flight_ = 0;
};

// RAII for BeginTokenRequest/EndTokenRequest so every exit path leaves the gauge right.
class InFlightGuard {
 public:
  InFlightGuard(Counters& counters, const std::string& grant_type) : counters_(counters) {
    counters_.BeginTokenRequest(grant_type);
  }
  ~InFlightGuard() { counters_.EndTokenRequest(); }
  InFlightGuard(const InFlightGuard&) = delete;
  InFlightGuard& operator=(const InFlightGuard&) = delete;

 private:
  Counters& counters_;
};

}  // namespace fake_shotgrid
