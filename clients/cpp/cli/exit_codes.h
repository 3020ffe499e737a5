// The credbroker CLI's exit codes, one per thing a person does next, and the
// mapping from a broker error's reason (or gRPC code) to them.
#pragma once

#include <string>

#include "credbroker/broker_error.h"

namespace credbroker::cli {

enum ExitCode : int {
  kOk = 0,
  kOther = 1,                // anything else: INVALID_REQUEST, UNKNOWN_SITE, NOT_IMPLEMENTED, ...
  kUsage = 2,                // bad command line, unreadable file, missing input
  kInvalidCredentials = 3,   // INVALID_CREDENTIALS
  kSecondFactorFailed = 4,   // INVALID_SECOND_FACTOR with no attempts left
  kChallengeNotFound = 5,    // CHALLENGE_NOT_FOUND (expired, used up)
  kTooManyAttempts = 6,      // TOO_MANY_ATTEMPTS (retry_after printed)
  kUnavailable = 7,          // UPSTREAM_UNAVAILABLE, UPSTREAM_PROTOCOL_ERROR, STORE_UNAVAILABLE,
                             // broker unreachable or too slow (gRPC UNAVAILABLE/DEADLINE_EXCEEDED)
  kSsoRequired = 8,          // SSO_REQUIRED
  kRefreshTokenInvalid = 9,  // REFRESH_TOKEN_INVALID
  kInvalidScriptKey = 10,    // INVALID_SCRIPT_KEY
  kCallerRefused = 11,       // CALLER_UNAUTHENTICATED, CALLER_NOT_ALLOWED, other
                             // UNAUTHENTICATED / PERMISSION_DENIED
  kNotApproved = 12,         // login --browser: the sign-in was rejected in the browser
                             // (CHALLENGE_NOT_FOUND), or nobody approved it before the
                             // request expired or --wait ended (APPROVAL_PENDING)
  kInterrupted = 130,        // login --browser stopped with Ctrl-C (128 + SIGINT, as a shell
                             // reports a process that SIGINT ended)
};

// `browser_login`: the error ended a `login --browser`, whose request is
// the "challenge" of CHALLENGE_NOT_FOUND.
inline ExitCode ExitCodeFor(const client::BrokerError& error, bool browser_login = false) {
  const std::string& r = error.reason();
  if (browser_login && (r == "CHALLENGE_NOT_FOUND" || r == "APPROVAL_PENDING")) {
    return kNotApproved;
  }
  if (r == "INVALID_CREDENTIALS") return kInvalidCredentials;
  if (r == "INVALID_SECOND_FACTOR") return kSecondFactorFailed;
  if (r == "CHALLENGE_NOT_FOUND") return kChallengeNotFound;
  if (r == "TOO_MANY_ATTEMPTS") return kTooManyAttempts;
  if (r == "SSO_REQUIRED") return kSsoRequired;
  if (r == "REFRESH_TOKEN_INVALID") return kRefreshTokenInvalid;
  if (r == "INVALID_SCRIPT_KEY") return kInvalidScriptKey;
  if (r == "CALLER_UNAUTHENTICATED" || r == "CALLER_NOT_ALLOWED") return kCallerRefused;
  switch (error.code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kUnavailable;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kCallerRefused;
    default:
      return kOther;
  }
}

}  // namespace credbroker::cli
