// What /metrics shows after real calls to a real broker: the gRPC series under
// go-grpc-prometheus' names, the site's answers, refusals, the script-token
// cache, open challenges and the shared store, and never a secret or a name.
#include <chrono>
#include <cmath>
#include <future>
#include <thread>
#include <vector>

#include "broker_fixture.h"
#include "eventually.h"
#include "metrics_scrape.h"
#include "redis_server.h"

namespace credbroker::testing {
namespace {

using Labels = std::map<std::string, std::string>;

constexpr char kService[] = "credbroker.v1.CredentialBroker";

Labels Rpc(const std::string& method) {
  return {{"grpc_service", kService}, {"grpc_method", method}, {"grpc_type", "unary"}};
}

Labels Handled(const std::string& method, const std::string& code) {
  Labels labels = Rpc(method);
  labels["grpc_code"] = code;
  return labels;
}

Labels Site(const std::string& grant, const std::string& outcome) {
  return {{"site", "main"}, {"grant", grant}, {"outcome", outcome}};
}

class MetricsTest : public BrokerTest {
 protected:
  void StartWithMetrics(const FakeSiteOptions& site = {}, BrokerOptions options = {}) {
    options.extra_yaml += "metrics_listen: \"127.0.0.1:0\"\n";
    Start(site, options);
    port_ = broker_->MetricsPort();
    ASSERT_NE(port_, 0) << broker_->Logs();
  }

  std::optional<double> Sample(const std::string& name, const Labels& labels = {}) {
    return SampleValue(ScrapeMetrics(port_), name, labels);
  }

  // Gauges read from the store are refreshed on a timer: scrapes until the
  // sample reads `want` or 15 s pass, and answers the last value seen.
  std::optional<double> WaitForSample(const std::string& name, const Labels& labels, double want) {
    std::optional<double> value;
    Eventually(
        [&] {
          value = Sample(name, labels);
          return value == want;
        },
        std::chrono::seconds(15));
    return value;
  }

  int port_ = 0;
};

TEST_F(MetricsTest, CountsCallsSiteAnswersAndRefusalsAfterRealCalls) {
  StartWithMetrics();
  // Alice: the site asks for her code, then takes it.
  const std::string challenge = Challenge(fixtures::kAlice);
  EXPECT_EQ(WaitForSample("credbroker_challenges_held", {}, 1), 1);
  v1::LoginResult alice;
  ASSERT_GRPC_OK(Submit(challenge, site_->CurrentCode(fixtures::kAlice.totp_secret), &alice));
  // Bob: five wrong passwords reach the site; the sixth is refused by his budget.
  v1::LoginResult bob;
  for (int i = 0; i < 5; ++i) {
    EXPECT_BROKER_ERROR(BeginLogin(fixtures::kBob.login, "wrong-horse-battery", &bob),
                        UNAUTHENTICATED, "INVALID_CREDENTIALS");
  }
  EXPECT_BROKER_ERROR(BeginLogin(fixtures::kBob.login, "wrong-horse-battery", &bob),
                      RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS");
  // A script: its first session needs the site, its second is cached.
  v1::Session first;
  v1::Session second;
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &first));
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &second));
  EXPECT_EQ(WaitForSample("credbroker_challenges_held", {}, 0), 0);

  const std::string text = ScrapeMetrics(port_);
  EXPECT_EQ(SampleValue(text, "grpc_server_started_total", Rpc("BeginLogin")), 7);
  EXPECT_EQ(SampleValue(text, "grpc_server_handled_total", Handled("BeginLogin", "OK")), 1);
  EXPECT_EQ(
      SampleValue(text, "grpc_server_handled_total", Handled("BeginLogin", "Unauthenticated")), 5);
  EXPECT_EQ(
      SampleValue(text, "grpc_server_handled_total", Handled("BeginLogin", "ResourceExhausted")),
      1);
  EXPECT_EQ(SampleValue(text, "grpc_server_handled_total", Handled("SubmitSecondFactor", "OK")), 1);
  EXPECT_EQ(SampleValue(text, "grpc_server_handled_total", Handled("IssueScriptSession", "OK")), 2);
  EXPECT_EQ(SampleValue(text, "grpc_server_handling_seconds_count", Rpc("BeginLogin")), 7);
  EXPECT_EQ(SampleValue(text, "grpc_server_started_total", Rpc("RefreshSession")), 0);

  EXPECT_EQ(SampleValue(text, "credbroker_site_requests_total",
                        Site("password", "SECOND_FACTOR_REQUIRED")),
            1);
  EXPECT_EQ(SampleValue(text, "credbroker_site_requests_total", Site("password", "granted")), 1);
  EXPECT_EQ(
      SampleValue(text, "credbroker_site_requests_total", Site("password", "INVALID_CREDENTIALS")),
      5);
  EXPECT_EQ(
      SampleValue(text, "credbroker_site_requests_total", Site("client_credentials", "granted")),
      1);
  EXPECT_EQ(SampleValue(text, "credbroker_site_request_duration_seconds_count",
                        {{"site", "main"}, {"grant", "password"}}),
            7);
  EXPECT_EQ(SampleValue(text, "credbroker_refusals_total", {{"reason", "INVALID_CREDENTIALS"}}), 5);
  EXPECT_EQ(SampleValue(text, "credbroker_refusals_total", {{"reason", "TOO_MANY_ATTEMPTS"}}), 1);
  EXPECT_EQ(SampleValue(text, "credbroker_failure_budget_refusals_total", {{"limit", "person"}}),
            1);
  EXPECT_EQ(SampleValue(text, "credbroker_script_token_cache_misses_total"), 1);
  EXPECT_EQ(SampleValue(text, "credbroker_script_token_cache_hits_total"), 1);
  EXPECT_EQ(SampleValue(text, "credbroker_store_reachable"), 1);
  EXPECT_NE(text.find("credbroker_build_info{version=\""), std::string::npos);
  // No listener certificate, no expiry series.
  EXPECT_EQ(text.find("credbroker_certificate_expiry_seconds{"), std::string::npos);

  // Nothing personal or secret, in any label or value.
  for (const std::string& secret :
       {std::string(fixtures::kAlice.login), std::string(fixtures::kAlice.password),
        std::string(fixtures::kBob.login), std::string("wrong-horse-battery"),
        std::string(fixtures::kIngestBotName), std::string(fixtures::kIngestBotKey),
        alice.session().access_token(), alice.session().refresh_token(), first.access_token()}) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(text.find(secret), std::string::npos) << "the scrape shows '" << secret << "'";
  }
}

