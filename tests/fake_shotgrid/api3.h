// The logic of POST /api3/json, the RPC door shotgun_api3 and Toolkit use, independent of HTTP:
// info, get_session_token and a read of projects, with user, script and session-token AUTH, per
// shotgrid-auth.md ("The other door"). Credentials, 2FA codes, lockouts and session tokens are the
// token endpoint's, so both doors see the same site.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "counters.h"
#include "errors.h"
#include "settings.h"
#include "token_endpoint.h"

namespace fake_shotgrid {

// The version info reports; shotgun_api3 reads the first three numbers and enables features by
// them (8.0.0 turns on paging without counts, session tokens and sudo_as_login).
inline constexpr int kApi3Version[3] = {8, 0, 0};

class Api3 {
 public:
  Api3(TokenEndpoint& endpoint, SettingsStore& settings, Counters& counters)
      : endpoint_(endpoint), settings_(settings), counters_(counters) {}

  // Answers one request body. Like a real site, failures are HTTP 200 with
  // {"exception":true,"error_code":N,"message":...}; shotgun_api3 treats any status >= 300 as a
  // transport error and never reads the body.
  ApiReply Handle(const std::string& body);

 private:
  struct Caller {
    std::string kind;  // user, script, session_token or invalid
    SessionHolder holder;
  };

  // Checks AUTH; on failure fills *error with the exception answer.
  bool Authenticate(const nlohmann::json& auth, Caller* caller, ApiReply* error);
  ApiReply Info() const;
  ApiReply Read(const nlohmann::json& params) const;

  TokenEndpoint& endpoint_;
  SettingsStore& settings_;
  Counters& counters_;
};

// {"exception":true,"error_code":code,"message":message} with HTTP 200.
ApiReply Api3Error(int code, const std::string& message);

}  // namespace fake_shotgrid
