// Session tokens (for shotgun_api3 and Toolkit over /api3/json) through the
// C++ client against the real broker and fake site: a person's login with
// LoginOptions::kind (the two-factor step included, the token working at
// /api3/json), the kind refused with broker custody, and
// ExchangeSessionToken: REST tokens for a session token, a refused token,
// malformed ones that never reach the site, and broker custody.
#include <gtest/gtest.h>

#include <string>

#include "client_test_support.h"
#include "credbroker/client.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

using client::BrokerError;
namespace reason = client::reason;

class SessionTokenTest : public SiteAndBrokerTest {
 protected:
  void SetUp() override {
    StartSiteAndBroker();
    stub_ = client::ConnectStub(broker_->address());
  }

  std::shared_ptr<v1::CredentialBroker::Stub> stub_;
};

TEST_F(SessionTokenTest, PersonsLoginWithTheSecondFactorAnswersASessionToken) {
  client::LoginOptions options;
  options.kind = v1::CREDENTIAL_KIND_SESSION_TOKEN;
  int asked = 0;
  const v1::Session session = client::Login(
      *stub_, "alice", "alice-password-1",
      [&](const client::Challenge&) {
        ++asked;
        return CurrentCode("JBSWY3DPEHPK3PXP");
      },
      options);
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(session.session_token().empty());
  EXPECT_TRUE(session.access_token().empty());
  EXPECT_TRUE(session.refresh_token().empty());
  EXPECT_TRUE(session.token_type().empty());
  EXPECT_FALSE(session.has_expire_time());
  EXPECT_EQ(session.principal().user_login(), "alice");
  EXPECT_EQ(session.site(), "main");
  EXPECT_EQ(session.site_url(), site_->url());
  EXPECT_EQ(site_->Api3ReadProjects(session.session_token()), 2);
  // Through /api3/json (asked for a code, then with it), not the REST grant.
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 2);
  EXPECT_EQ(site_->Requests("password"), 0);
}

TEST_F(SessionTokenTest, SessionTokenWithBrokerCustodyIsInvalidRequest) {
  client::LoginOptions options;
  options.kind = v1::CREDENTIAL_KIND_SESSION_TOKEN;
  options.custody = v1::TOKEN_CUSTODY_BROKER;
  const BrokerError error =
      ErrorOf([&] { client::Login(*stub_, "bob", "bob-password-1", nullptr, options); });
  EXPECT_EQ(error.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(error.reason(), reason::kInvalidRequest);
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 0);
}

TEST_F(SessionTokenTest, ExchangeGivesRestTokensForASessionToken) {
  const std::string session_token = site_->MintSessionToken("carol");
  const v1::Session session = client::ExchangeSessionToken(*stub_, session_token);
  EXPECT_EQ(site_->ReadProjects(session.access_token()), 200);
  EXPECT_FALSE(session.refresh_token().empty());
  EXPECT_EQ(session.token_type(), "Bearer");
  EXPECT_EQ(session.site(), "main");
  EXPECT_EQ(session.site_url(), site_->url());
  // The site's token answer does not say whose tokens they are.
  EXPECT_EQ(session.principal().user_login(), "");
  EXPECT_EQ(site_->Requests("session_token"), 1);

  // The refresh token is a REST one like any other.
  client::SessionTokenSource tokens(stub_, session);
  tokens.Invalidate(session.access_token());
  EXPECT_EQ(site_->ReadProjects(tokens.AccessToken()), 200);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
}

TEST_F(SessionTokenTest, ExchangeWithBrokerCustodyAnswersASessionId) {
  client::ExchangeOptions options;
  options.custody = v1::TOKEN_CUSTODY_BROKER;
  const v1::Session session =
      client::ExchangeSessionToken(*stub_, site_->MintSessionToken("dave"), options);
  EXPECT_EQ(session.session_id().size(), 64u);
  EXPECT_TRUE(session.refresh_token().empty());
  client::HeldSessionTokenSource held(stub_, session.session_id());
  EXPECT_EQ(site_->ReadProjects(held.Token()), 200);
}

TEST_F(SessionTokenTest, RefusedSessionTokenIsInvalidCredentials) {
  const std::string refused = "not-a-session-token-of-this-site";
  const BrokerError error = ErrorOf([&] { client::ExchangeSessionToken(*stub_, refused); });
  EXPECT_EQ(error.code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(error.reason(), reason::kInvalidCredentials);
  EXPECT_EQ(std::string(error.what()).find(refused), std::string::npos);
  EXPECT_EQ(site_->Requests("session_token"), 1);
}

TEST_F(SessionTokenTest, EmptyOrOversizedSessionTokenNeverReachesTheSite) {
  // Longer than any token the broker takes.
  for (const std::string& token : {std::string(), std::string(4097, 'a')}) {
    const BrokerError error = ErrorOf([&] { client::ExchangeSessionToken(*stub_, token); });
    EXPECT_EQ(error.code(), grpc::StatusCode::INVALID_ARGUMENT) << token.size();
    EXPECT_EQ(error.reason(), reason::kInvalidRequest) << token.size();
  }
  EXPECT_EQ(site_->Requests("session_token"), 0);
}

}  // namespace
}  // namespace credbroker::client_testing
