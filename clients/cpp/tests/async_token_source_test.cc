// AsyncScriptTokenSource and AsyncSessionTokenSource, the callback-API token
// sources, against the real broker: Token() returns before the broker
// answers, concurrent callers share one call (one site grant), a cached
// token answers on the caller's thread, Invalidate(token) reports a script
// token as rejected (one fresh site grant) or refreshes a person's session,
// the rotated refresh token is kept and on_update told, failures reach every
// waiter, Revoke(), and a call in flight outlives its source.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client_test_support.h"
#include "credbroker/client.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

class AsyncTokenSourceTest : public SiteAndBrokerTest {
 protected:
  void SetUp() override {
    SiteOptions options;
    options.token_lifetime_seconds = 70;
    StartSiteAndBroker(options);
    stub_ = KeptUntilExit(CountingStub(broker_->address(), &calls_));
  }
  // The site answers after 1 s: every Token() that asks the broker returns long before.
  void SlowSite() {
    httplib::Client(site_->url())
        .Post("/_fake/faults", R"({"latency_ms": 1000})", "application/json");
  }
  template <typename Source>
  std::vector<Answer> TenCallersAtOnce(Source& source) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::future<Answer>> pending;
    for (int i = 0; i < 10; ++i) pending.push_back(AskToken(source));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
    std::vector<Answer> answers;
    for (auto& answer : pending) answers.push_back(answer.get());
    return answers;
  }

  CallCounter calls_;
  std::shared_ptr<v1::CredentialBroker::Stub> stub_;
};

TEST_F(AsyncTokenSourceTest, ScriptCallersShareOneIssueAndTheCacheAnswersOnTheirThread) {
  client::AsyncScriptTokenSource source(stub_, "ingest-bot", "ingest-bot-key-0001");
  SlowSite();
  const std::vector<Answer> answers = TenCallersAtOnce(source);
  for (const Answer& a : answers) {
    EXPECT_FALSE(a.reason.has_value()) << *a.reason;
    EXPECT_EQ(a.token, answers[0].token);
    EXPECT_NE(a.thread, std::this_thread::get_id());
  }
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 1);
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
  EXPECT_EQ(site_->ReadProjects(answers[0].token), 200);
  EXPECT_EQ(source.CurrentSession().principal().script_name(), "ingest-bot");

  const Answer cached = AskToken(source).get();
  EXPECT_EQ(cached.token, answers[0].token);
  EXPECT_EQ(cached.thread, std::this_thread::get_id());
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 1);
}

TEST_F(AsyncTokenSourceTest, ScriptTokenReportedRejectedIsReplaced) {
  client::AsyncScriptTokenSource source(stub_, "render-farm", "render-farm-key-0002");
  const std::string t1 = AskToken(source).get().token;
  source.Invalidate("an-older-token");  // not the cached one: nothing changes
  EXPECT_EQ(AskToken(source).get().token, t1);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 1);

  source.Invalidate(t1);
  const Answer fresh = AskToken(source).get();
  ASSERT_FALSE(fresh.reason.has_value()) << *fresh.reason;
  EXPECT_NE(fresh.token, t1);
  EXPECT_EQ(calls_.Count(kIssueScriptSession), 2);
  // rejected_token made the broker drop its cached token for a fresh grant.
  EXPECT_EQ(site_->Requests("client_credentials"), 2);
  EXPECT_EQ(site_->ReadProjects(fresh.token), 200);
}

TEST_F(AsyncTokenSourceTest, ScriptSessionTokens) {
  client::ScriptOptions script;
  script.kind = v1::CREDENTIAL_KIND_SESSION_TOKEN;
  client::AsyncScriptTokenSource source(stub_, "ingest-bot", "ingest-bot-key-0001", script);
  const Answer s1 = AskToken(source).get();
  ASSERT_FALSE(s1.reason.has_value()) << *s1.reason;
  EXPECT_EQ(site_->Api3ReadProjects(s1.token), 2);
  EXPECT_EQ(AskToken(source).get().token, s1.token);
  source.Invalidate(s1.token);
  const Answer s2 = AskToken(source).get();
  EXPECT_NE(s2.token, s1.token);
  EXPECT_EQ(site_->Api3ReadProjects(s2.token), 2);
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 2);
}

