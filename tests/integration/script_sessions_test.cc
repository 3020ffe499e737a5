// IssueScriptSession with a caller-supplied key: unchanged by 2FA, cached per
// (site, script, key digest, sudo_as), one site call for a stampede.
#include <thread>
#include <vector>

#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

using ScriptSessionsTest = BrokerTest;

TEST_F(ScriptSessionsTest, ScriptKeysWorkOnATwoFactorSite) {
  Start();  // 2FA on
  v1::Session session;
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &session));
  EXPECT_EQ(session.principal().script_name(), "ingest-bot");
  EXPECT_TRUE(session.principal().user_login().empty());
  EXPECT_TRUE(session.refresh_token().empty());
  EXPECT_EQ(session.token_type(), "Bearer");
  EXPECT_EQ(site_->ReadProjects(session.access_token()), 200);
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
}

TEST_F(ScriptSessionsTest, RepeatedRequestsAreServedFromTheCache) {
  Start();
  v1::Session first, second;
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &first));
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &second));
  EXPECT_EQ(first.access_token(), second.access_token());
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
  // Another sudo_as user is another session.
  v1::Session as_bob;
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &as_bob, "bob"));
  EXPECT_EQ(as_bob.principal().sudo_as_login(), "bob");
  EXPECT_NE(as_bob.access_token(), first.access_token());
  EXPECT_EQ(site_->Requests("client_credentials"), 2);
}

TEST_F(ScriptSessionsTest, AWrongKeyIsNeverServedTheCachedToken) {
  Start();
  v1::Session session;
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &session));
  EXPECT_BROKER_ERROR(IssueScript(fixtures::kIngestBotName, "wrong-key", &session), UNAUTHENTICATED,
                      "INVALID_SCRIPT_KEY");
  EXPECT_BROKER_ERROR(IssueScript("no-such-script", "key", &session), UNAUTHENTICATED,
                      "INVALID_SCRIPT_KEY");
  EXPECT_EQ(site_->Requests("client_credentials"), 3);
}

TEST_F(ScriptSessionsTest, ConcurrentColdRequestsMakeOneSiteCall) {
  Start();
  site_->SetFaults({{"latency_ms", 300}});
  constexpr int kCallers = 200;
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(kCallers);
  std::vector<std::string> tokens(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      v1::Session session;
      statuses[i] = IssueScript(fixtures::kRenderFarmName, fixtures::kRenderFarmKey, &session);
      tokens[i] = session.access_token();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(tokens[i], tokens[0]);
  }
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
}

TEST_F(ScriptSessionsTest, SudoToAnInactiveUserIsRefused) {
  Start();
  v1::Session session;
  EXPECT_BROKER_ERROR(
      IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &session, "mallory"),
      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
}

TEST_F(ScriptSessionsTest, KeyringScriptsNeedAPolicyEntryEvenForAnonymousCallers) {
  Start();  // no keyring, no policy: the keyring is closed to everyone
  v1::Session session;
  EXPECT_BROKER_ERROR(IssueScript(fixtures::kIngestBotName, "", &session), PERMISSION_DENIED,
                      "CALLER_NOT_ALLOWED");
  EXPECT_BROKER_ERROR(IssueScript("", "key", &session), INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_EQ(site_->Requests("client_credentials"), 0);
}

}  // namespace
}  // namespace credbroker::testing
