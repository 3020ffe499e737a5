// Browser-approved login (the app session launcher Toolkit uses on SSO and
// Autodesk Identity sites): the broker opens the site's request under its own
// id, waits while it polls, and hands out a session token or REST tokens once
// the person approves. Approval goes through the fake site's control API, as
// a person's browser would through its page.
#include <chrono>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "broker_fixture.h"
#include "concurrent_calls.h"
#include "credbroker/error_detail.h"
#include "redis_server.h"
#include "service_tokens.h"

namespace credbroker::testing {
namespace {

using std::chrono::milliseconds;

class BrowserLoginTest : public BrokerTest {
 protected:
  // An SSO site (passwords refused) and a broker polling it every
  // `poll_interval_ms`.
  void StartSso(int poll_interval_ms = 100, std::string extra_yaml = "") {
    FakeSiteOptions sso;
    sso.auth_mode = "sso";
    BrokerOptions options;
    options.extra_yaml = "browser_login:\n  poll_interval_ms: " + std::to_string(poll_interval_ms) +
                         "\n" + extra_yaml;
    Start(sso, options);
  }

  v1::BrowserLoginChallenge Begin(v1::CredentialKind kind = v1::CREDENTIAL_KIND_SESSION_TOKEN,
                                  v1::TokenCustody custody = v1::TOKEN_CUSTODY_CALLER) {
    v1::BeginBrowserLoginRequest request;
    request.set_kind(kind);
    request.set_custody(custody);
    v1::BrowserLoginChallenge challenge;
    const grpc::Status status =
        stub_->BeginBrowserLogin(ContextWithDeadline().get(), request, &challenge);
    EXPECT_TRUE(IsOk(status));
    return challenge;
  }

  // Waits up to `wait_ms` (negative: leaves `wait` unset).
  grpc::Status Complete(const std::string& request_id, int wait_ms, v1::Session* session,
                        v1::CredentialBroker::Stub* stub = nullptr) {
    v1::CompleteBrowserLoginRequest request;
    request.set_request_id(request_id);
    if (wait_ms >= 0) {
      request.mutable_wait()->set_seconds(wait_ms / 1000);
      request.mutable_wait()->set_nanos((wait_ms % 1000) * 1000000);
    }
    return (stub ? stub : stub_.get())
        ->CompleteBrowserLogin(ContextWithDeadline(70).get(), request, session);
  }
};

TEST_F(BrowserLoginTest, APersonApprovesInTheBrowserAndGetsASessionToken) {
  StartSso();
  const auto begun_at = std::chrono::system_clock::now();
  const v1::BrowserLoginChallenge challenge = Begin();
  EXPECT_EQ(challenge.request_id().size(), 64u);
  EXPECT_TRUE(absl::StartsWith(challenge.approval_url(), site_->url() + "/app_session_request/"))
      << challenge.approval_url();
  const int64_t lifetime =
      challenge.expire_time().seconds() -
      std::chrono::duration_cast<std::chrono::seconds>(begun_at.time_since_epoch()).count();
  EXPECT_GE(lifetime, 179);
  EXPECT_LE(lifetime, 181);
  // The site's own id never leaves the broker.
  const nlohmann::json requests = site_->AppSessionRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0]["id"].get<std::string>(), challenge.request_id());
  EXPECT_EQ(requests[0]["app_name"], "credential-broker");
  EXPECT_FALSE(requests[0]["machine_id"].get<std::string>().empty());

  // Not approved yet: an explicit wait of 0 asks the site once and answers.
  v1::Session session;
  const grpc::Status pending = Complete(challenge.request_id(), 0, &session);
  EXPECT_BROKER_ERROR(pending, FAILED_PRECONDITION, "APPROVAL_PENDING");
  const auto detail = client::ErrorDetailOf(pending);
  ASSERT_TRUE(detail.has_value());
  EXPECT_GT(detail->retry_after().seconds() * 1000 + detail->retry_after().nanos() / 1000000, 0);
  EXPECT_EQ(site_->LauncherCount("poll"), 1);

