// Three real brokers sharing one real redis-server: a login begun on one
// replica finishes on another, a held session refreshes once however many
// replicas ask, the failure budget holds across replicas, a killed replica
// loses nothing, and a Redis outage answers STORE_UNAVAILABLE fast and heals
// without a restart.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "broker_fixture.h"
#include "concurrent_calls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "redis_server.h"
#include "service_tokens.h"

namespace credbroker::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::map<std::string, std::string> kCallers = {{"web", "replica-web-token-2e7a"}};

class ReplicasTest : public ::testing::Test {
 protected:
  void Start(const FakeSiteOptions& site_options = {}, bool append_only = false) {
    absl::StatusOr<std::unique_ptr<RedisServer>> redis =
        RedisServer::Start(std::nullopt, append_only);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    site_ = std::make_unique<FakeSiteProcess>(dir_, site_options);
    for (const char* name : {"a", "b", "c"}) {
      replicas_.push_back(StartReplica(name));
      stubs_.push_back(replicas_.back()->Stub());
    }
  }

  std::unique_ptr<BrokerProcess> StartReplica(const std::string& name) {
    BrokerOptions options;
    options.name = name;
    options.site_url = site_->url();
    options.extra_yaml = ServiceTokensYaml(kCallers) + "policy_file: \"" +
                         dir_.Write("policy.yaml", AllowEveryMethodPolicy(kCallers)) + "\"\n" +
                         "seal_key_file: \"" + dir_.Write("seal.key", std::string(32, 's')) +
                         "\"\n" + "store:\n  redis:\n    address: \"" + redis_->address() + "\"\n" +
                         "    command_timeout_ms: 300\n";
    return std::make_unique<BrokerProcess>(dir_, options);
  }

  v1::CredentialBroker::Stub& Replica(int i) { return *stubs_.at(i); }

  grpc::Status Begin(int replica, const std::string& user, const std::string& password,
                     v1::LoginResult* result, v1::TokenCustody custody = v1::TOKEN_CUSTODY_CALLER) {
    v1::BeginLoginRequest request;
    request.set_username(user);
    request.set_password(password);
    request.set_custody(custody);
    return Replica(replica).BeginLogin(ContextAs(kCallers.at("web")).get(), request, result);
  }

  grpc::Status GetToken(int replica, const std::string& id, int min_validity,
                        v1::AccessToken* token) {
    v1::GetAccessTokenRequest request;
    request.set_session_id(id);
    request.mutable_min_validity()->set_seconds(min_validity);
    return Replica(replica).GetAccessToken(ContextAs(kCallers.at("web")).get(), request, token);
  }

  // A session held by the brokers, logged in on `replica` (the site has no 2FA).
  std::string HeldSession(int replica, const fixtures::BuiltinUser& user) {
    v1::LoginResult result;
    EXPECT_GRPC_OK(Begin(replica, user.login, user.password, &result, v1::TOKEN_CUSTODY_BROKER));
    return result.session().session_id();
  }

