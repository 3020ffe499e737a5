// Every input limit of api.md: the boundary value passes, one past it fails
// with INVALID_ARGUMENT / INVALID_REQUEST, the message names the field, and no
// message ever echoes a password, code, key or token.
#include "broker/api/validation.h"

#include <string>

#include "broker/common/errors.h"
#include "gtest/gtest.h"

namespace credbroker {
namespace {

constexpr char kPassword[] = "Pa55word-S3cr3t!";
constexpr char kChallengeId[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

void ExpectInvalid(const absl::Status& status, absl::string_view field,
                   absl::string_view secret = "") {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(HasReason(status, Reason::kInvalidRequest)) << status;
  EXPECT_NE(status.message().find(field), absl::string_view::npos)
      << "message does not name '" << field << "': " << status.message();
  if (!secret.empty()) {
    EXPECT_EQ(status.message().find(secret), absl::string_view::npos)
        << "message echoes a secret: " << status.message();
  }
}

v1::BeginLoginRequest ValidBegin() {
  v1::BeginLoginRequest request;
  request.set_username("jdoe");
  request.set_password(kPassword);
  return request;
}

v1::SubmitSecondFactorRequest ValidSubmit() {
  v1::SubmitSecondFactorRequest request;
  request.set_challenge_id(kChallengeId);
  request.set_code("123456");
  return request;
}

// ---- BeginLogin ----

TEST(ValidateBeginLoginTest, MinimalRequestIsValid) {
  EXPECT_TRUE(ValidateBeginLogin(ValidBegin()).ok());
}

TEST(ValidateBeginLoginTest, FullRequestIsValid) {
  v1::BeginLoginRequest request = ValidBegin();
  request.set_site("studio-main");
  request.set_second_factor_code("7391-5520");
  request.set_custody(v1::TOKEN_CUSTODY_BROKER);
  request.mutable_client()->set_address("203.0.113.7");
  request.mutable_client()->set_user_agent("Mozilla/5.0 (X11; Linux x86_64)");
  EXPECT_TRUE(ValidateBeginLogin(request).ok()) << ValidateBeginLogin(request);
}

TEST(ValidateBeginLoginTest, UsernameUpTo256Bytes) {
  v1::BeginLoginRequest request = ValidBegin();
  request.set_username(std::string(256, 'u'));
  EXPECT_TRUE(ValidateBeginLogin(request).ok());
  request.set_username(std::string(257, 'u'));
  ExpectInvalid(ValidateBeginLogin(request), "username");
}

TEST(ValidateBeginLoginTest, UsernameRequired) {
  v1::BeginLoginRequest request = ValidBegin();
  request.clear_username();
  ExpectInvalid(ValidateBeginLogin(request), "username", kPassword);
}

TEST(ValidateBeginLoginTest, UsernameWithControlCharacterRefused) {
  v1::BeginLoginRequest request = ValidBegin();
  request.set_username("jdoe\n{\"event\":\"forged\"}");
  ExpectInvalid(ValidateBeginLogin(request), "username");
}

TEST(ValidateBeginLoginTest, UsernameWithLeadingOrTrailingSpaceRefused) {
  v1::BeginLoginRequest request = ValidBegin();
  for (const char* name : {" jdoe", "jdoe ", " ", "  jdoe  "}) {
    request.set_username(name);
    ExpectInvalid(ValidateBeginLogin(request), "username", kPassword);
  }
  // Inner spaces stay allowed: some sites have logins such as "Jane Doe".
  request.set_username("Jane Doe");
  EXPECT_TRUE(ValidateBeginLogin(request).ok());
}

TEST(ValidateBeginLoginTest, PasswordUpTo1024Bytes) {
  v1::BeginLoginRequest request = ValidBegin();
  request.set_password(std::string(1024, 'p'));
  EXPECT_TRUE(ValidateBeginLogin(request).ok());
  const std::string too_long = std::string(1024, 'p') + "Q";
  request.set_password(too_long);
  ExpectInvalid(ValidateBeginLogin(request), "password", too_long);
}

TEST(ValidateBeginLoginTest, PasswordRequired) {
  v1::BeginLoginRequest request = ValidBegin();
  request.clear_password();
  ExpectInvalid(ValidateBeginLogin(request), "password");
}

TEST(ValidateBeginLoginTest, SiteUpTo256Bytes) {
  v1::BeginLoginRequest request = ValidBegin();
  request.set_site(std::string(256, 's'));
  EXPECT_TRUE(ValidateBeginLogin(request).ok());
  request.set_site(std::string(257, 's'));
  ExpectInvalid(ValidateBeginLogin(request), "site", kPassword);
}

TEST(ValidateBeginLoginTest, SecondFactorCodeIsOptionalButChecked) {
  v1::BeginLoginRequest request = ValidBegin();
  request.set_second_factor_code("123456");
  EXPECT_TRUE(ValidateBeginLogin(request).ok());
  request.set_second_factor_code("7391-5520");
  EXPECT_TRUE(ValidateBeginLogin(request).ok());
  request.set_second_factor_code("123 456");
  ExpectInvalid(ValidateBeginLogin(request), "second_factor_code", "123 456");
  request.set_second_factor_code(std::string(65, '7'));
  ExpectInvalid(ValidateBeginLogin(request), "second_factor_code", std::string(65, '7'));
}

TEST(ValidateBeginLoginTest, UnknownCustodyRefused) {
  v1::BeginLoginRequest request = ValidBegin();
  request.set_custody(static_cast<v1::TokenCustody>(7));
  ExpectInvalid(ValidateBeginLogin(request), "custody", kPassword);
  request.set_custody(static_cast<v1::TokenCustody>(-1));
  ExpectInvalid(ValidateBeginLogin(request), "custody", kPassword);
}

TEST(ValidateBeginLoginTest, EveryKnownCustodyAccepted) {
  v1::BeginLoginRequest request = ValidBegin();
  for (v1::TokenCustody custody :
       {v1::TOKEN_CUSTODY_UNSPECIFIED, v1::TOKEN_CUSTODY_CALLER, v1::TOKEN_CUSTODY_BROKER}) {
    request.set_custody(custody);
    EXPECT_TRUE(ValidateBeginLogin(request).ok()) << custody;
  }
}

TEST(ValidateBeginLoginTest, ClientAddressAndUserAgentBounded) {
  v1::BeginLoginRequest request = ValidBegin();
  request.mutable_client()->set_address(std::string(257, '1'));
  ExpectInvalid(ValidateBeginLogin(request), "client.address", kPassword);
  request.mutable_client()->set_address("198.51.100.1");
  request.mutable_client()->set_user_agent(std::string(1024, 'a'));
  EXPECT_TRUE(ValidateBeginLogin(request).ok());
  request.mutable_client()->set_user_agent(std::string(1025, 'a'));
  ExpectInvalid(ValidateBeginLogin(request), "client.user_agent", kPassword);
  request.mutable_client()->set_user_agent("agent\r\nX-Forged: 1");
  ExpectInvalid(ValidateBeginLogin(request), "client.user_agent", kPassword);
}

// ---- SubmitSecondFactor ----

TEST(ValidateSubmitSecondFactorTest, ValidRequest) {
  EXPECT_TRUE(ValidateSubmitSecondFactor(ValidSubmit()).ok());
}

TEST(ValidateSubmitSecondFactorTest, CodeLengthOneTo64) {
  v1::SubmitSecondFactorRequest request = ValidSubmit();
  request.set_code("7");
  EXPECT_TRUE(ValidateSubmitSecondFactor(request).ok());
  request.set_code(std::string(64, '9'));
  EXPECT_TRUE(ValidateSubmitSecondFactor(request).ok());
  request.set_code(std::string(65, '9'));
  ExpectInvalid(ValidateSubmitSecondFactor(request), "code", std::string(65, '9'));
  request.clear_code();
  ExpectInvalid(ValidateSubmitSecondFactor(request), "code");
}

TEST(ValidateSubmitSecondFactorTest, BackupCodeAccepted) {
  v1::SubmitSecondFactorRequest request = ValidSubmit();
  request.set_code("7391-5520");
  EXPECT_TRUE(ValidateSubmitSecondFactor(request).ok());
  request.set_code("abcd-EFGH_1234!");
  EXPECT_TRUE(ValidateSubmitSecondFactor(request).ok());
}

TEST(ValidateSubmitSecondFactorTest, SpacesAndNonPrintableRefused) {
  v1::SubmitSecondFactorRequest request = ValidSubmit();
  for (const std::string code :
       {std::string("739 155"), std::string(" 739155"), std::string("739155 "),
        std::string("739\t155"), std::string("739155\n"),
        std::string("73\x7f"
                    "9"),
        std::string("\xc3\xa9"
                    "12345"),
        std::string("12\0"
                    "34",
                    5)}) {
    request.set_code(code);
    ExpectInvalid(ValidateSubmitSecondFactor(request), "code", code);
  }
}

TEST(ValidateSubmitSecondFactorTest, ChallengeIdMustBe64LowercaseHex) {
  v1::SubmitSecondFactorRequest request = ValidSubmit();
  const std::string good(kChallengeId);
  for (const std::string id :
       {good.substr(0, 63), good + "0", std::string(64, 'A'), std::string(64, 'g'),
        good.substr(0, 63) + "F", good.substr(0, 63) + " ", std::string("../etc/passwd")}) {
    request.set_challenge_id(id);
    ExpectInvalid(ValidateSubmitSecondFactor(request), "challenge_id", "123456");
  }
  request.clear_challenge_id();
  ExpectInvalid(ValidateSubmitSecondFactor(request), "challenge_id");
}

TEST(ValidateSubmitSecondFactorTest, ClientChecked) {
  v1::SubmitSecondFactorRequest request = ValidSubmit();
  request.mutable_client()->set_address("10.0.0.1\n");
  ExpectInvalid(ValidateSubmitSecondFactor(request), "client.address", "123456");
}

// ---- RefreshSession ----

TEST(ValidateRefreshSessionTest, EitherOneofMemberIsValid) {
  v1::RefreshSessionRequest request;
  request.set_refresh_token("eyJhbGciOiJIUzI1NiJ9.e30.sig");
  EXPECT_TRUE(ValidateRefreshSession(request).ok());
  request.set_session_id("s-123");
  EXPECT_TRUE(ValidateRefreshSession(request).ok());
}

TEST(ValidateRefreshSessionTest, MissingOneofRefused) {
  v1::RefreshSessionRequest request;
  request.set_site("main");
  const absl::Status status = ValidateRefreshSession(request);
  ExpectInvalid(status, "refresh_token");
  ExpectInvalid(status, "session_id");
}

TEST(ValidateRefreshSessionTest, EmptyRefreshTokenRefused) {
  v1::RefreshSessionRequest request;
  request.set_refresh_token("");
  ExpectInvalid(ValidateRefreshSession(request), "refresh_token");
}

TEST(ValidateRefreshSessionTest, RefreshTokenBoundedAndPrintable) {
  v1::RefreshSessionRequest request;
  request.set_refresh_token(std::string(4096, 'r'));
  EXPECT_TRUE(ValidateRefreshSession(request).ok());
  const std::string too_long = std::string(4096, 'r') + "Z";
  request.set_refresh_token(too_long);
  ExpectInvalid(ValidateRefreshSession(request), "refresh_token", too_long);
  request.set_refresh_token("secret token");
  ExpectInvalid(ValidateRefreshSession(request), "refresh_token", "secret token");
}

TEST(ValidateRefreshSessionTest, SessionIdUpTo256) {
  v1::RefreshSessionRequest request;
  request.set_session_id(std::string(256, 'i'));
  EXPECT_TRUE(ValidateRefreshSession(request).ok());
  request.set_session_id(std::string(257, 'i'));
  ExpectInvalid(ValidateRefreshSession(request), "session_id");
}

// ---- IssueScriptSession ----

TEST(ValidateIssueScriptSessionTest, Limits) {
  v1::IssueScriptSessionRequest request;
  request.set_script_name("pipeline");
  EXPECT_TRUE(ValidateIssueScriptSession(request).ok());  // key from the keyring
  request.set_script_key("abcdEFGH1234!@#$");
  request.set_sudo_as_login(std::string(256, 'x'));
  EXPECT_TRUE(ValidateIssueScriptSession(request).ok());

  request.set_sudo_as_login(std::string(257, 'x'));
  ExpectInvalid(ValidateIssueScriptSession(request), "sudo_as_login", "abcdEFGH1234!@#$");
  request.clear_sudo_as_login();

  request.set_script_key("key with spaces");
  ExpectInvalid(ValidateIssueScriptSession(request), "script_key", "key with spaces");
  request.set_script_key("k");

  request.clear_script_name();
  ExpectInvalid(ValidateIssueScriptSession(request), "script_name");
  request.set_script_name(std::string(257, 'n'));
  ExpectInvalid(ValidateIssueScriptSession(request), "script_name");
}

TEST(ValidateIssueScriptSessionTest, SudoAsLoginIsALoginName) {
  v1::IssueScriptSessionRequest request;
  request.set_script_name("pipeline");
  request.set_script_key("abcdEFGH1234!@#$");
  for (const char* login : {"jdoe", "jane.doe@studio.example", "pipeline-ops", "j_doe+1"}) {
    request.set_sudo_as_login(login);
    EXPECT_TRUE(ValidateIssueScriptSession(request).ok()) << login;
  }
  for (const char* login : {"jane doe", " jdoe", "jdoe ", "jdoe:admin", "sudo_as_login:x", ":",
                            "jdoe\tx", "jdoe\n", "jdoe\x7f", "jdoe\r"}) {
    request.set_sudo_as_login(login);
    ExpectInvalid(ValidateIssueScriptSession(request), "sudo_as_login", "abcdEFGH1234!@#$");
  }
}

// ---- GetAccessToken ----

TEST(ValidateGetAccessTokenTest, Limits) {
  v1::GetAccessTokenRequest request;
  request.set_session_id("s-1");
  EXPECT_TRUE(ValidateGetAccessToken(request).ok());
  request.mutable_min_validity()->set_seconds(24 * 3600);
  EXPECT_TRUE(ValidateGetAccessToken(request).ok());
  request.mutable_min_validity()->set_seconds(24 * 3600 + 1);
  ExpectInvalid(ValidateGetAccessToken(request), "min_validity");
  request.mutable_min_validity()->set_seconds(-1);
  ExpectInvalid(ValidateGetAccessToken(request), "min_validity");
  request.mutable_min_validity()->set_seconds(0);
  request.mutable_min_validity()->set_nanos(-1);
  ExpectInvalid(ValidateGetAccessToken(request), "min_validity");
  request.clear_min_validity();
  request.clear_session_id();
  ExpectInvalid(ValidateGetAccessToken(request), "session_id");
}

// ---- RevokeSession ----

TEST(ValidateRevokeSessionTest, Limits) {
  v1::RevokeSessionRequest request;
  const absl::Status missing = ValidateRevokeSession(request);
  ExpectInvalid(missing, "session_id");
  ExpectInvalid(missing, "refresh_token");
  request.set_session_id("s-1");
  EXPECT_TRUE(ValidateRevokeSession(request).ok());
  request.set_refresh_token("rt-1");
  EXPECT_TRUE(ValidateRevokeSession(request).ok());
  request.set_refresh_token("rt 1");
  ExpectInvalid(ValidateRevokeSession(request), "refresh_token", "rt 1");
  request.set_session_id(std::string(257, 's'));
  ExpectInvalid(ValidateRevokeSession(request), "session_id");
}

}  // namespace
}  // namespace credbroker
