// Broker custody through the real broker: the broker keeps the refresh token,
// the caller holds a session id and asks for access tokens; one refresh for
// any number of concurrent callers; sessions belong to their caller; revoked
// or refused sessions are gone.
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "broker_fixture.h"
#include "concurrent_calls.h"
#include "service_tokens.h"

namespace credbroker::testing {
namespace {

const std::map<std::string, std::string> kCallers = {{"web-a", "custody-a-token-41c2"},
                                                     {"web-b", "custody-b-token-77d9"}};

class CustodyTest : public BrokerTest {
 protected:
  void StartWithCallers(const FakeSiteOptions& site = {}, const std::string& site_extra = "") {
    BrokerOptions options;
    options.site_extra = site_extra;
    options.extra_yaml = ServiceTokensYaml(kCallers) + "policy_file: \"" +
                         dir_.Write("policy.yaml", AllowEveryMethodPolicy(kCallers)) + "\"\n";
    Start(site, options);
  }

  // A two-step login with broker custody, as `caller`.
  v1::Session HeldLogin(const fixtures::BuiltinUser& user, const std::string& caller = "web-a") {
    v1::BeginLoginRequest begin;
    begin.set_username(user.login);
    begin.set_password(user.password);
    begin.set_custody(v1::TOKEN_CUSTODY_BROKER);
    v1::LoginResult challenge;
    EXPECT_GRPC_OK(stub_->BeginLogin(ContextAs(kCallers.at(caller)).get(), begin, &challenge));
    v1::SubmitSecondFactorRequest submit;
    submit.set_challenge_id(challenge.challenge().challenge_id());
    submit.set_code(site_->CurrentCode(user.totp_secret));
    v1::LoginResult result;
    EXPECT_GRPC_OK(
        stub_->SubmitSecondFactor(ContextAs(kCallers.at(caller)).get(), submit, &result));
    return result.session();
  }

