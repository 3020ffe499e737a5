// Faults come as HTTP 200 with {"exception": true, "error_code": N}; any other
// shape is a protocol error. Bodies are untrusted: nothing here throws.
#include "broker/upstream/api3_answer.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"

namespace credbroker {
namespace {

using nlohmann::json;

// Far beyond any real session token; a longer one is not a token.
constexpr std::size_t kMaxSessionTokenBytes = 4096;

absl::Status MapFault(int code, absl::string_view message, const AnswerContext& context) {
  const bool person = context.grant == GrantType::kPassword;
  switch (code) {
    case kSiteCodeBadCredentials:
      if (absl::StartsWith(message, "Missing or invalid authentication arguments")) {
        return SiteProtocolError("it says the request lacked arguments");
      }
      return person ? BrokerError(Reason::kInvalidCredentials, "wrong username or password")
                    : BrokerError(Reason::kInvalidScriptKey, "wrong script name or script key");
    case kSiteCodeSecondFactor:
      if (!person) return SiteProtocolError("it asked a script for a two-factor code");
      return context.sent_second_factor
                 ? BrokerError(Reason::kInvalidSecondFactor,
                               "the two-factor code is wrong or was already used")
                 : BrokerError(Reason::kSecondFactorRequired,
                               "the site asks for a two-factor code");
    case kSiteCodeSsoSite:
    case kSiteCodeIdentitySite:
      return SiteRefusesPasswords();
    default:
      return SiteProtocolError(absl::StrCat("/api3/json fault ", code));
  }
}

}  // namespace

std::string EncodeGetSessionToken(const TokenRequest& request) {
  json auth = json::object();
  if (request.grant == GrantType::kClientCredentials) {
    auth["script_name"] = request.script_name;
    auth["script_key"] = request.script_key;
  } else {
    auth["user_login"] = request.username;
    auth["user_password"] = request.password;
    if (!request.auth_token.empty()) auth["auth_token"] = request.auth_token;
  }
  if (!request.session_uuid.empty()) auth["session_uuid"] = request.session_uuid;
  json body = {{"method_name", "get_session_token"}, {"params", json::array({auth})}};
  // Strings the caller sent may hold invalid UTF-8: replaced, never thrown on.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<TokenGrant> MapApi3Answer(const SiteAnswer& answer, const AnswerContext& context) {
  if (IsUnavailableStatus(answer.http_status)) return SiteUnavailable(answer);
  if (answer.http_status != 200) {
    return SiteProtocolError(absl::StrCat("/api3/json answered HTTP ", answer.http_status));
  }
  const json doc = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return SiteProtocolError("/api3/json answered no JSON object");
  if (const auto fault = doc.find("exception");
      fault != doc.end() && fault->is_boolean() && fault->get<bool>()) {
    const auto code = doc.find("error_code");
    if (code == doc.end() || !code->is_number_integer() || code->get<int64_t>() < 0 ||
        code->get<int64_t>() > 99999) {
      return SiteProtocolError("a fault without a plausible error code");
    }
    const auto message = doc.find("message");
    return MapFault(static_cast<int>(code->get<int64_t>()),
                    message != doc.end() && message->is_string()
                        ? absl::string_view(message->get_ref<const std::string&>())
                        : absl::string_view(),
                    context);
  }
  const auto results = doc.find("results");
  if (results == doc.end() || !results->is_object()) {
    return SiteProtocolError("get_session_token answered no results");
  }
  const auto session = results->find("session_id");
  if (session == results->end() || !session->is_string() ||
      session->get_ref<const std::string&>().empty() ||
      session->get_ref<const std::string&>().size() > kMaxSessionTokenBytes) {
    return SiteProtocolError("get_session_token answered no usable session_id");
  }
  TokenGrant grant;
  grant.session_token = session->get<std::string>();
  return grant;
}

}  // namespace credbroker
