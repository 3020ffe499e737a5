// credbroker::client::Login against the real broker and fake site: the TOTP
// step, re-asking after a wrong code, and the typed BrokerError reasons.
#include <gtest/gtest.h>

#include <thread>

#include "client_test_support.h"
#include "credbroker/client.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

using client::BrokerError;
using client::Challenge;

class LoginTest : public SiteAndBrokerTest {
 protected:
  void Start(const BrokerConfig& config = {}) {
    StartSiteAndBroker({}, config);
    stub_ = client::ConnectStub(broker_->address());
  }

  std::shared_ptr<v1::CredentialBroker::Stub> stub_;
};

TEST_F(LoginTest, LogsInWithTotpCode) {
  Start();
  std::vector<Challenge> asked;
  const v1::Session session =
      client::Login(*stub_, "alice", "alice-password-1", [&](const Challenge& challenge) {
        asked.push_back(challenge);
        return CurrentCode("JBSWY3DPEHPK3PXP");
      });
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].attempts_left, 5);
  EXPECT_EQ(asked[0].previous_error, nullptr);
  EXPECT_EQ(asked[0].challenge_id.size(), 64u);
  EXPECT_GT(asked[0].expire_time, std::chrono::system_clock::now());
  EXPECT_EQ(session.principal().user_login(), "alice");
  EXPECT_EQ(session.site(), "main");
  EXPECT_EQ(session.token_type(), "Bearer");
  EXPECT_FALSE(session.refresh_token().empty());
  EXPECT_EQ(site_->ReadProjects(session.access_token()), 200);
  // BeginLogin (answered 106) and the submit with the code.
  EXPECT_EQ(site_->Requests("password"), 2);
}

TEST_F(LoginTest, TheCodeUpFrontLogsInInOneCall) {
  Start();
  client::ChannelOptions once;
  once.enable_retries = false;
  auto no_retry = client::ConnectStub(broker_->address(), once);
  client::LoginOptions options;
  options.code = CurrentCode("NBSWSZDJFVZWKY3S");
  options.no_retry_stub = no_retry.get();
  const v1::Session session = client::Login(*stub_, "heidi", "heidi-password-1", nullptr, options);
  EXPECT_EQ(session.principal().user_login(), "heidi");
  EXPECT_FALSE(session.refresh_token().empty());
  EXPECT_EQ(site_->Requests("password"), 1);  // no challenge round trip
  // Broker custody: a session id and no refresh token (a backup code, as the TOTP code is spent).
  options.custody = v1::TOKEN_CUSTODY_BROKER;
  options.code = "8714-2295";
  const v1::Session held = client::Login(*stub_, "heidi", "heidi-password-1", nullptr, options);
  EXPECT_EQ(held.session_id().size(), 64u);
  EXPECT_TRUE(held.refresh_token().empty());
}

TEST_F(LoginTest, ReasksAfterWrongCode) {
  Start();
  std::vector<int> attempts_seen;
  std::vector<std::string> previous_reasons;
  const v1::Session session =
      client::Login(*stub_, "bob", "bob-password-1", [&](const Challenge& challenge) {
        attempts_seen.push_back(challenge.attempts_left);
        previous_reasons.push_back(challenge.previous_error ? challenge.previous_error->reason()
                                                            : "");
        if (challenge.previous_error) {
          EXPECT_EQ(challenge.previous_error->attempts_left(), challenge.attempts_left);
        }
        return attempts_seen.size() == 1 ? WrongCode("KRUGKIDCN5RCA43F")
                                         : CurrentCode("KRUGKIDCN5RCA43F");
      });
  EXPECT_EQ(attempts_seen, (std::vector<int>{5, 4}));
  EXPECT_EQ(previous_reasons, (std::vector<std::string>{"", "INVALID_SECOND_FACTOR"}));
  EXPECT_EQ(session.principal().user_login(), "bob");
  EXPECT_EQ(site_->Requests("password"), 3);
}

TEST_F(LoginTest, LastWrongCodeIsInvalidSecondFactorWithNoAttemptsLeft) {
  Start({"challenge:\n  max_attempts: 2\n"});
  int asked = 0;
  const BrokerError error = ErrorOf([&] {
    client::Login(*stub_, "carol", "carol-password-1", [&](const Challenge&) {
      ++asked;
      return WrongCode("MNQXE33MFVZWKY3S");
    });
  });
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(error.code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(error.reason(), "INVALID_SECOND_FACTOR");
  EXPECT_TRUE(error.Is("INVALID_SECOND_FACTOR"));
  EXPECT_EQ(error.attempts_left(), 0);
}

TEST_F(LoginTest, WrongPasswordIsInvalidCredentials) {
  Start();
  bool asked = false;
  const BrokerError error = ErrorOf([&] {
    client::Login(*stub_, "dave", "not-the-password", [&](const Challenge&) {
      asked = true;
      return std::string("000000");
    });
  });
  EXPECT_FALSE(asked);
  EXPECT_EQ(error.code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(error.reason(), "INVALID_CREDENTIALS");
  EXPECT_FALSE(error.retryable());
  EXPECT_EQ(std::string(error.what()).find("not-the-password"), std::string::npos);
  EXPECT_EQ(site_->Requests("password"), 1);
}

TEST_F(LoginTest, RepeatedWrongPasswordsAreTooManyAttemptsWithRetryAfter) {
  Start();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ErrorOf([&] { client::Login(*stub_, "erin", "wrong", nullptr); }).reason(),
              "INVALID_CREDENTIALS")
        << "attempt " << i + 1;
  }
  const BrokerError error = ErrorOf([&] { client::Login(*stub_, "erin", "wrong", nullptr); });
  EXPECT_EQ(error.code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(error.reason(), "TOO_MANY_ATTEMPTS");
  EXPECT_GT(error.retry_after().count(), 0);
  EXPECT_EQ(site_->Requests("password"), 5);
}

TEST_F(LoginTest, ExpiredChallengeIsChallengeNotFound) {
  Start({"challenge:\n  lifetime_seconds: 1\n"});
  const BrokerError error = ErrorOf([&] {
    client::Login(*stub_, "frank", "frank-password-1", [&](const Challenge&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2100));
      return CurrentCode("MZZGC3TLFVZWKY3S");
    });
  });
  EXPECT_EQ(error.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(error.reason(), "CHALLENGE_NOT_FOUND");
}

TEST_F(LoginTest, UnknownSite) {
  Start();
  client::LoginOptions options;
  options.site = "no-such-site";
  const BrokerError error =
      ErrorOf([&] { client::Login(*stub_, "grace", "grace-password-1", nullptr, options); });
  EXPECT_EQ(error.code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(error.reason(), "UNKNOWN_SITE");
  EXPECT_EQ(site_->Requests("password"), 0);
}

TEST_F(LoginTest, ChallengeWithoutCodeProviderIsAnArgumentError) {
  Start();
  EXPECT_THROW(client::Login(*stub_, "heidi", "heidi-password-1", nullptr), std::invalid_argument);
}

TEST(LoginUnreachable, BrokerNotListeningIsUnavailableWithoutReason) {
  TempDir dir;
  // Port 1 (tcpmux): nothing listens there.
  auto stub = client::ConnectStub("127.0.0.1:1");
  client::LoginOptions options;
  options.timeout = std::chrono::seconds(3);
  try {
    client::Login(*stub, "alice", "alice-password-1", nullptr, options);
    FAIL() << "no error";
  } catch (const BrokerError& error) {
    EXPECT_EQ(error.code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(error.reason(), "");
    EXPECT_TRUE(error.retryable());
  }
}

}  // namespace
}  // namespace credbroker::client_testing
