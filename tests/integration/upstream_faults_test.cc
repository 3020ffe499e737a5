// What callers see when the site misbehaves: proxies answering 429/502/503
// with HTML, dropped connections, garbage bodies, slowness past the timeout,
// and a site that is not there at all.
#include <thread>

#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

class UpstreamFaultsTest : public BrokerTest {
 protected:
  grpc::Status Login() {
    v1::LoginResult result;
    return BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result);
  }
};

TEST_F(UpstreamFaultsTest, ProxyErrorPagesAreUnavailableWithRetryAfter) {
  Start();
  for (int status : {429, 502, 503, 504}) {
    site_->SetFaults(
        {{"fail", {{"kind", "status"}, {"status", status}, {"retry_after", 7}, {"times", 1}}}});
    const grpc::Status answer = Login();
    EXPECT_BROKER_ERROR(answer, UNAVAILABLE, "UPSTREAM_UNAVAILABLE") << status;
    auto detail = client::ErrorDetailOf(answer);
    ASSERT_TRUE(detail.has_value());
    EXPECT_EQ(detail->retry_after().seconds(), 7) << status;
  }
  EXPECT_GRPC_OK(Login());  // the faults were used up: the site answers again
}

TEST_F(UpstreamFaultsTest, DroppedConnectionIsUnavailable) {
  Start();
  site_->SetFaults({{"fail", {{"kind", "reset"}, {"times", 1}}}});
  EXPECT_BROKER_ERROR(Login(), UNAVAILABLE, "UPSTREAM_UNAVAILABLE");
}

TEST_F(UpstreamFaultsTest, GarbageBodyIsAProtocolError) {
  Start();
  site_->SetFaults({{"fail", {{"kind", "malformed_json"}, {"times", 1}}}});
  EXPECT_BROKER_ERROR(Login(), UNAVAILABLE, "UPSTREAM_PROTOCOL_ERROR");
}

TEST_F(UpstreamFaultsTest, SlowSiteTimesOut) {
  BrokerOptions broker;
  broker.site_extra = "    request_timeout_ms: 300\n";
  Start({}, broker);
  site_->SetFaults({{"latency_ms", 2000}});
  EXPECT_BROKER_ERROR(Login(), UNAVAILABLE, "UPSTREAM_UNAVAILABLE");
}

TEST_F(UpstreamFaultsTest, CallerDeadlineIsPropagatedToTheSiteCall) {
  Start();
  site_->SetFaults({{"latency_ms", 3000}});
  v1::BeginLoginRequest request;
  request.set_username(fixtures::kAlice.login);
  request.set_password(fixtures::kAlice.password);
  v1::LoginResult result;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(stub_->BeginLogin(&context, request, &result).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The broker abandons the site call at the caller's deadline (not at the
  // site's 3 s answer or the 10 s request timeout): its audit line says so.
  bool abandoned = false;
  while (!abandoned && std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
    abandoned = broker_->Logs().find("\"reason\":\"UPSTREAM_UNAVAILABLE\"") != std::string::npos;
    if (!abandoned) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(abandoned);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
}

TEST_F(UpstreamFaultsTest, BrokerStartsAndAnswersWhenTheSiteIsDown) {
  BrokerOptions options;
  options.site_url = "http://127.0.0.1:1";  // nothing listens on port 1
  BrokerProcess broker(dir_, options);
  v1::BeginLoginRequest request;
  request.set_username("alice");
  request.set_password("x");
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(broker.Stub()->BeginLogin(ContextWithDeadline().get(), request, &result),
                      UNAVAILABLE, "UPSTREAM_UNAVAILABLE");
}

}  // namespace
}  // namespace credbroker::testing