TEST_F(AsyncTokenSourceTest, WrongScriptKeyReachesEveryWaiter) {
  client::AsyncScriptTokenSource source(stub_, "ingest-bot", "wrong-key");
  SlowSite();
  for (const Answer& a : TenCallersAtOnce(source)) {
    EXPECT_EQ(a.reason, client::reason::kInvalidScriptKey);
    EXPECT_EQ(a.token, "");
  }
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
}

// The session looks 40 s old (30 s left) and the source wants 60 s: the first
// callers refresh, once.
TEST_F(AsyncTokenSourceTest, SessionRefreshesOnceAndKeepsTheRotatedRefreshToken) {
  v1::Session session =
      client::Login(*stub_, "frank", "frank-password-1",
                    [](const client::Challenge&) { return CurrentCode("MZZGC3TLFVZWKY3S"); });
  const std::string first_refresh = session.refresh_token();
  session.mutable_expire_time()->set_seconds(std::time(nullptr) + 30);
  std::mutex mutex;
  std::vector<std::string> updates;  // the refresh tokens on_update was given
  client::TokenSourceOptions options;
  options.margin = std::chrono::seconds(60);
  options.on_update = [&](const v1::Session& s) {
    std::lock_guard<std::mutex> lock(mutex);
    updates.push_back(s.refresh_token());
  };
  client::AsyncSessionTokenSource source(stub_, session, options);
  SlowSite();

  const std::vector<Answer> answers = TenCallersAtOnce(source);
  for (const Answer& a : answers) {
    EXPECT_FALSE(a.reason.has_value()) << *a.reason;
    EXPECT_EQ(a.token, answers[0].token);
  }
  EXPECT_NE(answers[0].token, session.access_token());
  EXPECT_EQ(calls_.Count(kRefreshSession), 1);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(site_->ReadProjects(answers[0].token), 200);
  EXPECT_NE(source.RefreshToken(), first_refresh);
  EXPECT_FALSE(source.RefreshToken().empty());
  {
    // Told before the waiters were answered.
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(updates, std::vector<std::string>{source.RefreshToken()});
  }
  EXPECT_EQ(source.CurrentSession().principal().user_login(), "frank");

  // Refused by the site: the next Token() refreshes with the kept refresh token.
  source.Invalidate(answers[0].token);
  const Answer fresh = AskToken(source).get();
  ASSERT_FALSE(fresh.reason.has_value()) << *fresh.reason;
  EXPECT_NE(fresh.token, answers[0].token);
  EXPECT_EQ(site_->Requests("refresh_token"), 2);
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(updates.size(), 2u);
}

TEST_F(AsyncTokenSourceTest, RevokedSessionNoLongerRefreshes) {
  const v1::Session session =
      client::Login(*stub_, "grace", "grace-password-1",
                    [](const client::Challenge&) { return CurrentCode("M5ZGCY3FFVZWKY3S"); });
  client::AsyncSessionTokenSource source(stub_, session);
  std::promise<std::optional<std::string>> revoked;
  source.Revoke([&](const client::BrokerError* error) {
    revoked.set_value(error ? std::optional<std::string>(error->reason()) : std::nullopt);
  });
  EXPECT_EQ(revoked.get_future().get(), std::nullopt);
  source.Invalidate(session.access_token());
  const Answer after = AskToken(source).get();
  EXPECT_EQ(after.reason, client::reason::kRefreshTokenInvalid);
  EXPECT_EQ(after.token, "");
}

TEST_F(AsyncTokenSourceTest, CallInFlightOutlivesTheSource) {
  std::future<Answer> answer;
  {
    client::AsyncScriptTokenSource source(stub_, "ingest-bot", "ingest-bot-key-0001");
    answer = AskToken(source);
  }
  const Answer got = answer.get();
  EXPECT_FALSE(got.reason.has_value()) << *got.reason;
  EXPECT_EQ(site_->ReadProjects(got.token), 200);
}

TEST_F(AsyncTokenSourceTest, MissingStubOrRefreshTokenIsAnArgumentError) {
  EXPECT_THROW(client::AsyncSessionTokenSource(stub_, v1::Session()), std::invalid_argument);
  EXPECT_THROW(client::AsyncScriptTokenSource(nullptr, "ingest-bot", ""), std::invalid_argument);
}

}  // namespace
}  // namespace credbroker::client_testing