// Challenges opened at once land in the store's many open-challenge windows
// on Redis; the gauge adds them all up, and a completed one leaves it.
TEST_F(MetricsTest, ChallengesOpenedAtOnceOnRedisAreAllCounted) {
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(std::nullopt, false);
  ASSERT_TRUE(redis.ok()) << redis.status();
  BrokerOptions options;
  options.extra_yaml = "seal_key_file: \"" + dir_.Write("seal.key", std::string(32, 's')) +
                       "\"\nstore:\n  redis:\n    address: \"" + (*redis)->address() + "\"\n";
  StartWithMetrics({}, options);
  // Three each (the most a person may hold) for eight people, all at once.
  std::vector<std::future<std::string>> opened;
  for (const fixtures::BuiltinUser& user : fixtures::kUsers) {
    if (opened.size() == 24) break;
    for (int i = 0; i < 3; ++i) {
      opened.push_back(std::async(std::launch::async, [this, user] { return Challenge(user); }));
    }
  }
  ASSERT_EQ(opened.size(), 24u);
  std::vector<std::string> ids;
  for (auto& id : opened) ids.push_back(id.get());
  EXPECT_EQ(WaitForSample("credbroker_challenges_held", {}, 24), 24);
  v1::LoginResult alice;
  ASSERT_GRPC_OK(Submit(ids[0], site_->CurrentCode(fixtures::kAlice.totp_secret), &alice));
  EXPECT_EQ(WaitForSample("credbroker_challenges_held", {}, 23), 23);
  EXPECT_EQ(site_->Requests("password"), 25);
}

TEST_F(MetricsTest, NoListenerWithoutTheKey) {
  Start();
  EXPECT_EQ(broker_->MetricsPort(), 0);
  EXPECT_TRUE(broker_->WaitForLogLine({"\"event\":\"listening\"", "\"metrics_port\":0"}));
}

TEST_F(MetricsTest, StoreSeriesFollowRedis) {
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(std::nullopt, false);
  ASSERT_TRUE(redis.ok()) << redis.status();
  BrokerOptions options;
  options.extra_yaml = "seal_key_file: \"" + dir_.Write("seal.key", std::string(32, 's')) +
                       "\"\nstore:\n  redis:\n    address: \"" + (*redis)->address() +
                       "\"\n    command_timeout_ms: 300\n";
  StartWithMetrics({}, options);
  Challenge(fixtures::kAlice);
  EXPECT_EQ(WaitForSample("credbroker_challenges_held", {}, 1), 1);
  const std::string before = ScrapeMetrics(port_);
  const Labels redis_ok = {{"store", "redis"}, {"outcome", "ok"}};
  EXPECT_GT(SampleValue(before, "credbroker_store_operations_total", redis_ok).value_or(0), 0);
  EXPECT_GT(
      SampleValue(before, "credbroker_store_operation_duration_seconds_count", {{"store", "redis"}})
          .value_or(0),
      0);
  EXPECT_EQ(SampleValue(before, "credbroker_store_operations_total",
                        {{"store", "redis"}, {"outcome", "error"}}),
            0);

  (*redis)->Kill();
  EXPECT_EQ(WaitForSample("credbroker_store_reachable", {}, 0), 0);
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(BeginLogin(fixtures::kBob.login, fixtures::kBob.password, &result),
                      UNAVAILABLE, "STORE_UNAVAILABLE");
  EXPECT_GT(Sample("credbroker_refusals_total", {{"reason", "STORE_UNAVAILABLE"}}).value_or(0), 0);

  ASSERT_TRUE((*redis)->Restart().ok());
  EXPECT_EQ(WaitForSample("credbroker_store_reachable", {}, 1), 1);
}

}  // namespace
}  // namespace credbroker::testing