  std::thread person([&] {
    std::this_thread::sleep_for(milliseconds(400));
    EXPECT_TRUE(site_->ApproveAppSession(challenge.approval_url(), fixtures::kAlice.login));
  });
  const grpc::Status approved = Complete(challenge.request_id(), 10000, &session);
  person.join();
  ASSERT_GRPC_OK(approved);
  EXPECT_FALSE(session.session_token().empty());
  EXPECT_TRUE(session.access_token().empty());
  EXPECT_EQ(session.principal().user_login(), "alice");
  EXPECT_EQ(session.site_url(), site_->url());
  EXPECT_TRUE(site_->SessionTokenWorks(session.session_token()));

  // Used up: the site would still say "approved", the broker hands out nothing more.
  EXPECT_BROKER_ERROR(Complete(challenge.request_id(), 0, &session), FAILED_PRECONDITION,
                      "CHALLENGE_NOT_FOUND");
}

TEST_F(BrowserLoginTest, RestKindExchangesTheApprovedSessionInEitherCustody) {
  StartSso();
  const v1::BrowserLoginChallenge caller_held = Begin(v1::CREDENTIAL_KIND_REST);
  ASSERT_TRUE(site_->ApproveAppSession(caller_held.approval_url(), fixtures::kBob.login));
  v1::Session rest;
  ASSERT_GRPC_OK(Complete(caller_held.request_id(), -1, &rest));
  EXPECT_EQ(site_->ReadProjects(rest.access_token()), 200);
  EXPECT_FALSE(rest.refresh_token().empty());
  EXPECT_EQ(rest.principal().user_login(), "bob");
  EXPECT_TRUE(rest.session_token().empty());

  const v1::BrowserLoginChallenge broker_held =
      Begin(v1::CREDENTIAL_KIND_REST, v1::TOKEN_CUSTODY_BROKER);
  ASSERT_TRUE(site_->ApproveAppSession(broker_held.approval_url(), fixtures::kCarol.login));
  v1::Session held;
  ASSERT_GRPC_OK(Complete(broker_held.request_id(), -1, &held));
  EXPECT_FALSE(held.session_id().empty());
  EXPECT_TRUE(held.refresh_token().empty());
  v1::AccessToken access;
  ASSERT_GRPC_OK(GetAccessToken(held.session_id(), &access));
  EXPECT_EQ(site_->ReadProjects(access.access_token()), 200);
  EXPECT_EQ(site_->Requests("session_token"), 2);
}

TEST_F(BrowserLoginTest, ConcurrentCompletionsShareOnePollingLoop) {
  StartSso(/*poll_interval_ms=*/1000);
  const v1::BrowserLoginChallenge challenge = Begin();
  std::thread person([&] {
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_TRUE(site_->ApproveAppSession(challenge.approval_url(), fixtures::kDave.login));
  });
  int failed = 0;
  const std::set<std::string> tokens = DistinctTokens(
      RunTogether(8,
                  [&](int) {
                    v1::Session session;
                    grpc::Status status = Complete(challenge.request_id(), 10000, &session);
                    return CallAnswer{status, session.session_token()};
                  }),
      &failed);
  person.join();
  EXPECT_EQ(failed, 0);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_TRUE(site_->SessionTokenWorks(*tokens.begin()));
  // One loop: a poll at once, the next a second later finds the approval.
  // Eight loops would have made at least eight.
  EXPECT_LE(site_->LauncherCount("poll"), 3);
}

TEST_F(BrowserLoginTest, AWaitThatEndsAnswersPendingAndTheLoopStops) {
  StartSso(/*poll_interval_ms=*/100);
  const v1::BrowserLoginChallenge challenge = Begin();
  v1::Session session;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_BROKER_ERROR(Complete(challenge.request_id(), 700, &session), FAILED_PRECONDITION,
                      "APPROVAL_PENDING");
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(650));
  // With nobody waiting, the broker stops asking the site.
  std::this_thread::sleep_for(milliseconds(300));
  const int polls = site_->LauncherCount("poll");
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(site_->LauncherCount("poll"), polls);
  // A later completion picks up where the person is.
  ASSERT_TRUE(site_->ApproveAppSession(challenge.approval_url(), fixtures::kErin.login));
  ASSERT_GRPC_OK(Complete(challenge.request_id(), 5000, &session));
  EXPECT_EQ(session.principal().user_login(), "erin");
}

