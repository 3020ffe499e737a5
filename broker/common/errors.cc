// Reasons travel as status payloads so they survive being passed through
// callbacks and layers unchanged.
#include "broker/common/errors.h"

#include <array>
#include <cstdlib>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace credbroker {
namespace {

constexpr char kReasonUrl[] = "type.credbroker/reason";
constexpr char kAttemptsLeftUrl[] = "type.credbroker/attempts_left";
constexpr char kRetryAfterUrl[] = "type.credbroker/retry_after_ms";
constexpr char kNotProcessedUrl[] = "type.credbroker/not_processed_by_site";

struct ReasonRow {
  Reason reason;
  absl::string_view name;
  absl::StatusCode code;
};

constexpr std::array<ReasonRow, 20> kReasons = {{
    {Reason::kInvalidRequest, "INVALID_REQUEST", absl::StatusCode::kInvalidArgument},
    {Reason::kUnknownSite, "UNKNOWN_SITE", absl::StatusCode::kNotFound},
    {Reason::kInvalidCredentials, "INVALID_CREDENTIALS", absl::StatusCode::kUnauthenticated},
    {Reason::kInvalidSecondFactor, "INVALID_SECOND_FACTOR", absl::StatusCode::kUnauthenticated},
    {Reason::kChallengeNotFound, "CHALLENGE_NOT_FOUND", absl::StatusCode::kFailedPrecondition},
    {Reason::kChallengeBusy, "CHALLENGE_BUSY", absl::StatusCode::kAborted},
    {Reason::kSsoRequired, "SSO_REQUIRED", absl::StatusCode::kFailedPrecondition},
    {Reason::kRefreshTokenInvalid, "REFRESH_TOKEN_INVALID", absl::StatusCode::kUnauthenticated},
    {Reason::kSessionNotFound, "SESSION_NOT_FOUND", absl::StatusCode::kNotFound},
    {Reason::kInvalidScriptKey, "INVALID_SCRIPT_KEY", absl::StatusCode::kUnauthenticated},
    {Reason::kCallerUnauthenticated, "CALLER_UNAUTHENTICATED", absl::StatusCode::kUnauthenticated},
    {Reason::kCallerNotAllowed, "CALLER_NOT_ALLOWED", absl::StatusCode::kPermissionDenied},
    {Reason::kTooManyAttempts, "TOO_MANY_ATTEMPTS", absl::StatusCode::kResourceExhausted},
    {Reason::kUpstreamUnavailable, "UPSTREAM_UNAVAILABLE", absl::StatusCode::kUnavailable},
    {Reason::kUpstreamProtocolError, "UPSTREAM_PROTOCOL_ERROR", absl::StatusCode::kUnavailable},
    {Reason::kStoreUnavailable, "STORE_UNAVAILABLE", absl::StatusCode::kUnavailable},
    {Reason::kNotImplemented, "NOT_IMPLEMENTED", absl::StatusCode::kUnimplemented},
    {Reason::kTooManyRequests, "TOO_MANY_REQUESTS", absl::StatusCode::kResourceExhausted},
    {Reason::kApprovalPending, "APPROVAL_PENDING", absl::StatusCode::kFailedPrecondition},
    {Reason::kSecondFactorRequired, "SECOND_FACTOR_REQUIRED",
     absl::StatusCode::kFailedPrecondition},
}};

const ReasonRow& RowOf(Reason reason) {
  for (const ReasonRow& row : kReasons) {
    if (row.reason == reason) return row;
  }
  std::abort();  // Every enumerator has a row; a missing one is a build-time slip.
}

}  // namespace

absl::string_view ReasonName(Reason reason) { return RowOf(reason).name; }
absl::StatusCode ReasonCode(Reason reason) { return RowOf(reason).code; }

absl::Status BrokerError(Reason reason, absl::string_view message) {
  const ReasonRow& row = RowOf(reason);
  absl::Status status(row.code, message);
  status.SetPayload(kReasonUrl, absl::Cord(row.name));
  return status;
}

absl::Status WithAttemptsLeft(absl::Status status, int attempts_left) {
  status.SetPayload(kAttemptsLeftUrl, absl::Cord(std::to_string(attempts_left)));
  return status;
}

absl::Status MarkedNotProcessedBySite(absl::Status status) {
  status.SetPayload(kNotProcessedUrl, absl::Cord("1"));
  return status;
}

bool NotProcessedBySite(const absl::Status& status) {
  return status.GetPayload(kNotProcessedUrl).has_value();
}

absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after) {
  if (retry_after < absl::ZeroDuration()) retry_after = absl::ZeroDuration();
  status.SetPayload(kRetryAfterUrl,
                    absl::Cord(std::to_string(absl::ToInt64Milliseconds(retry_after))));
  return status;
}

std::optional<Reason> ReasonOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kReasonUrl);
  if (!payload) return std::nullopt;
  const std::string name(*payload);
  for (const ReasonRow& row : kReasons) {
    if (row.name == name) return row.reason;
  }
  return std::nullopt;
}

bool HasReason(const absl::Status& status, Reason reason) { return ReasonOf(status) == reason; }

std::optional<int> AttemptsLeftOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kAttemptsLeftUrl);
  int value = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &value)) return std::nullopt;
  return value;
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kRetryAfterUrl);
  int64_t millis = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &millis)) return std::nullopt;
  return absl::Milliseconds(millis);
}

}  // namespace credbroker
