// Fuzzes request validation (broker/api/validation.cc), the first thing every
// call meets. Input: one byte choosing the request message (its value modulo
// 9: BeginLogin, SubmitSecondFactor, RefreshSession, IssueScriptSession,
// GetAccessToken, RevokeSession, ExchangeSessionToken, BeginBrowserLogin,
// CompleteBrowserLogin), then that message in protobuf wire format.
// Bytes that do not parse as the message are skipped, as gRPC would refuse
// them before a handler runs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/api/validation.h"
#include "broker/common/errors.h"
#include "credbroker/v1/broker.pb.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using credbroker::kMaxNameBytes;

bool HasControlCharacter(absl::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// What an accepted name promises the code after validation.
void CheckAcceptedName(absl::string_view value) {
  FUZZ_CHECK(value.size() <= kMaxNameBytes);
  FUZZ_CHECK(!HasControlCharacter(value));
}

// A refusal is always INVALID_ARGUMENT / INVALID_REQUEST with a message.
void CheckRefusal(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(credbroker::HasReason(status, credbroker::Reason::kInvalidRequest));
  FUZZ_CHECK(!status.message().empty());
}

// Known enums, and a session token never in the broker's custody.
void CheckKindAndCustody(int kind, int custody) {
  FUZZ_CHECK(credbroker::v1::TokenCustody_IsValid(custody));
  FUZZ_CHECK(credbroker::v1::CredentialKind_IsValid(kind));
  FUZZ_CHECK(!(kind == credbroker::v1::CREDENTIAL_KIND_SESSION_TOKEN &&
               custody == credbroker::v1::TOKEN_CUSTODY_BROKER));
}

template <typename Message>
bool Parse(const uint8_t* data, size_t size, Message* message) {
  return message->ParseFromArray(data, static_cast<int>(size));
}

void BeginLogin(const uint8_t* data, size_t size) {
  credbroker::v1::BeginLoginRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateBeginLogin(request);
  if (!status.ok()) return CheckRefusal(status);
  CheckAcceptedName(request.site());
  CheckAcceptedName(request.username());
  FUZZ_CHECK(!request.username().empty());
  FUZZ_CHECK(request.username().front() != ' ' && request.username().back() != ' ');
  FUZZ_CHECK(!request.password().empty() && request.password().size() <= 1024);
  FUZZ_CHECK(request.second_factor_code().size() <= 64);
  CheckKindAndCustody(request.kind(), request.custody());
  CheckAcceptedName(request.client().address());
  FUZZ_CHECK(request.client().user_agent().size() <= credbroker::kMaxUserAgentBytes);
}

void SubmitSecondFactor(const uint8_t* data, size_t size) {
  credbroker::v1::SubmitSecondFactorRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateSubmitSecondFactor(request);
  if (!status.ok()) return CheckRefusal(status);
  FUZZ_CHECK(request.challenge_id().size() == 64);
  FUZZ_CHECK(!request.code().empty() && request.code().size() <= 64);
  for (unsigned char c : request.code()) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  CheckAcceptedName(request.client().address());
}

void RefreshSession(const uint8_t* data, size_t size) {
  credbroker::v1::RefreshSessionRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateRefreshSession(request);
  if (!status.ok()) return CheckRefusal(status);
  CheckAcceptedName(request.site());
  FUZZ_CHECK(request.session_case() != credbroker::v1::RefreshSessionRequest::SESSION_NOT_SET);
}

void IssueScriptSession(const uint8_t* data, size_t size) {
  credbroker::v1::IssueScriptSessionRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateIssueScriptSession(request);
  if (!status.ok()) return CheckRefusal(status);
  CheckAcceptedName(request.site());
  CheckAcceptedName(request.script_name());
  FUZZ_CHECK(!request.script_name().empty());
  CheckAcceptedName(request.sudo_as_login());
  // It becomes the grant's scope "sudo_as_login:NAME": one login name.
  FUZZ_CHECK(request.sudo_as_login().find_first_of(" :") == std::string::npos);
  FUZZ_CHECK(request.script_key().size() <= 4096);
  FUZZ_CHECK(request.rejected_token().size() <= 4096);
  FUZZ_CHECK(credbroker::v1::CredentialKind_IsValid(request.kind()));
  // A session token cannot be narrowed to one user.
  if (request.kind() == credbroker::v1::CREDENTIAL_KIND_SESSION_TOKEN) {
    FUZZ_CHECK(request.sudo_as_login().empty());
  }
}

void GetAccessToken(const uint8_t* data, size_t size) {
  credbroker::v1::GetAccessTokenRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateGetAccessToken(request);
  if (!status.ok()) return CheckRefusal(status);
  FUZZ_CHECK(!request.session_id().empty());
  CheckAcceptedName(request.session_id());
  FUZZ_CHECK(request.min_validity().seconds() >= 0);
  FUZZ_CHECK(request.min_validity().seconds() <= 24 * 3600);
}

void RevokeSession(const uint8_t* data, size_t size) {
  credbroker::v1::RevokeSessionRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateRevokeSession(request);
  if (!status.ok()) return CheckRefusal(status);
  CheckAcceptedName(request.site());
  FUZZ_CHECK(request.session_case() != credbroker::v1::RevokeSessionRequest::SESSION_NOT_SET);
}

void ExchangeSessionToken(const uint8_t* data, size_t size) {
  credbroker::v1::ExchangeSessionTokenRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateExchangeSessionToken(request);
  if (!status.ok()) return CheckRefusal(status);
  CheckAcceptedName(request.site());
  FUZZ_CHECK(!request.session_token().empty() && request.session_token().size() <= 4096);
  for (unsigned char c : request.session_token()) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  FUZZ_CHECK(credbroker::v1::TokenCustody_IsValid(request.custody()));
}

void BeginBrowserLogin(const uint8_t* data, size_t size) {
  credbroker::v1::BeginBrowserLoginRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateBeginBrowserLogin(request);
  if (!status.ok()) return CheckRefusal(status);
  CheckAcceptedName(request.site());
  CheckAcceptedName(request.app_name());
  CheckAcceptedName(request.machine_id());
  CheckKindAndCustody(request.kind(), request.custody());
}

void CompleteBrowserLogin(const uint8_t* data, size_t size) {
  credbroker::v1::CompleteBrowserLoginRequest request;
  if (!Parse(data, size, &request)) return;
  const absl::Status status = credbroker::ValidateCompleteBrowserLogin(request);
  if (!status.ok()) return CheckRefusal(status);
  FUZZ_CHECK(request.request_id().size() == 64);
  FUZZ_CHECK(request.wait().seconds() >= 0 && request.wait().nanos() >= 0);
  FUZZ_CHECK(request.wait().seconds() * 1000000000LL + request.wait().nanos() <=
             credbroker::kMaxBrowserLoginWaitSeconds * 1000000000LL);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* message = data + 1;
  const size_t length = size - 1;
  switch (data[0] % 9) {
    case 0:
      BeginLogin(message, length);
      break;
    case 1:
      SubmitSecondFactor(message, length);
      break;
    case 2:
      RefreshSession(message, length);
      break;
    case 3:
      IssueScriptSession(message, length);
      break;
    case 4:
      GetAccessToken(message, length);
      break;
    case 5:
      RevokeSession(message, length);
      break;
    case 6:
      ExchangeSessionToken(message, length);
      break;
    case 7:
      BeginBrowserLogin(message, length);
      break;
    case 8:
      CompleteBrowserLogin(message, length);
      break;
  }
  return 0;
}
