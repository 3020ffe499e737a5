// BeginLogin and SubmitSecondFactor through the real broker against the fake
// site: the two-step flow, one-step logins, wrong codes, the failure budget,
// single use, concurrent submits, and bad input that must never reach the site.
#include <future>
#include <thread>

#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

using LoginTest = BrokerTest;

TEST_F(LoginTest, TwoStepLoginYieldsTokensTheSiteAccepts) {
  Start();
  v1::LoginResult first;
  ASSERT_GRPC_OK(BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &first));
  ASSERT_TRUE(first.has_challenge());
  const v1::SecondFactorChallenge& challenge = first.challenge();
  EXPECT_EQ(challenge.challenge_id().size(), 64u);
  EXPECT_EQ(challenge.attempts_left(), 5);
  const int64_t lifetime = challenge.expire_time().seconds() - std::time(nullptr);
  EXPECT_GE(lifetime, 298);
  EXPECT_LE(lifetime, 301);
  EXPECT_EQ(site_->Requests("password"), 1);

  v1::LoginResult second;
  ASSERT_TRUE(
      Submit(challenge.challenge_id(), site_->CurrentCode(fixtures::kAlice.totp_secret), &second)
          .ok());
  ASSERT_TRUE(second.has_session());
  const v1::Session& session = second.session();
  EXPECT_EQ(session.token_type(), "Bearer");
  EXPECT_EQ(session.site(), "main");
  EXPECT_EQ(session.principal().user_login(), "alice");
  EXPECT_FALSE(session.refresh_token().empty());
  EXPECT_TRUE(session.session_id().empty());
  const int64_t validity = session.expire_time().seconds() - std::time(nullptr);
  EXPECT_GE(validity, 598);
  EXPECT_LE(validity, 601);
  EXPECT_EQ(site_->Requests("password"), 2);
  EXPECT_EQ(site_->ReadProjects(session.access_token()), 200);
}

