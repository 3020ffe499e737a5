// What the broker serves besides its API and how it stops: grpc.health.v1,
// server reflection (on the API listener only, and only unless turned off),
// and how it stops: SIGTERM drains (health NOT_SERVING while calls are still
// served), then lets in-flight calls finish; SIGINT skips the drain.
#include <signal.h>

#include <future>
#include <thread>

#include "broker_fixture.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace credbroker::testing {
namespace {

using ServerTest = BrokerTest;

// Asks the server's reflection service for its services; the status says
// whether reflection is served at all.
grpc::Status ListServices(const std::shared_ptr<grpc::Channel>& channel,
                          std::vector<std::string>* names) {
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  auto context = ContextWithDeadline();
  auto stream = reflection->ServerReflectionInfo(context.get());
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  if (stream->Write(request) && stream->Read(&response)) {
    for (const auto& service : response.list_services_response().service()) {
      names->push_back(service.name());
    }
  }
  stream->WritesDone();
  return stream->Finish();
}

// The port of the health-only listener, from the broker's start line.
int HealthPort(const std::string& logs) {
  const std::size_t at = logs.find("\"health_port\":");
  if (at == std::string::npos) return 0;
  return std::stoi(logs.substr(at + 14));
}

TEST_F(ServerTest, HealthIsServingForTheServiceAndTheServer) {
  Start();
  auto health = grpc::health::v1::Health::NewStub(broker_->Channel());
  for (const char* service : {"credbroker.v1.CredentialBroker", ""}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_GRPC_OK(health->Check(ContextWithDeadline().get(), request, &response));
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
}

TEST_F(ServerTest, HealthOnlyListenerServesProbesAndNothingElse) {
  BrokerOptions options;
  options.extra_yaml = "health_listen: \"127.0.0.1:0\"\n";
  Start({}, options);
  const int health_port = HealthPort(broker_->Logs());
  ASSERT_GT(health_port, 0) << broker_->Logs();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(health_port),
                                     grpc::InsecureChannelCredentials());

  grpc::health::v1::HealthCheckRequest request;
  request.set_service("credbroker.v1.CredentialBroker");
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_GRPC_OK(grpc::health::v1::Health::NewStub(channel)->Check(ContextWithDeadline().get(),
                                                                   request, &response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // The broker's API is not on the health port.
  v1::BeginLoginRequest login;
  login.set_username("alice");
  login.set_password("x");
  v1::LoginResult result;
  EXPECT_EQ(v1::CredentialBroker::NewStub(channel)
                ->BeginLogin(ContextWithDeadline().get(), login, &result)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(site_->Requests("password"), 0);
  // Nor is reflection: the plaintext port tells nobody what the broker serves.
  std::vector<std::string> names;
  EXPECT_EQ(ListServices(channel, &names).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(names.empty());
  // While the API listener keeps it.
  EXPECT_GRPC_OK(ListServices(broker_->Channel(), &names));
  EXPECT_NE(std::find(names.begin(), names.end(), "credbroker.v1.CredentialBroker"), names.end());
}

TEST_F(ServerTest, ReflectionListsTheService) {
  Start();
  std::vector<std::string> names;
  EXPECT_GRPC_OK(ListServices(broker_->Channel(), &names));
  EXPECT_NE(std::find(names.begin(), names.end(), "credbroker.v1.CredentialBroker"), names.end());
}

TEST_F(ServerTest, ReflectionCanBeTurnedOff) {
  BrokerOptions options;
  options.extra_yaml = "reflection: false\nhealth_listen: \"127.0.0.1:0\"\n";
  Start({}, options);
  std::vector<std::string> names;
  EXPECT_EQ(ListServices(broker_->Channel(), &names).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(names.empty());
  const int health_port = HealthPort(broker_->Logs());
  ASSERT_GT(health_port, 0) << broker_->Logs();
  EXPECT_EQ(ListServices(grpc::CreateChannel("127.0.0.1:" + std::to_string(health_port),
                                             grpc::InsecureChannelCredentials()),
                         &names)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // The API and health are unaffected.
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_GRPC_OK(grpc::health::v1::Health::NewStub(broker_->Channel())
                     ->Check(ContextWithDeadline().get(), request, &response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  v1::LoginResult result;
  EXPECT_GRPC_OK(BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result));
  EXPECT_TRUE(result.has_challenge());
}

TEST_F(ServerTest, SigtermFinishesInFlightCallsThenExitsZero) {
  Start();
  site_->SetFaults({{"latency_ms", 1000}});
  auto in_flight = std::async(std::launch::async, [&] {
    v1::LoginResult result;
    return BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result);
  });
  for (int i = 0; i < 500 && site_->Stats().value("in_flight", 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  broker_->process().Signal(SIGTERM);
  EXPECT_GRPC_OK(in_flight.get());
  EXPECT_EQ(broker_->process().Wait(std::chrono::seconds(20)), 0);
  // Stopped: new calls cannot connect.
  v1::LoginResult result;
  EXPECT_EQ(BeginLogin("alice", "x", &result).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// The health of `service` ("" for the process) as a probe sees it.
grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
      ContextWithDeadline(5).get(), request, &response);
  return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

TEST_F(ServerTest, SigtermDrainsWithHealthNotServingWhileCallsAreStillServed) {
  BrokerOptions options;
  options.drain_seconds = 3;
  Start({}, options);
  const auto channel = broker_->Channel();
  ASSERT_EQ(HealthOf(channel, "credbroker.v1.CredentialBroker"),
            grpc::health::v1::HealthCheckResponse::SERVING);
  const auto signalled = std::chrono::steady_clock::now();
  broker_->process().Signal(SIGTERM);
  ASSERT_TRUE(broker_->WaitForLogLine({"\"event\":\"draining\""})) << broker_->Logs();
  EXPECT_EQ(HealthOf(channel, "credbroker.v1.CredentialBroker"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(channel, ""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // A client whose balancer has not caught up yet is still served.
  v1::LoginResult result;
  ASSERT_GRPC_OK(BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result));
  EXPECT_TRUE(result.has_challenge());
  EXPECT_TRUE(broker_->process().running());
  EXPECT_EQ(broker_->process().Wait(std::chrono::seconds(20)), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, std::chrono::milliseconds(2900));
  EXPECT_TRUE(broker_->WaitForLogLine({"\"event\":\"shutting_down\""}));
}

TEST_F(ServerTest, SecondSigtermEndsTheDrain) {
  BrokerOptions options;
  options.drain_seconds = 120;
  Start({}, options);
  broker_->process().Signal(SIGTERM);
  ASSERT_TRUE(broker_->WaitForLogLine({"\"event\":\"draining\""})) << broker_->Logs();
  broker_->process().Signal(SIGTERM);
  // Well before the drain's 120 s.
  EXPECT_EQ(broker_->process().Wait(std::chrono::seconds(20)), 0);
}

TEST_F(ServerTest, SigintSkipsTheDrainAndExitsZero) {
  BrokerOptions options;
  options.drain_seconds = 120;
  Start({}, options);
  broker_->process().Signal(SIGINT);
  EXPECT_EQ(broker_->process().Wait(std::chrono::seconds(20)), 0);
  EXPECT_FALSE(LogHasLineWith(broker_->Logs(), {"\"event\":\"draining\""}));
}

}  // namespace
}  // namespace credbroker::testing