  grpc::Status GetToken(const std::string& id, int min_validity_seconds, v1::AccessToken* token,
                        const std::string& caller = "web-a") {
    v1::GetAccessTokenRequest request;
    request.set_session_id(id);
    request.mutable_min_validity()->set_seconds(min_validity_seconds);
    return stub_->GetAccessToken(ContextAs(kCallers.at(caller)).get(), request, token);
  }
};

TEST_F(CustodyTest, LoginAnswersASessionIdAndNeverTheRefreshToken) {
  StartWithCallers();
  const v1::Session session = HeldLogin(fixtures::kAlice);
  EXPECT_EQ(session.session_id().size(), 64u);
  EXPECT_TRUE(session.refresh_token().empty());
  EXPECT_FALSE(session.access_token().empty());
  EXPECT_EQ(session.principal().user_login(), "alice");
  v1::AccessToken token;
  ASSERT_GRPC_OK(GetToken(session.session_id(), 0, &token));
  EXPECT_EQ(token.access_token(), session.access_token());  // still fresh: no refresh
  EXPECT_EQ(site_->Requests("refresh_token"), 0);
  EXPECT_EQ(site_->ReadProjects(token.access_token()), 200);
}

TEST_F(CustodyTest, ConcurrentCallsForAStaleSessionMakeOneRefresh) {
  FakeSiteOptions site;
  site.token_lifetime_seconds = 100;  // less than the 120 s asked for: every ask refreshes
  StartWithCallers(site);
  const v1::Session session = HeldLogin(fixtures::kBob);
  site_->SetFaults({{"latency_ms", 1500}});  // every call arrives while the one refresh runs
  int failed = 0;
  const std::set<std::string> tokens = DistinctTokens(
      RunTogether(60,
                  [&](int) {
                    v1::AccessToken token;
                    grpc::Status status = GetToken(session.session_id(), 120, &token);
                    return CallAnswer{status, token.access_token()};
                  }),
      &failed);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_NE(*tokens.begin(), session.access_token());
  EXPECT_EQ(site_->ReadProjects(*tokens.begin()), 200);
}

TEST_F(CustodyTest, ForcedRefreshRotatesTheHeldTokens) {
  StartWithCallers();
  const v1::Session session = HeldLogin(fixtures::kCarol);
  v1::RefreshSessionRequest refresh;
  refresh.set_session_id(session.session_id());
  v1::Session refreshed;
  ASSERT_GRPC_OK(stub_->RefreshSession(ContextAs(kCallers.at("web-a")).get(), refresh, &refreshed));
  EXPECT_EQ(refreshed.session_id(), session.session_id());
  EXPECT_TRUE(refreshed.refresh_token().empty());
  EXPECT_NE(refreshed.access_token(), session.access_token());
  ASSERT_GRPC_OK(stub_->RefreshSession(ContextAs(kCallers.at("web-a")).get(), refresh, &refreshed));
  // Each refresh spent the token the one before got: the broker keeps the newest.
  EXPECT_EQ(site_->Requests("refresh_token"), 2);
  EXPECT_EQ(site_->ReadProjects(refreshed.access_token()), 200);
}

TEST_F(CustodyTest, AnotherCallerSeesNoSuchSession) {
  StartWithCallers();
  const v1::Session session = HeldLogin(fixtures::kDave);
  v1::AccessToken token;
  const grpc::Status other = GetToken(session.session_id(), 0, &token, "web-b");
  EXPECT_BROKER_ERROR(other, NOT_FOUND, "SESSION_NOT_FOUND");
  EXPECT_EQ(other.error_message(),
            GetToken(std::string(64, 'f'), 0, &token, "web-b").error_message());
  v1::RevokeSessionRequest revoke;
  revoke.set_session_id(session.session_id());
  v1::RevokeSessionResponse revoked;
  ASSERT_GRPC_OK(stub_->RevokeSession(ContextAs(kCallers.at("web-b")).get(), revoke, &revoked));
  // web-b's revoke touched nothing: the owner's session still works.
  ASSERT_GRPC_OK(GetToken(session.session_id(), 0, &token));
  EXPECT_EQ(site_->Requests("refresh_token"), 0);
}

TEST_F(CustodyTest, RevokedSessionIsGoneAndRevokingAgainIsFine) {
  StartWithCallers();
  const v1::Session session = HeldLogin(fixtures::kErin);
  v1::RevokeSessionRequest revoke;
  revoke.set_session_id(session.session_id());
  v1::RevokeSessionResponse revoked;
  ASSERT_GRPC_OK(stub_->RevokeSession(ContextAs(kCallers.at("web-a")).get(), revoke, &revoked));
  EXPECT_EQ(site_->Requests("refresh_token"), 1);  // the refresh token was spent
  v1::AccessToken token;
  EXPECT_BROKER_ERROR(GetToken(session.session_id(), 0, &token), NOT_FOUND, "SESSION_NOT_FOUND");
  ASSERT_GRPC_OK(stub_->RevokeSession(ContextAs(kCallers.at("web-a")).get(), revoke, &revoked));
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
}

// Site tokens that live 100 s, so that asking for 120 s refreshes.
FakeSiteOptions ShortTokens() {
  FakeSiteOptions site;
  site.token_lifetime_seconds = 100;
  return site;
}

TEST_F(CustodyTest, SessionTheSiteNoLongerRefreshesIsDeleted) {
  StartWithCallers(ShortTokens());
  const v1::Session session = HeldLogin(fixtures::kFrank);
  site_->SetFaults(
      {{"fail", {{"kind", "status"}, {"status", 401}, {"body", "json"}, {"times", 1}}}});
  v1::AccessToken token;
  EXPECT_BROKER_ERROR(GetToken(session.session_id(), 120, &token), UNAUTHENTICATED,
                      "REFRESH_TOKEN_INVALID");
  EXPECT_BROKER_ERROR(GetToken(session.session_id(), 0, &token), NOT_FOUND, "SESSION_NOT_FOUND");
}

TEST_F(CustodyTest, SiteOutageKeepsTheSessionForLater) {
  StartWithCallers(ShortTokens());
  const v1::Session session = HeldLogin(fixtures::kGrace);
  site_->SetFaults({{"fail", {{"kind", "status"}, {"status", 503}, {"times", 1}}}});
  v1::AccessToken token;
  EXPECT_BROKER_ERROR(GetToken(session.session_id(), 120, &token), UNAVAILABLE,
                      "UPSTREAM_UNAVAILABLE");
  ASSERT_GRPC_OK(GetToken(session.session_id(), 120, &token));
  EXPECT_NE(token.access_token(), session.access_token());
}

TEST_F(CustodyTest, RefreshWhoseAnswerWasLostEndsTheSessionWhenTheSiteSpentTheToken) {
  // The broker gives up after 500 ms; the site still answers (and spends the
  // refresh token) after 2 s. The broker kept the old token, the next refresh
  // sends it, the site refuses it, and the session ends: never two refreshes
  // with one token at the same time, and no silent loss.
  StartWithCallers(ShortTokens(), "    request_timeout_ms: 500\n");
  const v1::Session session = HeldLogin(fixtures::kHeidi);
  site_->SetFaults({{"latency_ms", 2000}});
  v1::AccessToken token;
  EXPECT_BROKER_ERROR(GetToken(session.session_id(), 120, &token), UNAVAILABLE,
                      "UPSTREAM_UNAVAILABLE");
  // Until the site has the refresh and has answered it (spending the token).
  for (int i = 0; i < 800 && (site_->Requests("refresh_token") < 1 ||
                              site_->Stats().value("in_flight", 0) > 0);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(site_->Requests("refresh_token"), 1);
  site_->SetFaults({{"latency_ms", 0}});
  EXPECT_BROKER_ERROR(GetToken(session.session_id(), 120, &token), UNAUTHENTICATED,
                      "REFRESH_TOKEN_INVALID");
  EXPECT_BROKER_ERROR(GetToken(session.session_id(), 0, &token), NOT_FOUND, "SESSION_NOT_FOUND");
  EXPECT_EQ(site_->Requests("refresh_token"), 2);
}

}  // namespace
}  // namespace credbroker::testing
