// Limits on load through the real broker: a site's cap on concurrent requests
// with its bounded queue, a caller's cap on calls in flight, the bounded
// memory store, streams per connection, a cancelled call stopping its site
// call, and a shutdown that does not wait out a slow site. Each refusal has
// its reason, and other callers are still served.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "broker_fixture.h"
#include "service_tokens.h"

namespace credbroker::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::map<std::string, std::string> kCallers = {{"busy-script", "busy-token-7a2c"},
                                                     {"quiet-web", "quiet-token-1d8f"}};

class LoadLimitsTest : public BrokerTest {
 protected:
  void StartWithCallers(const std::string& server_yaml) {
    BrokerOptions options;
    options.extra_yaml = ServiceTokensYaml(kCallers) + "policy_file: \"" +
                         dir_.Write("policy.yaml", AllowEveryMethodPolicy(kCallers)) + "\"\n";
    options.server_yaml = server_yaml;
    Start({}, options);
  }

  // Polls the site until `count` token requests are at it at once.
  void WaitForSiteInFlight(int count) {
    for (int i = 0; i < 1000 && site_->Stats().value("in_flight", 0) < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GE(site_->Stats().value("in_flight", 0), count);
  }

  std::future<grpc::Status> BeginAsync(const fixtures::BuiltinUser& user,
                                       const std::string& token = "") {
    return std::async(std::launch::async, [this, user, token] {
      v1::BeginLoginRequest request;
      request.set_username(user.login);
      request.set_password(user.password);
      v1::LoginResult result;
      auto context = token.empty() ? ContextWithDeadline() : ContextAs(token);
      return stub_->BeginLogin(context.get(), request, &result);
    });
  }
};

TEST_F(LoadLimitsTest, FullSiteQueueRefusesAtOnceAndSpendsNothing) {
  BrokerOptions options;
  options.site_extra = "    max_concurrent_requests: 2\n    max_queued_requests: 1\n";
  Start({}, options);
  site_->SetFaults({{"latency_ms", 1000}});
  auto first = BeginAsync(fixtures::kAlice);
  auto second = BeginAsync(fixtures::kBob);
  WaitForSiteInFlight(2);
  auto queued = BeginAsync(fixtures::kCarol);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto refused_at = Clock::now();
  v1::LoginResult result;
  const grpc::Status refused = BeginLogin(fixtures::kDave.login, fixtures::kDave.password, &result);
  EXPECT_LT(Clock::now() - refused_at, std::chrono::milliseconds(500));
  EXPECT_BROKER_ERROR(refused, UNAVAILABLE, "UPSTREAM_UNAVAILABLE");
  EXPECT_EQ(client::ErrorDetailOf(refused)->retry_after().seconds(), 1);
  EXPECT_GRPC_OK(first.get());
  EXPECT_GRPC_OK(second.get());
  EXPECT_GRPC_OK(queued.get());  // it waited for a place and went through
  EXPECT_EQ(site_->Requests("password"), 3);
  // The refused call never left: Dave's budget is whole.
  site_->SetFaults({{"latency_ms", 0}});
  for (int i = 0; i < 5; ++i) {
    EXPECT_BROKER_ERROR(BeginLogin(fixtures::kDave.login, "wrong", &result), UNAUTHENTICATED,
                        "INVALID_CREDENTIALS");
  }
}

TEST_F(LoadLimitsTest, OneCallerAtItsCapLeavesOthersServed) {
  StartWithCallers("  caller_max_in_flight: 2\n");
  site_->SetFaults({{"latency_ms", 1000}});
  auto first = BeginAsync(fixtures::kAlice, kCallers.at("busy-script"));
  auto second = BeginAsync(fixtures::kBob, kCallers.at("busy-script"));
  WaitForSiteInFlight(2);
  v1::BeginLoginRequest request;
  request.set_username(fixtures::kCarol.login);
  request.set_password(fixtures::kCarol.password);
  v1::LoginResult result;
  auto refused_context = ContextAs(kCallers.at("busy-script"));
  const grpc::Status refused = stub_->BeginLogin(refused_context.get(), request, &result);
  EXPECT_BROKER_ERROR(refused, RESOURCE_EXHAUSTED, "TOO_MANY_REQUESTS");
  EXPECT_EQ(client::ErrorDetailOf(refused)->retry_after().seconds(), 1);
  // Said again the way gRPC's own retry reads it.
  const auto& trailers = refused_context->GetServerTrailingMetadata();
  const auto pushback = trailers.find("grpc-retry-pushback-ms");
  ASSERT_NE(pushback, trailers.end());
  EXPECT_EQ(std::string(pushback->second.data(), pushback->second.size()), "1000");
  // Another caller is served meanwhile.
  ASSERT_GRPC_OK(stub_->BeginLogin(ContextAs(kCallers.at("quiet-web")).get(), request, &result));
  EXPECT_TRUE(result.has_challenge());
  EXPECT_GRPC_OK(first.get());
  EXPECT_GRPC_OK(second.get());
  // Places come back when calls finish.
  site_->SetFaults({{"latency_ms", 0}});
  request.set_username(fixtures::kDave.login);
  request.set_password(fixtures::kDave.password);
  EXPECT_GRPC_OK(stub_->BeginLogin(ContextAs(kCallers.at("busy-script")).get(), request, &result));
  EXPECT_TRUE(broker_->WaitForLogLine({"\"event\":\"audit\"", "TOO_MANY_REQUESTS"}));
}

TEST_F(LoadLimitsTest, FullMemoryStoreRefusesNewLoginsAndStillIssuesScriptSessions) {
  BrokerOptions options;
  options.extra_yaml =
      "store:\n  memory:\n    max_entries: 100\nfailure_budget:\n  per_address_max_failures: "
      "100000\n";
  Start({}, options);
  v1::LoginResult result;
  int refused_at = -1;
  grpc::Status refused;
  for (int i = 0; i < 200 && refused_at < 0; ++i) {
    const grpc::Status status = BeginLogin("nobody-" + std::to_string(i), "guess", &result);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      refused_at = i;
      refused = status;
    }
  }
  ASSERT_GE(refused_at, 90) << "the store filled up too early";
  EXPECT_BROKER_ERROR(refused, UNAVAILABLE, "STORE_UNAVAILABLE");
  EXPECT_NE(refused.error_message().find("full"), std::string::npos) << refused.error_message();
  const int site_calls = site_->Requests("password");
  EXPECT_BROKER_ERROR(BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result),
                      UNAVAILABLE, "STORE_UNAVAILABLE");
  EXPECT_EQ(site_->Requests("password"), site_calls);  // nothing reached the site
  v1::Session session;
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &session));
  EXPECT_FALSE(session.access_token().empty());
}

