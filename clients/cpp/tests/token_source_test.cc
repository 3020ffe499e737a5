// SessionTokenSource and ScriptTokenSource against the real broker: single
// flight refresh under 10 threads (one refresh_token grant at the site), the
// rotated refresh token, failures shared by waiters, script token caching,
// Invalidate(token) (a refresh for a person's session; rejected_token for a
// script, one site call however many report it), and script session tokens
// for /api3/json.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "client_test_support.h"
#include "credbroker/client.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

using client::BrokerError;

class TokenSourceTest : public SiteAndBrokerTest {
 protected:
  void SetUp() override {
    SiteOptions options;
    options.token_lifetime_seconds = 70;
    StartSiteAndBroker(options);
    stub_ = CountingStub(broker_->address(), &calls_);
  }

  v1::Session LoginAs(const std::string& user, const std::string& secret) {
    return client::Login(*stub_, user, user + "-password-1",
                         [&](const client::Challenge&) { return CurrentCode(secret); });
  }

  // Runs `work` on 10 threads released together.
  static void OnTenThreads(const std::function<void(int)>& work) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 10; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < 10) std::this_thread::yield();
        work(i);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  CallCounter calls_;
  std::shared_ptr<v1::CredentialBroker::Stub> stub_;
};

// The site's tokens live 70 s and the source wants 60 s of validity; the
// session is made to look 40 s old (30 s left), so the first AccessToken()
// must refresh, and the refreshed token (70 s) is good for the margin.
TEST_F(TokenSourceTest, TenThreadsShareOneRefresh) {
  v1::Session session = LoginAs("carol", "MNQXE33MFVZWKY3S");
  const std::string first_access = session.access_token();
  const std::string first_refresh = session.refresh_token();
  session.mutable_expire_time()->set_seconds(std::time(nullptr) + 30);
  std::vector<v1::Session> updates;
  client::TokenSourceOptions options;
  options.margin = std::chrono::seconds(60);
  options.on_update = [&](const v1::Session& s) { updates.push_back(s); };
  client::SessionTokenSource source(stub_, session, options);

  std::vector<std::string> tokens(10);
  OnTenThreads([&](int i) { tokens[i] = source.AccessToken(); });

  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(calls_.Count(kRefreshSession), 1);
  for (const std::string& token : tokens) EXPECT_EQ(token, tokens[0]);
  EXPECT_NE(tokens[0], first_access);
  EXPECT_EQ(site_->ReadProjects(tokens[0]), 200);
  // The rotated refresh token is kept; the session keeps its principal and site.
  EXPECT_FALSE(source.RefreshToken().empty());
  EXPECT_NE(source.RefreshToken(), first_refresh);
  EXPECT_EQ(source.CurrentSession().principal().user_login(), "carol");
  EXPECT_EQ(source.CurrentSession().site(), "main");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].refresh_token(), source.RefreshToken());

  // Fresh now: no further refresh.
  EXPECT_EQ(source.AccessToken(), tokens[0]);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);

  // The first refresh token was spent; the kept one works.
  v1::RefreshSessionRequest spent;
  spent.set_refresh_token(first_refresh);
  v1::Session ignored;
  grpc::ClientContext context;
  const grpc::Status status = stub_->RefreshSession(&context, spent, &ignored);
  EXPECT_EQ(client::ReasonOf(status), "REFRESH_TOKEN_INVALID");
  v1::RefreshSessionRequest kept;
  kept.set_refresh_token(source.RefreshToken());
  grpc::ClientContext context2;
  EXPECT_TRUE(stub_->RefreshSession(&context2, kept, &ignored).ok());
}

TEST_F(TokenSourceTest, FreshSessionIsNotRefreshedUntilInvalidated) {
  const v1::Session session = LoginAs("dave", "MRQXMZJNONSWG4TF");
  client::TokenSourceOptions options;
  options.margin = std::chrono::seconds(30);
  client::SessionTokenSource source(stub_, session, options);
  EXPECT_EQ(source.AccessToken(), session.access_token());
  // A token that is not the cached one (an older one) changes nothing.
  source.Invalidate("an-older-access-token");
  EXPECT_EQ(source.AccessToken(), session.access_token());
  EXPECT_EQ(site_->Requests("refresh_token"), 0);

  // The site refused it: refreshed even though it has not expired.
  source.Invalidate(session.access_token());
  const std::string fresh = source.AccessToken();
  EXPECT_NE(fresh, session.access_token());
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(calls_.Count(kRefreshSession), 1);
  EXPECT_EQ(site_->ReadProjects(fresh), 200);
  EXPECT_EQ(source.CurrentSession().principal().user_login(), "dave");
}

