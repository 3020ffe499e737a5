// Reads a token endpoint's answer, exactly as shotgrid-auth.md describes it,
// and maps it to a grant or to a broker error. This is the one place where the
// site's HTTP statuses and error codes become reasons.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

// The site's error codes, on both doors (REST error envelopes and /api3/json
// faults), per shotgrid-auth.md.
inline constexpr int kSiteCodeBadCredentials = 102;
inline constexpr int kSiteCodeBadRequest = 103;
inline constexpr int kSiteCodeSecondFactor = 106;
inline constexpr int kSiteCodeSsoSite = 108;
inline constexpr int kSiteCodeIdentitySite = 110;

// What the broker asked for, which decides how a code 102 reads.
struct AnswerContext {
  GrantType grant = GrantType::kPassword;
  // A password grant that carried auth_token: a 102 means a wrong code.
  bool sent_second_factor = false;
};

// One HTTP answer as it came off the wire.
struct SiteAnswer {
  long http_status = 0;
  std::string content_type;
  std::string body;
  // The Retry-After header, if any (seconds; HTTP dates are ignored).
  std::string retry_after;
};

// The first error of a JSON:API error envelope.
struct SiteError {
  int status = 0;
  int code = 0;
  std::string title;
};

// UPSTREAM_PROTOCOL_ERROR saying what was unusable in the site's answer.
absl::Status SiteProtocolError(absl::string_view what);
// UPSTREAM_UNAVAILABLE for a 5xx or 429, with the answer's Retry-After.
absl::Status SiteUnavailable(const SiteAnswer& answer);
// SSO_REQUIRED: the site refuses passwords (codes 108 and 110).
absl::Status SiteRefusesPasswords();
// Whether the site or a proxy in front of it refused for load or outage.
bool IsUnavailableStatus(long http_status);

// Parses an error envelope; fails when `body` is not one.
absl::StatusOr<SiteError> ParseSiteError(absl::string_view body);
// Parses a success body; fails when a required field is missing or malformed.
absl::StatusOr<TokenGrant> ParseTokenGrant(absl::string_view body);

// The grant, or the error with the reason from docs/api.md.
absl::StatusOr<TokenGrant> MapSiteAnswer(const SiteAnswer& answer, const AnswerContext& context);

}  // namespace credbroker