TEST_F(LoadLimitsTest, StreamsPerConnectionAreCapped) {
  BrokerOptions options;
  options.server_yaml = "  max_concurrent_streams: 2\n";
  Start({}, options);
  site_->SetFaults({{"latency_ms", 700}});
  std::atomic<bool> done{false};
  std::atomic<int> peak{0};
  std::thread watcher([&] {
    while (!done) {
      peak = std::max<int>(peak, site_->Stats().value("in_flight", 0));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<std::future<grpc::Status>> calls;
  for (const auto& user : {fixtures::kAlice, fixtures::kBob, fixtures::kCarol, fixtures::kDave}) {
    calls.push_back(BeginAsync(user));
  }
  for (auto& call : calls) EXPECT_GRPC_OK(call.get());  // the rest waited their turn
  done = true;
  watcher.join();
  EXPECT_EQ(peak.load(), 2);
}

TEST_F(LoadLimitsTest, CancelledCallStopsItsSiteCall) {
  Start();
  site_->SetFaults({{"latency_ms", 4000}});
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::BeginLoginRequest request;
  request.set_username(fixtures::kErin.login);
  request.set_password(fixtures::kErin.password);
  v1::LoginResult result;
  const auto started = Clock::now();
  auto call =
      std::async(std::launch::async, [&] { return stub_->BeginLogin(&context, request, &result); });
  WaitForSiteInFlight(1);
  context.TryCancel();
  EXPECT_EQ(call.get().error_code(), grpc::StatusCode::CANCELLED);
  bool stopped = false;
  while (!stopped && Clock::now() - started < std::chrono::milliseconds(3000)) {
    stopped = LogHasLineWith(broker_->Logs(), {"site_request", "cancelled before the site"});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(stopped) << "the site call ran on after the call was cancelled:\n" << broker_->Logs();
}

TEST_F(LoadLimitsTest, ShutdownDoesNotWaitOutASlowSite) {
  BrokerOptions options;
  options.site_extra = "    request_timeout_ms: 60000\n";
  options.server_yaml = "  shutdown_grace_seconds: 1\n";
  Start({}, options);
  site_->SetFaults({{"latency_ms", 30000}});
  auto call = BeginAsync(fixtures::kFrank);
  WaitForSiteInFlight(1);
  const auto signalled = Clock::now();
  broker_->process().Signal(SIGTERM);
  EXPECT_EQ(broker_->process().Wait(std::chrono::seconds(15)), 0);
  EXPECT_LT(Clock::now() - signalled, std::chrono::seconds(5));
  EXPECT_FALSE(call.get().ok());
}

}  // namespace
}  // namespace credbroker::testing