TEST_F(TokenSourceTest, FailedRefreshReachesEveryWaiterOnce) {
  v1::Session session;
  session.set_access_token("stale");
  session.set_refresh_token("not-a-real-refresh-token");
  session.mutable_expire_time()->set_seconds(std::time(nullptr) - 5);
  client::SessionTokenSource source(stub_, session);
  // Slow site: every thread arrives while the one refresh is in flight.
  httplib::Client(site_->url()).Post("/_fake/faults", R"({"latency_ms": 500})", "application/json");
  std::vector<std::string> reasons(10);
  OnTenThreads([&](int i) {
    try {
      source.AccessToken();
    } catch (const BrokerError& error) {
      reasons[i] = error.reason();
    }
  });
  for (const std::string& reason : reasons) EXPECT_EQ(reason, "REFRESH_TOKEN_INVALID");
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
}

TEST_F(TokenSourceTest, SessionWithoutRefreshTokenIsRejected) {
  v1::Session session;
  session.set_access_token("x");
  EXPECT_THROW(client::SessionTokenSource(stub_, session), std::invalid_argument);
}

TEST_F(TokenSourceTest, ScriptTokenIsCachedWhileValidForTheMargin) {
  client::ScriptTokenSource source(stub_, "ingest-bot", "ingest-bot-key-0001");
  const std::string first = source.AccessToken();
  EXPECT_EQ(source.AccessToken(), first);
  std::vector<std::string> tokens(10);
  OnTenThreads([&](int i) { tokens[i] = source.AccessToken(); });
  for (const std::string& token : tokens) EXPECT_EQ(token, first);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 1);
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
  EXPECT_EQ(site_->ReadProjects(first), 200);
  EXPECT_EQ(source.CurrentSession().principal().script_name(), "ingest-bot");
}

TEST_F(TokenSourceTest, ScriptTokenIsIssuedAgainWhenItWouldExpireWithinTheMargin) {
  client::TokenSourceOptions options;
  options.margin = std::chrono::seconds(600);  // longer than the site's 70 s tokens
  client::ScriptTokenSource source(stub_, "render-farm", "render-farm-key-0002", {}, options);
  source.AccessToken();
  source.AccessToken();
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 2);
}

TEST_F(TokenSourceTest, WrongScriptKeyIsInvalidScriptKey) {
  client::ScriptTokenSource source(stub_, "ingest-bot", "wrong-key");
  try {
    source.AccessToken();
    FAIL() << "no error";
  } catch (const BrokerError& error) {
    EXPECT_EQ(error.code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(error.reason(), "INVALID_SCRIPT_KEY");
    EXPECT_EQ(std::string(error.what()).find("wrong-key"), std::string::npos);
  }
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
}

// Two sources (two processes, say) hold the broker's cached token T1. One
// reports it: its ten threads make one IssueScriptSession with rejected_token
// and the site one fresh grant. The other reports T1 later: the broker no
// longer holds T1, so it answers the new token without a site call.
TEST_F(TokenSourceTest, ScriptTokenReportedRejectedIsReplacedOnceForEveryCaller) {
  client::ScriptTokenSource first(stub_, "ingest-bot", "ingest-bot-key-0001");
  client::ScriptTokenSource second(stub_, "ingest-bot", "ingest-bot-key-0001");
  const std::string t1 = first.Token();
  EXPECT_EQ(second.Token(), t1);
  EXPECT_EQ(site_->Requests("client_credentials"), 1);

  std::vector<std::string> tokens(10);
  OnTenThreads([&](int i) {
    first.Invalidate(t1);
    tokens[i] = first.Token();
  });
  const std::string t2 = tokens[0];
  EXPECT_NE(t2, t1);
  for (const std::string& token : tokens) EXPECT_EQ(token, t2);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 3);
  EXPECT_EQ(site_->Requests("client_credentials"), 2);

  second.Invalidate(t1);
  EXPECT_EQ(second.Token(), t2);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 4);
  EXPECT_EQ(site_->Requests("client_credentials"), 2);
  // Reported already: the next call sends no rejected_token and is cached.
  first.Invalidate("an-older-token");
  EXPECT_EQ(first.Token(), t2);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 4);
  EXPECT_EQ(site_->ReadProjects(t2), 200);
}

TEST_F(TokenSourceTest, ScriptSessionTokenIsKeptUntilReportedRejected) {
  client::ScriptOptions script;
  script.kind = v1::CREDENTIAL_KIND_SESSION_TOKEN;
  client::ScriptTokenSource source(stub_, "render-farm", "render-farm-key-0002", script);
  const std::string s1 = source.Token();
  EXPECT_EQ(source.Token(), s1);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 1);
  EXPECT_EQ(site_->Api3ReadProjects(s1), 2);
  const v1::Session session = source.CurrentSession();
  EXPECT_EQ(session.session_token(), s1);
  EXPECT_TRUE(session.access_token().empty());
  EXPECT_EQ(session.principal().script_name(), "render-farm");
  EXPECT_EQ(session.site_url(), site_->url());

  source.Invalidate(s1);
  const std::string s2 = source.Token();
  EXPECT_NE(s2, s1);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 2);
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 2);
  EXPECT_EQ(site_->Api3ReadProjects(s2), 2);
  EXPECT_EQ(site_->Requests("client_credentials"), 0);
}

}  // namespace
}  // namespace credbroker::client_testing
