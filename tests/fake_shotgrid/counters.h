// Exact request counters the tests assert on ("exactly one call reached the site"), plus the
// in-flight gauge the load test uses to prove requests were served in parallel.
#pragma once

#include <cstdint>
#include <map>
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
  // One /api3/json call: method is info, get_session_token, read or other; auth is none, user,
  // script, session_token or invalid.
  void CountApi3(const std::string& method, const std::string& auth);
  // One app session launcher event: create, poll, approve or reject.
  void CountLauncher(const std::string& event);

  // Zeroes counts; in_flight stays (it is a live gauge) and max_in_flight restarts from it.
  void Reset();
  // {"requests":{...},"entity_reads":N,"in_flight":N,"max_in_flight":N,
  //  "api3":{"info":N,"get_session_token":N,"read":N,"other":N,
  //          "by_auth":{"none":N,"user":N,"script":N,"session_token":N,"invalid":N},
  //          "by_method_and_auth":{"get_session_token.user":N,...}},
  //  "launcher":{"create":N,"poll":N,"approve":N,"reject":N}}
  // Every fixed key is always present; by_method_and_auth lists only pairs seen.
  nlohmann::json ToJson() const;

 private:
  mutable std::mutex mu_;
  int64_t password_ = 0, client_credentials_ = 0, refresh_token_ = 0, session_token_ = 0,
          other_ = 0;
  int64_t entity_reads_ = 0;
  int64_t in_flight_ = 0, max_in_flight_ = 0;
  std::map<std::string, int64_t> api3_methods_, api3_auth_, api3_pairs_, launcher_;
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
