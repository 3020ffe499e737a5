// The rollout rehearsal: three replicas on one Redis, a client balancing over
// all three with round robin and the retry policy of the project's service
// config, and each replica stopped with SIGTERM (drain, finish, exit 0) and
// started again on its port in turn while the client keeps calling. Not one
// call may fail.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "broker_process.h"
#include "credbroker/channel.h"
#include "fake_site_process.h"
#include "fixtures.h"
#include "redis_server.h"
#include "service_tokens.h"
#include "status_matchers.h"
#include "temp_dir.h"

namespace credbroker::testing {
namespace {

namespace fixtures = fake_shotgrid::fixtures;

const std::map<std::string, std::string> kCallers = {{"web", "rollout-web-token-51c3"}};

// The shipped service config with round robin over every address.
std::string RoundRobinServiceConfig() {
  std::string config = client::ServiceConfigJson();
  const std::size_t open = config.find('{');
  return config.substr(0, open + 1) + R"("loadBalancingConfig": [{"round_robin": {}}],)" +
         config.substr(open + 1);
}

class RolloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(std::nullopt, false);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    FakeSiteOptions site;
    site.two_factor = false;
    site_ = std::make_unique<FakeSiteProcess>(dir_, site);
    for (int i = 0; i < 3; ++i) {
      replicas_.push_back(StartReplica(i, "127.0.0.1:0"));
      addresses_.push_back(replicas_.back()->address());
    }
  }

  std::unique_ptr<BrokerProcess> StartReplica(int index, const std::string& listen) {
    BrokerOptions options;
    options.name = "replica-" + std::to_string(index) + "-" + std::to_string(++starts_);
    options.site_url = site_->url();
    options.listen = listen;
    // Shorter than the shipped 5 s: here nothing has endpoints to update.
    options.drain_seconds = 1;
    options.extra_yaml = ServiceTokensYaml(kCallers) + "policy_file: \"" +
                         dir_.Write("policy.yaml", AllowEveryMethodPolicy(kCallers)) + "\"\n" +
                         "seal_key_file: \"" + dir_.Write("seal.key", std::string(32, 'r')) +
                         "\"\n" + "store:\n  redis:\n    address: \"" + redis_->address() + "\"\n";
    return std::make_unique<BrokerProcess>(dir_, options);
  }

  // How many calls a replica process has answered, from its audit lines.
  static int Served(const BrokerProcess& replica) {
    const std::string logs = replica.Logs();
    int count = 0;
    for (std::size_t at = logs.find("\"event\":\"audit\""); at != std::string::npos;
         at = logs.find("\"event\":\"audit\"", at + 1)) {
      ++count;
    }
    return count;
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<FakeSiteProcess> site_;
  std::vector<std::unique_ptr<BrokerProcess>> replicas_;
  std::vector<std::string> addresses_;
  int starts_ = 0;
};

TEST_F(RolloutTest, EachReplicaRestartedInTurnUnderLoadFailsNoCall) {
  client::ChannelOptions channel_options;
  channel_options.service_config_json = RoundRobinServiceConfig();
  auto stub = client::ConnectStub(
      "ipv4:" + addresses_[0] + "," + addresses_[1] + "," + addresses_[2], channel_options);

  // A session the brokers hold, read from Redis by whichever replica answers.
  v1::BeginLoginRequest login;
  login.set_username(fixtures::kBob.login);
  login.set_password(fixtures::kBob.password);
  login.set_custody(v1::TOKEN_CUSTODY_BROKER);
  v1::LoginResult held;
  ASSERT_GRPC_OK(stub->BeginLogin(ContextAs(kCallers.at("web")).get(), login, &held));
  const std::string session_id = held.session().session_id();

  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::mutex failures_mu;
  std::vector<std::string> failures;
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        grpc::Status status;
        if ((i + t) % 2 == 0) {
          v1::GetAccessTokenRequest request;
          request.set_session_id(session_id);
          v1::AccessToken token;
          status = stub->GetAccessToken(ContextAs(kCallers.at("web"), 10).get(), request, &token);
        } else {
          v1::IssueScriptSessionRequest request;
          request.set_script_name(fixtures::kIngestBotName);
          request.set_script_key(fixtures::kIngestBotKey);
          v1::Session session;
          status =
              stub->IssueScriptSession(ContextAs(kCallers.at("web"), 10).get(), request, &session);
        }
        if (status.ok()) {
          ++calls;
        } else {
          std::lock_guard<std::mutex> lock(failures_mu);
          failures.push_back(std::to_string(status.error_code()) + " " + status.error_message());
        }
      }
    });
  }

  // As a rolling update does, the next replica goes only once every replica
  // (the restarted one too) takes a share of the calls.
  auto all_serving = [&] {
    for (int wait = 0; wait < 300; ++wait) {
      bool serving = true;
      for (const auto& replica : replicas_) serving = serving && Served(*replica) >= 20;
      if (serving) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(all_serving()) << "before replica " << i << "'s turn, one took no calls";
    replicas_[i]->process().Signal(SIGTERM);
    EXPECT_EQ(replicas_[i]->process().Wait(std::chrono::seconds(30)), 0) << replicas_[i]->Logs();
    replicas_[i] = StartReplica(i, addresses_[i]);
  }
  EXPECT_TRUE(all_serving()) << "a restarted replica took no calls";
  stop = true;
  for (std::thread& thread : load) thread.join();

  EXPECT_GT(calls, 300);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed calls, the first: "
                                << (failures.empty() ? "" : failures.front());
}

}  // namespace
}  // namespace credbroker::testing
