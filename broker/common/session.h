// The domain's view of a session handed to a caller, before it becomes a
// credbroker.v1.Session.
#pragma once

#include <string>

#include "absl/time/time.h"

namespace credbroker {

struct Principal {
  std::string user_login;
  std::string script_name;
  std::string sudo_as_login;
};

struct SessionInfo {
  std::string access_token;
  std::string token_type = "Bearer";
  // Of the access token; a session token has none.
  absl::Time expire_time;
  // Instead of the REST tokens, for the clients of /api3/json.
  std::string session_token;
  // Only for a person's login with caller custody.
  std::string refresh_token;
  // Only with broker custody.
  std::string session_id;
  Principal principal;
  std::string site;
};

struct ChallengeInfo {
  std::string challenge_id;
  absl::Time expire_time;
  int attempts_left = 0;
};

// A login ends in a session or in a second-factor challenge.
struct LoginOutcome {
  bool has_session = false;
  SessionInfo session;
  ChallengeInfo challenge;
};

}  // namespace credbroker
