// BrowserLogin (the app session launcher through the broker) with the C++
// client against the real broker and a fake site whose password logins are
// refused (SSO, Autodesk Identity) or allowed: the person approves on the
// approval page or the site's control API decides, REST tokens or a session
// token come back; a rejection is CHALLENGE_NOT_FOUND, no approval within
// max_wait is APPROVAL_PENDING, a cancellation ends the wait at once; and the
// single steps (BeginBrowserLogin, CompleteBrowserLogin) with the broker's
// answers to a zero wait, a wait above 60 s, a used-up request and a session
// token asked for with broker custody.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "client_test_support.h"
#include "credbroker/client.h"
#include "eventually.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

using client::BrokerError;
using std::chrono::seconds;
namespace reason = client::reason;

// A BrowserLogin() running on its own thread, as a program would block in it.
class PendingLogin {
 public:
  PendingLogin(v1::CredentialBroker::StubInterface& stub, client::BrowserLoginOptions options) {
    std::promise<client::BrowserApproval> shown;
    approval_ = shown.get_future();
    result_ = std::async(std::launch::async, [&stub, options, shown = std::move(shown)]() mutable {
      try {
        v1::Session session = client::BrowserLogin(
            stub, [&](const client::BrowserApproval& a) { shown.set_value(a); }, options);
        return Outcome{session, std::nullopt};
      } catch (const BrokerError& error) {
        return Outcome{v1::Session(), error};
      }
    });
  }

  struct Outcome {
    v1::Session session;
    std::optional<BrokerError> error;
  };

  // What the person was shown (waits for it).
  client::BrowserApproval Approval() {
    if (!approval_shown_) approval_shown_ = approval_.get();
    return *approval_shown_;
  }
  Outcome Result() { return result_.get(); }

 private:
  std::future<client::BrowserApproval> approval_;
  std::optional<client::BrowserApproval> approval_shown_;
  std::future<Outcome> result_;
};

class BrowserLoginTest : public SiteAndBrokerTest {
 protected:
  void Start(const std::string& auth_mode) {
    StartBrowserLoginSite(auth_mode);
    stub_ = client::ConnectStub(broker_->address());
  }

  std::shared_ptr<v1::CredentialBroker::Stub> stub_;
};

TEST_F(BrowserLoginTest, ApprovedOnTheApprovalPageOfAnSsoSiteGivesRestTokens) {
  Start("sso");
  PendingLogin login(*stub_, {});
  const client::BrowserApproval approval = login.Approval();
  const std::string site_id = site_->OnlyLauncherRequestId();
  EXPECT_EQ(approval.approval_url, site_->url() + "/app_session_request/" + site_id);
  EXPECT_FALSE(approval.request_id.empty());
  EXPECT_NE(approval.request_id, site_id);
  const auto lifetime = approval.expire_time - std::chrono::system_clock::now();
  EXPECT_GT(lifetime, seconds(170));
  EXPECT_LE(lifetime, seconds(181));
  EXPECT_EQ(site_->LauncherRequests()[0]["app_name"], "credential-broker");

  // A wrong password on the page approves nothing.
  EXPECT_EQ(site_->SubmitApprovalPage(approval.approval_url, "alice", "wrong", "approve"), 403);
  EXPECT_EQ(
      site_->SubmitApprovalPage(approval.approval_url, "alice", "alice-password-1", "approve"),
      200);
  const PendingLogin::Outcome outcome = login.Result();
  ASSERT_FALSE(outcome.error) << outcome.error->what();
  const v1::Session& session = outcome.session;
  EXPECT_EQ(session.principal().user_login(), "alice");
  EXPECT_EQ(site_->ReadProjects(session.access_token()), 200);
  EXPECT_FALSE(session.refresh_token().empty());
  EXPECT_TRUE(session.session_token().empty());
  EXPECT_EQ(session.site(), "main");
  EXPECT_EQ(session.site_url(), site_->url());
  // The approved session token was exchanged; no password grant.
  EXPECT_EQ(site_->Requests("session_token"), 1);
  EXPECT_EQ(site_->Requests("password"), 0);
  EXPECT_EQ(site_->LauncherEvents("create"), 1);
  EXPECT_EQ(site_->LauncherEvents("approve"), 1);
}

TEST_F(BrowserLoginTest, SessionTokenOnAnIdentitySiteWithTheCallersAppAndMachine) {
  Start("identity");
  client::BrowserLoginOptions options;
  options.kind = v1::CREDENTIAL_KIND_SESSION_TOKEN;
  options.app_name = "pipeline-tool";
  options.machine_id = "ws-042";
  PendingLogin login(*stub_, options);
  login.Approval();
  const nlohmann::json request = site_->LauncherRequests()[0];
  EXPECT_EQ(request["app_name"], "pipeline-tool");
  EXPECT_EQ(request["machine_id"], "ws-042");
  site_->Control("/_fake/app_session_request/" + request["id"].get<std::string>(),
                 {{"approve_as", "bob"}});
  const PendingLogin::Outcome outcome = login.Result();
  ASSERT_FALSE(outcome.error) << outcome.error->what();
  EXPECT_EQ(outcome.session.principal().user_login(), "bob");
  EXPECT_TRUE(outcome.session.access_token().empty());
  EXPECT_FALSE(outcome.session.has_expire_time());
  EXPECT_EQ(site_->Api3ReadProjects(outcome.session.session_token()), 2);
  EXPECT_EQ(site_->Requests("session_token"), 0);
}