TEST_F(LoginTest, ChallengeIsSingleUse) {
  Start();
  const std::string id = Challenge(fixtures::kBob);
  v1::LoginResult result;
  ASSERT_GRPC_OK(Submit(id, site_->CurrentCode(fixtures::kBob.totp_secret), &result));
  site_->SetClockOffset(30);  // a fresh code, so only the challenge can be the problem
  EXPECT_BROKER_ERROR(Submit(id, site_->CurrentCode(fixtures::kBob.totp_secret), &result),
                      FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(site_->Requests("password"), 2);
}

TEST_F(LoginTest, CodeUpFrontLogsInInOneCall) {
  Start();
  v1::LoginResult result;
  ASSERT_TRUE(BeginLogin(fixtures::kCarol.login, fixtures::kCarol.password, &result,
                         site_->CurrentCode(fixtures::kCarol.totp_secret))
                  .ok());
  ASSERT_TRUE(result.has_session());
  EXPECT_EQ(result.session().principal().user_login(), "carol");
  EXPECT_EQ(site_->Requests("password"), 1);
}

TEST_F(LoginTest, BackupCodeWorksOnce) {
  Start();
  v1::LoginResult result;
  ASSERT_GRPC_OK(Submit(Challenge(fixtures::kDave), fixtures::kDave.backup_code_1, &result));
  EXPECT_TRUE(result.has_session());
  EXPECT_BROKER_ERROR(Submit(Challenge(fixtures::kDave), fixtures::kDave.backup_code_1, &result),
                      UNAUTHENTICATED, "INVALID_SECOND_FACTOR");
}

TEST_F(LoginTest, WithoutTwoFactorTheFirstCallLogsIn) {
  FakeSiteOptions site;
  site.two_factor = false;
  Start(site);
  v1::LoginResult result;
  ASSERT_GRPC_OK(BeginLogin(fixtures::kErin.login, fixtures::kErin.password, &result));
  ASSERT_TRUE(result.has_session());
  EXPECT_EQ(site_->ReadProjects(result.session().access_token()), 200);
}

TEST_F(LoginTest, WrongCodesCountDownThenTheChallengeIsGone) {
  BrokerOptions broker;
  broker.extra_yaml = "failure_budget:\n  max_failures: 9\n";
  Start({}, broker);
  const std::string id = Challenge(fixtures::kFrank);
  for (int expected_left = 4; expected_left >= 0; --expected_left) {
    v1::LoginResult result;
    const grpc::Status status = Submit(id, "000000", &result);
    EXPECT_BROKER_ERROR(status, UNAUTHENTICATED, "INVALID_SECOND_FACTOR");
    auto detail = client::ErrorDetailOf(status);
    ASSERT_TRUE(detail.has_value());
    EXPECT_EQ(detail->attempts_left(), expected_left);
    EXPECT_EQ(status.error_message().find("000000"), std::string::npos);
  }
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(Submit(id, site_->CurrentCode(fixtures::kFrank.totp_secret), &result),
                      FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(site_->Requests("password"), 6);  // one BeginLogin, five codes, nothing after
}

TEST_F(LoginTest, WrongPasswordIsInvalidCredentials) {
  Start();
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(BeginLogin(fixtures::kGrace.login, "not-her-password", &result),
                      UNAUTHENTICATED, "INVALID_CREDENTIALS");
  EXPECT_BROKER_ERROR(BeginLogin("nobody-here", "whatever", &result), UNAUTHENTICATED,
                      "INVALID_CREDENTIALS");
}

TEST_F(LoginTest, FailureBudgetStopsBeforeTheSiteLocksThePersonOut) {
  Start();
  v1::LoginResult result;
  for (int i = 0; i < 5; ++i) {
    EXPECT_BROKER_ERROR(BeginLogin(fixtures::kHeidi.login, "wrong", &result), UNAUTHENTICATED,
                        "INVALID_CREDENTIALS");
  }
  // Budget spent: even the right password is refused without asking the site.
  const grpc::Status status = BeginLogin("HEIDI", fixtures::kHeidi.password, &result);
  EXPECT_BROKER_ERROR(status, RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS");
  auto detail = client::ErrorDetailOf(status);
  ASSERT_TRUE(detail.has_value());
  // A rolling hour from the first failure.
  EXPECT_GT(detail->retry_after().seconds(), 3500);
  EXPECT_LE(detail->retry_after().seconds(), 3600);
  EXPECT_EQ(site_->Requests("password"), 5);
  EXPECT_TRUE(site_->Stats()["locked"].empty());
}

TEST_F(LoginTest, WrongCodesSpendTheSameBudget) {
  Start();
  v1::LoginResult result;
  // Two wrong passwords, then three wrong codes: five failures.
  for (int i = 0; i < 2; ++i) BeginLogin(fixtures::kAlice.login, "wrong", &result);
  const std::string id = Challenge(fixtures::kAlice);
  for (int i = 0; i < 3; ++i) Submit(id, "999999", &result);
  EXPECT_BROKER_ERROR(Submit(id, site_->CurrentCode(fixtures::kAlice.totp_secret), &result),
                      RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS");
  EXPECT_EQ(site_->Requests("password"), 6);
}

TEST_F(LoginTest, ConcurrentSubmitsOfOneChallengeReachTheSiteOnce) {
  Start();
  const std::string id = Challenge(fixtures::kBob);
  site_->SetFaults({{"latency_ms", 1500}});
  const std::string code = site_->CurrentCode(fixtures::kBob.totp_secret);
  auto first = std::async(std::launch::async, [&] {
    v1::LoginResult result;
    return Submit(id, code, &result);
  });
  // Wait until the first submit is held at the site, then try a second.
  for (int i = 0; i < 500 && site_->Stats().value("in_flight", 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(Submit(id, code, &result), ABORTED, "CHALLENGE_BUSY");
  EXPECT_GRPC_OK(first.get());
  EXPECT_EQ(site_->Requests("password"), 2);
}

TEST_F(LoginTest, ChallengeExpiresAfterItsLifetime) {
  BrokerOptions broker;
  broker.extra_yaml = "challenge:\n  lifetime_seconds: 1\n";
  Start({}, broker);
  const std::string id = Challenge(fixtures::kCarol);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(Submit(id, site_->CurrentCode(fixtures::kCarol.totp_secret), &result),
                      FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(site_->Requests("password"), 1);
}

TEST_F(LoginTest, UnknownChallengeIsNotFound) {
  Start();
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(Submit(std::string(64, 'a'), "123456", &result), FAILED_PRECONDITION,
                      "CHALLENGE_NOT_FOUND");
}

TEST_F(LoginTest, SsoAndIdentitySitesRefusePasswords) {
  for (const char* mode : {"sso", "identity"}) {
    TempDir dir;
    FakeSiteOptions options;
    options.auth_mode = mode;
    FakeSiteProcess site(dir, options);
    BrokerOptions broker_options;
    broker_options.site_url = site.url();
    BrokerProcess broker(dir, broker_options);
    v1::BeginLoginRequest request;
    request.set_username(fixtures::kAlice.login);
    request.set_password(fixtures::kAlice.password);
    v1::LoginResult result;
    EXPECT_BROKER_ERROR(broker.Stub()->BeginLogin(ContextWithDeadline().get(), request, &result),
                        FAILED_PRECONDITION, "SSO_REQUIRED")
        << mode;
  }
}

TEST_F(LoginTest, UnknownSiteIsNotFound) {
  Start();
  v1::BeginLoginRequest request;
  request.set_site("elsewhere");
  request.set_username("alice");
  request.set_password("x");
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(stub_->BeginLogin(ContextWithDeadline().get(), request, &result), NOT_FOUND,
                      "UNKNOWN_SITE");
}

TEST_F(LoginTest, InvalidInputNeverReachesTheSite) {
  Start();
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(BeginLogin("", "x", &result), INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(BeginLogin(std::string(257, 'u'), "x", &result), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(BeginLogin("alice", std::string(1025, 'p'), &result), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(BeginLogin("alice", "x", &result, "12 34"), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(BeginLogin("alice", "x", &result, std::string(65, '1')), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(Submit("not-a-challenge-id", "123456", &result), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(Submit(std::string(64, 'a'), "", &result), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  v1::BeginLoginRequest bad_custody;
  bad_custody.set_username("alice");
  bad_custody.set_password("x");
  bad_custody.set_custody(static_cast<v1::TokenCustody>(7));
  EXPECT_BROKER_ERROR(stub_->BeginLogin(ContextWithDeadline().get(), bad_custody, &result),
                      INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_EQ(site_->Requests("password"), 0);
  // Refused steps are audited too.
  EXPECT_TRUE(broker_->WaitForLogLine({"\"event\":\"audit\"", "\"step\":\"begin_login\"",
                                       "\"username\":\"alice\"", "\"outcome\":\"refused\"",
                                       "\"reason\":\"INVALID_REQUEST\"",
                                       "\"client_address\":\"127.0.0.1\""}))
      << broker_->Logs();
}

TEST_F(LoginTest, OversizedMessagesAreRefusedByGrpc) {
  Start();
  v1::LoginResult result;
  const grpc::Status status = BeginLogin("alice", std::string(70 * 1024, 'p'), &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(site_->Requests("password"), 0);
}

}  // namespace
}  // namespace credbroker::testing