TEST_F(BrowserLoginTest, ARejectedRequestIsGone) {
  StartSso();
  const v1::BrowserLoginChallenge challenge = Begin();
  ASSERT_TRUE(site_->RejectAppSession(challenge.approval_url()));
  v1::Session session;
  EXPECT_BROKER_ERROR(Complete(challenge.request_id(), 5000, &session), FAILED_PRECONDITION,
                      "CHALLENGE_NOT_FOUND");
  const int polls = site_->LauncherCount("poll");
  EXPECT_BROKER_ERROR(Complete(challenge.request_id(), 5000, &session), FAILED_PRECONDITION,
                      "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(site_->LauncherCount("poll"), polls);  // forgotten, not asked again
}

TEST_F(BrowserLoginTest, SiteErrorsWhilePollingAreRetried) {
  StartSso(/*poll_interval_ms=*/50);
  const v1::BrowserLoginChallenge challenge = Begin();
  ASSERT_TRUE(site_->ApproveAppSession(challenge.approval_url(), fixtures::kFrank.login));
  ASSERT_TRUE(site_->FailAppSessionPolls(challenge.approval_url(), 2, 503));
  v1::Session session;
  ASSERT_GRPC_OK(Complete(challenge.request_id(), 10000, &session));
  EXPECT_EQ(session.principal().user_login(), "frank");
  EXPECT_EQ(site_->LauncherCount("poll"), 3);
}

TEST_F(BrowserLoginTest, ABadRequestIsRefusedBeforeTheSite) {
  StartSso();
  v1::Session session;
  EXPECT_BROKER_ERROR(Complete(std::string(64, 'a'), 61000, &session), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(Complete("not-an-id", 0, &session), INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(Complete(std::string(64, 'a'), 0, &session), FAILED_PRECONDITION,
                      "CHALLENGE_NOT_FOUND");
  v1::BeginBrowserLoginRequest held_session_token;
  held_session_token.set_kind(v1::CREDENTIAL_KIND_SESSION_TOKEN);
  held_session_token.set_custody(v1::TOKEN_CUSTODY_BROKER);
  v1::BrowserLoginChallenge challenge;
  EXPECT_BROKER_ERROR(
      stub_->BeginBrowserLogin(ContextWithDeadline().get(), held_session_token, &challenge),
      INVALID_ARGUMENT, "INVALID_REQUEST");
  v1::BeginBrowserLoginRequest unknown_site;
  unknown_site.set_site("elsewhere");
  EXPECT_BROKER_ERROR(
      stub_->BeginBrowserLogin(ContextWithDeadline().get(), unknown_site, &challenge), NOT_FOUND,
      "UNKNOWN_SITE");
  EXPECT_EQ(site_->LauncherCount("create"), 0);
  EXPECT_EQ(site_->LauncherCount("poll"), 0);
}

TEST_F(BrowserLoginTest, TheRequestBelongsToItsCaller) {
  const std::map<std::string, std::string> callers = {{"web", "web-token-51c2"},
                                                      {"other", "other-token-9d0e"}};
  StartSso(100, ServiceTokensYaml(callers) + "policy_file: \"" +
                    dir_.Write("policy.yaml", AllowEveryMethodPolicy(callers)) + "\"\n");
  v1::BeginBrowserLoginRequest request;
  request.set_kind(v1::CREDENTIAL_KIND_SESSION_TOKEN);
  request.set_app_name("Nuke pipeline");
  v1::BrowserLoginChallenge challenge;
  ASSERT_GRPC_OK(stub_->BeginBrowserLogin(ContextAs(callers.at("web")).get(), request, &challenge));
  EXPECT_EQ(site_->AppSessionRequests()[0]["app_name"], "Nuke pipeline");
  ASSERT_TRUE(site_->ApproveAppSession(challenge.approval_url(), fixtures::kGrace.login));
  v1::CompleteBrowserLoginRequest complete;
  complete.set_request_id(challenge.request_id());
  v1::Session session;
  EXPECT_BROKER_ERROR(
      stub_->CompleteBrowserLogin(ContextAs(callers.at("other")).get(), complete, &session),
      FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(site_->LauncherCount("poll"), 0);
  ASSERT_GRPC_OK(
      stub_->CompleteBrowserLogin(ContextAs(callers.at("web")).get(), complete, &session));
  EXPECT_EQ(session.principal().user_login(), "grace");
}

TEST_F(BrowserLoginTest, NeitherTheSitesIdNorTheTokenIsLogged) {
  StartSso(100);
  const v1::BrowserLoginChallenge challenge = Begin();
  const std::string site_id = site_->AppSessionRequests()[0]["id"];
  ASSERT_TRUE(site_->ApproveAppSession(site_id, fixtures::kHeidi.login));
  v1::Session session;
  ASSERT_GRPC_OK(Complete(challenge.request_id(), 5000, &session));
  ASSERT_TRUE(broker_->WaitForLogLine({"\"step\":\"complete_browser_login\"", "heidi"}));
  const std::string logs = broker_->LogsAfterStop();
  EXPECT_EQ(logs.find(site_id), std::string::npos);
  EXPECT_EQ(logs.find(session.session_token()), std::string::npos);
}

// Replicas on one Redis: completions waiting on every replica when the person
// approves all get the one session, and the request is used up everywhere.
TEST(BrowserLoginReplicasTest, CompletionsOnEveryReplicaGetTheOneSession) {
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(std::nullopt, false);
  ASSERT_TRUE(redis.ok()) << redis.status();
  TempDir dir;
  FakeSiteOptions sso;
  sso.auth_mode = "sso";
  FakeSiteProcess site(dir, sso);
  std::vector<std::unique_ptr<BrokerProcess>> replicas;
  std::vector<std::unique_ptr<v1::CredentialBroker::Stub>> stubs;
  for (const char* name : {"a", "b", "c"}) {
    BrokerOptions options;
    options.name = name;
    options.site_url = site.url();
    options.extra_yaml = "browser_login:\n  poll_interval_ms: 100\nseal_key_file: \"" +
                         dir.Write("seal.key", std::string(32, 'r')) + "\"\n" +
                         "store:\n  redis:\n    address: \"" + (*redis)->address() + "\"\n";
    replicas.push_back(std::make_unique<BrokerProcess>(dir, options));
    stubs.push_back(replicas.back()->Stub());
  }
  v1::BeginBrowserLoginRequest begin;
  begin.set_kind(v1::CREDENTIAL_KIND_SESSION_TOKEN);
  v1::BrowserLoginChallenge challenge;
  ASSERT_GRPC_OK(stubs[0]->BeginBrowserLogin(ContextWithDeadline().get(), begin, &challenge));
  v1::CompleteBrowserLoginRequest complete;
  complete.set_request_id(challenge.request_id());
  complete.mutable_wait()->set_seconds(10);
  std::thread person([&] {
    std::this_thread::sleep_for(milliseconds(500));
    EXPECT_TRUE(site.ApproveAppSession(challenge.approval_url(), fixtures::kAlice.login));
  });
  int failed = 0;
  const std::set<std::string> tokens =
      DistinctTokens(RunTogether(9,
                                 [&](int i) {
                                   v1::Session session;
                                   grpc::Status status = stubs[i % 3]->CompleteBrowserLogin(
                                       ContextWithDeadline().get(), complete, &session);
                                   return CallAnswer{status, session.session_token()};
                                 }),
                     &failed);
  person.join();
  EXPECT_EQ(failed, 0);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_TRUE(site.SessionTokenWorks(*tokens.begin()));
  for (auto& stub : stubs) {
    v1::Session session;
    EXPECT_BROKER_ERROR(stub->CompleteBrowserLogin(ContextWithDeadline().get(), complete, &session),
                        FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND");
  }
}

}  // namespace
}  // namespace credbroker::testing
