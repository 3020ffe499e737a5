// Error bodies are untrusted: anything that is not the documented envelope is
// a protocol error, never a crash.
#include "broker/upstream/site_answer.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"

namespace credbroker {
namespace {

using nlohmann::json;

std::optional<absl::Duration> ParseRetryAfter(absl::string_view header) {
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(header), &seconds) || seconds < 0) {
    return std::nullopt;
  }
  return absl::Seconds(std::min<int64_t>(seconds, 3600));
}

absl::Status MapCredentialsRefused(const SiteError& error, const AnswerContext& context) {
  if (absl::StartsWith(error.title, "Cannot 'sudo'")) {
    return BrokerError(Reason::kCallerNotAllowed,
                       "the ShotGrid site refused to act as the requested sudo_as_login user");
  }
  if (absl::StartsWith(error.title, "Missing or invalid authentication arguments")) {
    return SiteProtocolError("it says the request lacked arguments");
  }
  switch (context.grant) {
    case GrantType::kPassword:
      return context.sent_second_factor
                 ? BrokerError(Reason::kInvalidSecondFactor,
                               "the two-factor code is wrong or was already used")
                 : BrokerError(Reason::kInvalidCredentials, "wrong username or password");
    case GrantType::kClientCredentials:
      return BrokerError(Reason::kInvalidScriptKey, "wrong script name or script key");
    case GrantType::kSessionToken:
      return BrokerError(Reason::kInvalidCredentials,
                         "the session token was refused (expired or unknown); log in again");
    case GrantType::kRefreshToken:
      break;
  }
  return BrokerError(Reason::kRefreshTokenInvalid,
                     "the refresh token was refused (spent, expired or unknown); log in again");
}

}  // namespace

absl::Status SiteProtocolError(absl::string_view what) {
  return BrokerError(
      Reason::kUpstreamProtocolError,
      absl::StrCat("the ShotGrid site answered something the broker cannot use (", what, ")"));
}

absl::Status SiteUnavailable(const SiteAnswer& answer) {
  // A 5xx or 429 is a refusal in front of the login check: nothing counted.
  absl::Status status = MarkedNotProcessedBySite(BrokerError(
      Reason::kUpstreamUnavailable,
      absl::StrCat("the ShotGrid site is unavailable (HTTP ", answer.http_status, "); try again")));
  if (std::optional<absl::Duration> retry = ParseRetryAfter(answer.retry_after)) {
    status = WithRetryAfter(std::move(status), *retry);
  }
  return status;
}

absl::Status SiteRefusesPasswords() {
  return BrokerError(Reason::kSsoRequired,
                     "this site signs people in through SSO or Autodesk Identity; password login "
                     "is not allowed there; use a browser-approved login");
}

bool IsUnavailableStatus(long http_status) {
  return http_status == 429 || (http_status >= 500 && http_status <= 599);
}

absl::StatusOr<SiteError> ParseSiteError(absl::string_view body) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError("not a JSON object");
  const auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_array() || errors->empty() || !(*errors)[0].is_object()) {
    return absl::InvalidArgumentError("no errors array");
  }
  const json& first = (*errors)[0];
  SiteError out;
  // Read as 64-bit and range-checked: narrowing 4294967398 to int would
  // turn it into 102 and count a failure against the person.
  const auto code = first.find("code");
  if (code == first.end() || !code->is_number_integer() || code->get<int64_t>() < 0 ||
      code->get<int64_t>() > 99999) {
    return absl::InvalidArgumentError("error without a plausible numeric code");
  }
  out.code = static_cast<int>(code->get<int64_t>());
  if (const auto status = first.find("status");
      status != first.end() && status->is_number_integer() && status->get<int64_t>() >= 100 &&
      status->get<int64_t>() <= 599) {
    out.status = static_cast<int>(status->get<int64_t>());
  }
  if (const auto title = first.find("title"); title != first.end() && title->is_string()) {
    out.title = title->get<std::string>();
  }
  return out;
}

absl::StatusOr<TokenGrant> ParseTokenGrant(absl::string_view body) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError("not a JSON object");
  TokenGrant grant;
  const auto access = doc.find("access_token");
  if (access == doc.end() || !access->is_string() ||
      access->get_ref<const std::string&>().empty()) {
    return absl::InvalidArgumentError("no access_token");
  }
  grant.access_token = access->get<std::string>();
  const auto expires = doc.find("expires_in");
  if (expires == doc.end() || !expires->is_number() || expires->get<double>() <= 0 ||
      expires->get<double>() > 366.0 * 24 * 3600) {
    return absl::InvalidArgumentError("no usable expires_in");
  }
  grant.expires_in = absl::Seconds(expires->get<double>());
  grant.token_type = "Bearer";
  if (const auto type = doc.find("token_type"); type != doc.end()) {
    if (!type->is_string() || !absl::EqualsIgnoreCase(type->get<std::string>(), "bearer")) {
      return absl::InvalidArgumentError("token_type is not Bearer");
    }
  }
  if (const auto refresh = doc.find("refresh_token"); refresh != doc.end() && !refresh->is_null()) {
    if (!refresh->is_string()) return absl::InvalidArgumentError("refresh_token is not a string");
    grant.refresh_token = refresh->get<std::string>();
  }
  return grant;
}

absl::StatusOr<TokenGrant> MapSiteAnswer(const SiteAnswer& answer, const AnswerContext& context) {
  const long http = answer.http_status;
  if (http == 200) {
    absl::StatusOr<TokenGrant> grant = ParseTokenGrant(answer.body);
    if (!grant.ok()) return SiteProtocolError(grant.status().message());
    return grant;
  }
  if (IsUnavailableStatus(http)) return SiteUnavailable(answer);
  if (http < 400 || http > 499) return SiteProtocolError(absl::StrCat("HTTP ", http));

  absl::StatusOr<SiteError> error = ParseSiteError(answer.body);
  if (!error.ok()) {
    return SiteProtocolError(absl::StrCat("HTTP ", http, " without an error envelope"));
  }
  // Spent or unknown tokens come back as 401 or 102.
  if ((context.grant == GrantType::kRefreshToken || context.grant == GrantType::kSessionToken) &&
      (http == 401 || error->code == kSiteCodeBadCredentials)) {
    return MapCredentialsRefused(*error, context);
  }
  switch (error->code) {
    case kSiteCodeSecondFactor:
      if (context.grant == GrantType::kPassword && !context.sent_second_factor) {
        return BrokerError(Reason::kSecondFactorRequired, "the site asks for a two-factor code");
      }
      // A 106 to a request that carried a code: the code was not accepted.
      if (context.grant == GrantType::kPassword) {
        return BrokerError(Reason::kInvalidSecondFactor,
                           "the two-factor code is wrong or was already used");
      }
      return SiteProtocolError("it asked for a two-factor code that was already sent");
    case kSiteCodeSsoSite:
    case kSiteCodeIdentitySite:
      return SiteRefusesPasswords();
    case kSiteCodeBadCredentials:
      if (http == 400) return MapCredentialsRefused(*error, context);
      break;
    case kSiteCodeBadRequest:
      return SiteProtocolError(absl::StrCat("it refused the request as malformed, HTTP ", http));
    default:
      break;
  }
  return SiteProtocolError(absl::StrCat("HTTP ", http, " with error code ", error->code));
}

}  // namespace credbroker
