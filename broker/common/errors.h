// Broker errors: an absl::Status whose code and machine-readable reason come
// from the table in docs/api.md. Domain code builds them here; the API layer
// turns them into a grpc::Status with an ErrorDetail in one place.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace credbroker {

enum class Reason {
  kInvalidRequest,
  kUnknownSite,
  kInvalidCredentials,
  kInvalidSecondFactor,
  kChallengeNotFound,
  kChallengeBusy,
  kSsoRequired,
  kRefreshTokenInvalid,
  kSessionNotFound,
  kInvalidScriptKey,
  kCallerUnauthenticated,
  kCallerNotAllowed,
  kTooManyAttempts,
  kUpstreamUnavailable,
  kUpstreamProtocolError,
  kStoreUnavailable,
  kNotImplemented,
  // One caller has too many calls in flight at once.
  kTooManyRequests,
  // A browser-approved login not approved yet when the wait ended.
  kApprovalPending,
  // Internal only: the site asked for a second factor (code 106). The login
  // flow turns it into a challenge; it never reaches a caller.
  kSecondFactorRequired,
};

// The reason's name as callers see it, e.g. "INVALID_SECOND_FACTOR".
absl::string_view ReasonName(Reason reason);
// The status code every error with this reason carries.
absl::StatusCode ReasonCode(Reason reason);

// An error with `reason`'s code. `message` must be safe to show a person: no
// secrets, no internals.
absl::Status BrokerError(Reason reason, absl::string_view message);
absl::Status WithAttemptsLeft(absl::Status status, int attempts_left);
absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after);

// Marks a site error that the site cannot have counted against the person:
// the request never left the broker (connection or TLS failure, cancelled or
// refused while queued), or the site or its proxy answered 5xx or 429.
absl::Status MarkedNotProcessedBySite(absl::Status status);
bool NotProcessedBySite(const absl::Status& status);

std::optional<Reason> ReasonOf(const absl::Status& status);
bool HasReason(const absl::Status& status, Reason reason);
std::optional<int> AttemptsLeftOf(const absl::Status& status);
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

}  // namespace credbroker