TEST_F(BrowserLoginTest, RejectedOnThePageIsChallengeNotFound) {
  // Password sites have the launcher too.
  Start("password");
  PendingLogin login(*stub_, {});
  EXPECT_EQ(site_->SubmitApprovalPage(login.Approval().approval_url, "", "", "reject"), 200);
  const PendingLogin::Outcome outcome = login.Result();
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(outcome.error->reason(), reason::kChallengeNotFound);
  EXPECT_EQ(site_->LauncherEvents("reject"), 1);
  EXPECT_EQ(site_->Requests("session_token"), 0);
}

TEST_F(BrowserLoginTest, NobodyApprovingWithinMaxWaitIsApprovalPending) {
  Start("sso");
  client::BrowserLoginOptions options;
  options.max_wait = std::chrono::milliseconds(1500);
  const auto started = std::chrono::steady_clock::now();
  const BrokerError error = ErrorOf([&] { client::BrowserLogin(*stub_, nullptr, options); });
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(error.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(error.reason(), reason::kApprovalPending);
  EXPECT_GT(error.retry_after().count(), 0);
  EXPECT_GE(took, std::chrono::milliseconds(1400));
  EXPECT_LT(took, seconds(5));
  // The broker polled the site meanwhile; the request is still there, undecided.
  EXPECT_GE(site_->LauncherEvents("poll"), 2);
  EXPECT_EQ(site_->LauncherRequests()[0]["state"], "pending");
}

TEST_F(BrowserLoginTest, CancellationEndsTheWaitAtOnce) {
  Start("sso");
  client::LoginCancellation cancellation;
  client::BrowserLoginOptions options;
  options.cancellation = &cancellation;
  PendingLogin login(*stub_, options);
  login.Approval();
  // The CompleteBrowserLogin call (a 30 s wait) is in flight once the site is polled.
  ASSERT_TRUE(testing::Eventually([&] { return site_->LauncherEvents("poll") >= 1; }));
  const auto cancelled_at = std::chrono::steady_clock::now();
  cancellation.Cancel();
  const PendingLogin::Outcome outcome = login.Result();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, seconds(3));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(cancellation.cancelled());
  // Cancelled before it starts: no request at the site.
  const BrokerError again = ErrorOf([&] { client::BrowserLogin(*stub_, nullptr, options); });
  EXPECT_EQ(again.code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(site_->LauncherEvents("create"), 1);
}

TEST_F(BrowserLoginTest, SingleStepsAndTheBrokersAnswers) {
  Start("sso");
  client::BrowserLoginOptions options;
  options.custody = v1::TOKEN_CUSTODY_BROKER;
  const client::BrowserApproval approval = client::BeginBrowserLogin(*stub_, options);

  // A zero wait: one poll, answered at once.
  const BrokerError pending =
      ErrorOf([&] { client::CompleteBrowserLogin(*stub_, approval.request_id, seconds(0)); });
  EXPECT_EQ(pending.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(pending.reason(), reason::kApprovalPending);
  EXPECT_GT(pending.retry_after().count(), 0);
  const BrokerError too_long =
      ErrorOf([&] { client::CompleteBrowserLogin(*stub_, approval.request_id, seconds(61)); });
  EXPECT_EQ(too_long.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(too_long.reason(), reason::kInvalidRequest);
  // Ids are 64 hex characters: an unknown one is not found, anything else malformed.
  EXPECT_EQ(approval.request_id.size(), 64u);
  const BrokerError unknown =
      ErrorOf([&] { client::CompleteBrowserLogin(*stub_, std::string(64, 'a'), seconds(0)); });
  EXPECT_EQ(unknown.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(unknown.reason(), reason::kChallengeNotFound);
  const BrokerError malformed =
      ErrorOf([&] { client::CompleteBrowserLogin(*stub_, "no-such-request", seconds(0)); });
  EXPECT_EQ(malformed.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(malformed.reason(), reason::kInvalidRequest);

  site_->Control("/_fake/app_session_request/" + site_->OnlyLauncherRequestId(),
                 {{"approve_as", "carol"}});
  const v1::Session held = client::CompleteBrowserLogin(*stub_, approval.request_id, seconds(5));
  EXPECT_EQ(held.session_id().size(), 64u);
  EXPECT_TRUE(held.refresh_token().empty());
  EXPECT_EQ(held.principal().user_login(), "carol");
  client::HeldSessionTokenSource tokens(stub_, held.session_id());
  EXPECT_EQ(site_->ReadProjects(tokens.Token()), 200);
  // Used up.
  const BrokerError used =
      ErrorOf([&] { client::CompleteBrowserLogin(*stub_, approval.request_id, seconds(0)); });
  EXPECT_EQ(used.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(used.reason(), reason::kChallengeNotFound);
}

TEST_F(BrowserLoginTest, SessionTokenWithBrokerCustodyIsInvalidRequest) {
  Start("identity");
  client::BrowserLoginOptions options;
  options.kind = v1::CREDENTIAL_KIND_SESSION_TOKEN;
  options.custody = v1::TOKEN_CUSTODY_BROKER;
  const BrokerError error = ErrorOf([&] { client::BeginBrowserLogin(*stub_, options); });
  EXPECT_EQ(error.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(error.reason(), reason::kInvalidRequest);
  EXPECT_EQ(site_->LauncherEvents("create"), 0);
}

}  // namespace
}  // namespace credbroker::client_testing