  static FakeSiteOptions NoSecondFactor(int token_lifetime = 600) {
    FakeSiteOptions site;
    site.two_factor = false;
    site.token_lifetime_seconds = token_lifetime;
    return site;
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<FakeSiteProcess> site_;
  std::vector<std::unique_ptr<BrokerProcess>> replicas_;
  std::vector<std::unique_ptr<v1::CredentialBroker::Stub>> stubs_;
};

TEST_F(ReplicasTest, ChallengeBegunOnOneReplicaIsFinishedOnAnother) {
  Start();
  v1::LoginResult challenge;
  ASSERT_GRPC_OK(Begin(0, fixtures::kAlice.login, fixtures::kAlice.password, &challenge));
  v1::SubmitSecondFactorRequest submit;
  submit.set_challenge_id(challenge.challenge().challenge_id());
  submit.set_code(site_->CurrentCode(fixtures::kAlice.totp_secret));
  v1::LoginResult session;
  ASSERT_GRPC_OK(
      Replica(1).SubmitSecondFactor(ContextAs(kCallers.at("web")).get(), submit, &session));
  EXPECT_EQ(session.session().principal().user_login(), "alice");
  // Single use across replicas too.
  EXPECT_BROKER_ERROR(
      Replica(2).SubmitSecondFactor(ContextAs(kCallers.at("web")).get(), submit, &session),
      FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND");
}

TEST_F(ReplicasTest, NinetyCallsOverThreeReplicasMakeOneRefresh) {
  Start(NoSecondFactor(/*token_lifetime=*/100));  // asking for 120 s forces a refresh
  const std::string id = HeldSession(0, fixtures::kBob);
  site_->SetFaults({{"latency_ms", 1500}});  // every call arrives while the one refresh runs
  int failed = 0;
  const std::set<std::string> tokens =
      DistinctTokens(RunTogether(90,
                                 [&](int i) {
                                   v1::AccessToken token;
                                   grpc::Status status = GetToken(i % 3, id, 120, &token);
                                   return CallAnswer{status, token.access_token()};
                                 }),
                     &failed);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(tokens.size(), 1u);
}

TEST_F(ReplicasTest, ColdScriptKeyMakesOneSiteCallAcrossReplicas) {
  Start();
  site_->SetFaults({{"latency_ms", 300}});
  int failed = 0;
  const std::set<std::string> tokens =
      DistinctTokens(RunTogether(90,
                                 [&](int i) {
                                   v1::IssueScriptSessionRequest request;
                                   request.set_script_name(fixtures::kIngestBotName);
                                   request.set_script_key(fixtures::kIngestBotKey);
                                   v1::Session session;
                                   grpc::Status status = Replica(i % 3).IssueScriptSession(
                                       ContextAs(kCallers.at("web")).get(), request, &session);
                                   return CallAnswer{status, session.access_token()};
                                 }),
                     &failed);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
  EXPECT_EQ(tokens.size(), 1u);
  // Nothing of the script or its key is readable in Redis.
  auto redis = redis_->Connect();
  auto* keys = static_cast<redisReply*>(redisCommand(redis.get(), "KEYS *"));
  ASSERT_NE(keys, nullptr);
  for (std::size_t i = 0; i < keys->elements; ++i) {
    const std::string key(keys->element[i]->str, keys->element[i]->len);
    EXPECT_EQ(key.find(fixtures::kIngestBotName), std::string::npos) << key;
    auto* value = static_cast<redisReply*>(redisCommand(redis.get(), "DUMP %s", key.c_str()));
    if (value != nullptr && value->type == REDIS_REPLY_STRING) {
      const std::string dumped(value->str, value->len);
      EXPECT_EQ(dumped.find(*tokens.begin()), std::string::npos) << key;
      EXPECT_EQ(dumped.find(fixtures::kIngestBotKey), std::string::npos) << key;
    }
    if (value != nullptr) freeReplyObject(value);
  }
  freeReplyObject(keys);
}

TEST_F(ReplicasTest, WrongPasswordsSpreadOverReplicasStopAtTheBudget) {
  Start();
  site_->SetFaults({{"latency_ms", 300}});
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 30; ++i) {
    calls.push_back(std::async(std::launch::async, [this, i] {
      v1::LoginResult result;
      return Begin(i % 3, fixtures::kCarol.login, "guess-" + std::to_string(i), &result);
    }));
  }
  int wrong = 0, refused = 0;
  for (auto& call : calls) {
    const auto detail = client::ErrorDetailOf(call.get());
    ASSERT_TRUE(detail.has_value());
    wrong += detail->reason() == "INVALID_CREDENTIALS";
    refused += detail->reason() == "TOO_MANY_ATTEMPTS";
  }
  EXPECT_EQ(wrong, 5);
  EXPECT_EQ(refused, 25);
  EXPECT_EQ(site_->Requests("password"), 5);
}

TEST_F(ReplicasTest, KilledReplicaLosesNoSession) {
  Start(NoSecondFactor());
  const std::string id = HeldSession(0, fixtures::kDave);
  replicas_[0]->process().Signal(SIGKILL);
  replicas_[0]->process().Wait(std::chrono::seconds(5));
  v1::AccessToken token;
  ASSERT_GRPC_OK(GetToken(1, id, 0, &token));
  EXPECT_EQ(site_->ReadProjects(token.access_token()), 200);
}

TEST_F(ReplicasTest, RedisOutageIsAFastStoreUnavailableAndHealsWithoutRestart) {
  Start(NoSecondFactor());
  redis_->Kill();
  v1::LoginResult result;
  const auto asked = Clock::now();
  EXPECT_BROKER_ERROR(Begin(0, fixtures::kErin.login, fixtures::kErin.password, &result),
                      UNAVAILABLE, "STORE_UNAVAILABLE");
  EXPECT_LT(Clock::now() - asked, std::chrono::milliseconds(1500));
  EXPECT_EQ(site_->Requests("password"), 0);  // nothing reached the site without the budget
  ASSERT_TRUE(redis_->Restart().ok());
  grpc::Status status;
  for (int i = 0; i < 100; ++i) {
    status = Begin(i % 3, fixtures::kErin.login, fixtures::kErin.password, &result);
    if (status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GRPC_OK(status);
}

TEST_F(ReplicasTest, RedisRestartedWithAppendOnlyFileKeepsSessionsUnderLoad) {
  Start(NoSecondFactor(), /*append_only=*/true);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(HeldSession(i % 3, fixtures::kFrank));
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::thread load([&] {
    for (int i = 0; !stop; ++i) {
      v1::AccessToken token;
      if (GetToken(i % 3, ids[i % ids.size()], 0, &token).ok()) ++served;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(redis_->Restart().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  load.join();
  EXPECT_GT(served.load(), 0);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    v1::AccessToken token;
    grpc::Status status;
    for (int attempt = 0; attempt < 50; ++attempt) {
      status = GetToken(static_cast<int>(i % 3), ids[i], 0, &token);
      if (status.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GRPC_OK(status) << "session " << i;
  }
}

// Polls a replica's health for `service` until it reads `want` (or 10 s pass).
bool HealthBecomes(BrokerProcess& replica, const std::string& service,
                   grpc::health::v1::HealthCheckResponse::ServingStatus want) {
  auto health = grpc::health::v1::Health::NewStub(replica.Channel());
  for (int i = 0; i < 200; ++i) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    if (health->Check(ContextWithDeadline(2).get(), request, &response).ok() &&
        response.status() == want) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_F(ReplicasTest, ReadinessFollowsRedisAndLivenessDoesNot) {
  using grpc::health::v1::HealthCheckResponse;
  Start(NoSecondFactor());
  const std::string service = "credbroker.v1.CredentialBroker";
  EXPECT_TRUE(HealthBecomes(*replicas_[0], service, HealthCheckResponse::SERVING));
  redis_->Kill();
  EXPECT_TRUE(HealthBecomes(*replicas_[0], service, HealthCheckResponse::NOT_SERVING));
  EXPECT_TRUE(HealthBecomes(*replicas_[0], "", HealthCheckResponse::SERVING));
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_TRUE(HealthBecomes(*replicas_[0], service, HealthCheckResponse::SERVING));
}

}  // namespace
}  // namespace credbroker::testing
