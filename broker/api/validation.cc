// Limits follow docs/api.md: names and ids up to 256 bytes, passwords up to
// 1,024, codes 1-64 printable ASCII characters without spaces (TOTP digits or
// backup codes such as 7391-5520); usernames without leading or trailing
// spaces, sudo_as_login a single login name.
#include "broker/api/validation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "broker/common/errors.h"
#include "broker/common/status_macros.h"
#include "broker/login/browser_login_record.h"
#include "broker/login/challenge.h"

namespace credbroker {
namespace {

constexpr std::size_t kMaxName = kMaxNameBytes;
constexpr std::size_t kMaxPassword = 1024;
constexpr std::size_t kMaxCode = 64;
constexpr std::size_t kMaxSecretToken = 4096;
constexpr std::size_t kMaxUserAgent = kMaxUserAgentBytes;

absl::Status Invalid(absl::string_view message) {
  return BrokerError(Reason::kInvalidRequest, message);
}

bool HasControlCharacter(absl::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool IsPrintableAsciiWithoutSpace(absl::string_view value) {
  for (unsigned char c : value) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// A name or id: optional unless `required`, at most 256 bytes, no control
// characters (they would forge lines in logs).
absl::Status CheckName(absl::string_view field, absl::string_view value, bool required) {
  if (value.empty()) {
    return required ? Invalid(absl::StrCat(field, " is required")) : absl::OkStatus();
  }
  if (value.size() > kMaxName) {
    return Invalid(absl::StrCat(field, " is longer than ", kMaxName, " bytes"));
  }
  if (HasControlCharacter(value))
    return Invalid(absl::StrCat(field, " contains control characters"));
  return absl::OkStatus();
}

// A username is a name that also carries no leading or trailing space: the
// site would trim or refuse it, and a budget counted per username must not be
// split across " ana" and "ana".
absl::Status CheckUsername(absl::string_view username) {
  RETURN_IF_ERROR(CheckName("username", username, true));
  if (username.front() == ' ' || username.back() == ' ') {
    return Invalid("username must not start or end with a space");
  }
  return absl::OkStatus();
}

// sudo_as_login ends up in the grant's scope ("sudo_as_login:NAME"), so it
// must be a single login name: no spaces, no ':'.
absl::Status CheckSudoAsLogin(absl::string_view login) {
  RETURN_IF_ERROR(CheckName("sudo_as_login", login, false));
  if (login.find_first_of(" :") != absl::string_view::npos) {
    return Invalid("sudo_as_login must be a login name, without spaces or ':'");
  }
  return absl::OkStatus();
}

absl::Status CheckPassword(absl::string_view password) {
  if (password.empty()) return Invalid("password is required");
  if (password.size() > kMaxPassword) {
    return Invalid(absl::StrCat("password is longer than ", kMaxPassword, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckCode(absl::string_view field, absl::string_view code, bool required) {
  if (code.empty() && !required) return absl::OkStatus();
  if (code.empty() || code.size() > kMaxCode || !IsPrintableAsciiWithoutSpace(code)) {
    return Invalid(absl::StrCat(field, " must be 1 to ", kMaxCode,
                                " printable ASCII characters without spaces"));
  }
  return absl::OkStatus();
}

// Refresh tokens and script keys: opaque, printable ASCII, bounded.
absl::Status CheckOpaqueSecret(absl::string_view field, absl::string_view value, bool required) {
  if (value.empty()) {
    return required ? Invalid(absl::StrCat(field, " is required")) : absl::OkStatus();
  }
  if (value.size() > kMaxSecretToken || !IsPrintableAsciiWithoutSpace(value)) {
    return Invalid(absl::StrCat(field, " must be at most ", kMaxSecretToken,
                                " printable ASCII characters without spaces"));
  }
  return absl::OkStatus();
}

absl::Status CheckClient(const v1::ClientInfo& client) {
  if (absl::Status s = CheckName("client.address", client.address(), false); !s.ok()) return s;
  if (client.user_agent().size() > kMaxUserAgent || HasControlCharacter(client.user_agent())) {
    return Invalid(absl::StrCat("client.user_agent must be at most ", kMaxUserAgent,
                                " bytes without control characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckChallengeId(absl::string_view id) {
  if (id.empty()) return Invalid("challenge_id is required");
  if (!IsWellFormedChallengeId(id)) {
    return Invalid(
        "challenge_id is malformed: it must be the 64 hex characters BeginLogin returned");
  }
  return absl::OkStatus();
}

// A known CredentialKind; a session token is the caller's to hold, never the
// broker's (it has no refresh token for the broker to keep).
absl::Status CheckKind(int kind, int custody) {
  if (!v1::CredentialKind_IsValid(kind)) {
    return Invalid(absl::StrCat("kind ", kind, " is not a known CredentialKind"));
  }
  if (kind == v1::CREDENTIAL_KIND_SESSION_TOKEN && custody == v1::TOKEN_CUSTODY_BROKER) {
    return Invalid(
        "kind CREDENTIAL_KIND_SESSION_TOKEN is held by the caller only: use "
        "TOKEN_CUSTODY_CALLER, or CREDENTIAL_KIND_REST with TOKEN_CUSTODY_BROKER");
  }
  return absl::OkStatus();
}

absl::Status CheckCustody(int custody) {
  if (!v1::TokenCustody_IsValid(custody)) {
    return Invalid(absl::StrCat("custody ", custody, " is not a known TokenCustody"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBeginLogin(const v1::BeginLoginRequest& request) {
  RETURN_IF_ERROR(CheckName("site", request.site(), false));
  RETURN_IF_ERROR(CheckUsername(request.username()));
  RETURN_IF_ERROR(CheckPassword(request.password()));
  RETURN_IF_ERROR(CheckCode("second_factor_code", request.second_factor_code(), false));
  RETURN_IF_ERROR(CheckCustody(request.custody()));
  RETURN_IF_ERROR(CheckKind(request.kind(), request.custody()));
  return CheckClient(request.client());
}

absl::Status ValidateSubmitSecondFactor(const v1::SubmitSecondFactorRequest& request) {
  RETURN_IF_ERROR(CheckChallengeId(request.challenge_id()));
  RETURN_IF_ERROR(CheckCode("code", request.code(), true));
  return CheckClient(request.client());
}

absl::Status ValidateRefreshSession(const v1::RefreshSessionRequest& request) {
  RETURN_IF_ERROR(CheckName("site", request.site(), false));
  switch (request.session_case()) {
    case v1::RefreshSessionRequest::kRefreshToken:
      return CheckOpaqueSecret("refresh_token", request.refresh_token(), true);
    case v1::RefreshSessionRequest::kSessionId:
      return CheckName("session_id", request.session_id(), true);
    case v1::RefreshSessionRequest::SESSION_NOT_SET:
      break;
  }
  return Invalid("refresh_token or session_id is required");
}

absl::Status ValidateIssueScriptSession(const v1::IssueScriptSessionRequest& request) {
  RETURN_IF_ERROR(CheckName("site", request.site(), false));
  RETURN_IF_ERROR(CheckName("script_name", request.script_name(), true));
  RETURN_IF_ERROR(CheckOpaqueSecret("script_key", request.script_key(), false));
  RETURN_IF_ERROR(CheckSudoAsLogin(request.sudo_as_login()));
  RETURN_IF_ERROR(CheckKind(request.kind(), v1::TOKEN_CUSTODY_CALLER));
  if (request.kind() == v1::CREDENTIAL_KIND_SESSION_TOKEN && !request.sudo_as_login().empty()) {
    return Invalid(
        "sudo_as_login cannot be given with kind CREDENTIAL_KIND_SESSION_TOKEN: a session token "
        "acts as its script; pass sudo_as_login to shotgun_api3 itself");
  }
  return CheckOpaqueSecret("rejected_token", request.rejected_token(), false);
}

absl::Status ValidateGetAccessToken(const v1::GetAccessTokenRequest& request) {
  RETURN_IF_ERROR(CheckName("session_id", request.session_id(), true));
  if (request.min_validity().seconds() < 0 || request.min_validity().nanos() < 0 ||
      request.min_validity().seconds() > 24 * 3600) {
    return Invalid("min_validity must be between 0 and 24 hours");
  }
  return absl::OkStatus();
}

absl::Status ValidateRevokeSession(const v1::RevokeSessionRequest& request) {
  RETURN_IF_ERROR(CheckName("site", request.site(), false));
  switch (request.session_case()) {
    case v1::RevokeSessionRequest::kRefreshToken:
      return CheckOpaqueSecret("refresh_token", request.refresh_token(), true);
    case v1::RevokeSessionRequest::kSessionId:
      return CheckName("session_id", request.session_id(), true);
    case v1::RevokeSessionRequest::SESSION_NOT_SET:
      break;
  }
  return Invalid("session_id or refresh_token is required");
}

}  // namespace credbroker

namespace credbroker {

absl::Status ValidateExchangeSessionToken(const v1::ExchangeSessionTokenRequest& request) {
  RETURN_IF_ERROR(CheckName("site", request.site(), false));
  RETURN_IF_ERROR(CheckOpaqueSecret("session_token", request.session_token(), true));
  return CheckCustody(request.custody());
}

absl::Status ValidateBeginBrowserLogin(const v1::BeginBrowserLoginRequest& request) {
  RETURN_IF_ERROR(CheckName("site", request.site(), false));
  RETURN_IF_ERROR(CheckName("app_name", request.app_name(), false));
  RETURN_IF_ERROR(CheckName("machine_id", request.machine_id(), false));
  RETURN_IF_ERROR(CheckCustody(request.custody()));
  return CheckKind(request.kind(), request.custody());
}

absl::Status ValidateCompleteBrowserLogin(const v1::CompleteBrowserLoginRequest& request) {
  if (request.request_id().empty()) return Invalid("request_id is required");
  if (!IsWellFormedBrowserLoginId(request.request_id())) {
    return Invalid(
        "request_id is malformed: it must be the 64 hex characters BeginBrowserLogin returned");
  }
  if (request.has_wait()) {
    const google::protobuf::Duration& wait = request.wait();
    if (wait.seconds() < 0 || wait.nanos() < 0 || wait.nanos() > 999'999'999 ||
        wait.seconds() > kMaxBrowserLoginWaitSeconds ||
        (wait.seconds() == kMaxBrowserLoginWaitSeconds && wait.nanos() > 0)) {
      return Invalid(
          absl::StrCat("wait must be between 0 and ", kMaxBrowserLoginWaitSeconds, " seconds"));
    }
  }
  return absl::OkStatus();
}

}  // namespace credbroker
