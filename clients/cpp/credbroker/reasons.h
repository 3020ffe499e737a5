// The reasons the broker puts in ErrorDetail (docs/api.md), as constants for
// BrokerError::Is() and reason() comparisons: a typo in a constant's name does
// not compile, a typo in a string literal silently never matches.
#pragma once

namespace credbroker::client::reason {

inline constexpr char kInvalidRequest[] = "INVALID_REQUEST";
inline constexpr char kUnknownSite[] = "UNKNOWN_SITE";
inline constexpr char kInvalidCredentials[] = "INVALID_CREDENTIALS";
inline constexpr char kInvalidSecondFactor[] = "INVALID_SECOND_FACTOR";
inline constexpr char kChallengeNotFound[] = "CHALLENGE_NOT_FOUND";
inline constexpr char kChallengeBusy[] = "CHALLENGE_BUSY";
// A browser login (CompleteBrowserLogin) not approved yet when its wait
// ended: ask again after retry_after, until the request's expire_time.
inline constexpr char kApprovalPending[] = "APPROVAL_PENDING";
inline constexpr char kSsoRequired[] = "SSO_REQUIRED";
inline constexpr char kRefreshTokenInvalid[] = "REFRESH_TOKEN_INVALID";
inline constexpr char kSessionNotFound[] = "SESSION_NOT_FOUND";
inline constexpr char kInvalidScriptKey[] = "INVALID_SCRIPT_KEY";
inline constexpr char kCallerUnauthenticated[] = "CALLER_UNAUTHENTICATED";
inline constexpr char kCallerNotAllowed[] = "CALLER_NOT_ALLOWED";
inline constexpr char kTooManyAttempts[] = "TOO_MANY_ATTEMPTS";
inline constexpr char kTooManyRequests[] = "TOO_MANY_REQUESTS";
inline constexpr char kUpstreamUnavailable[] = "UPSTREAM_UNAVAILABLE";
inline constexpr char kUpstreamProtocolError[] = "UPSTREAM_PROTOCOL_ERROR";
inline constexpr char kStoreUnavailable[] = "STORE_UNAVAILABLE";
inline constexpr char kNotImplemented[] = "NOT_IMPLEMENTED";
inline constexpr char kInternal[] = "INTERNAL";

}  // namespace credbroker::client::reason
