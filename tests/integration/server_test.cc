// What the broker serves besides its API and how it stops: grpc.health.v1,
// server reflection (on the API listener only, and only unless turned off),
// and a graceful SIGTERM that lets in-flight calls finish.
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

TEST_F(ServerTest, SigintAlsoExitsZero) {
  Start();
  broker_->process().Signal(SIGINT);
  EXPECT_EQ(broker_->process().Wait(std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace credbroker::testing
