// The connection policy every client shares, for C++: plaintext only to this
// machine unless `insecure`, never the service token in the clear off this
// machine, the default deadline of the helpers and NewContext(), and retries of
// UNAVAILABLE only for calls that are safe to repeat. Checked against an
// in-process server that fails on demand and counts attempts.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "credbroker/client.h"

namespace credbroker::client_testing {
namespace {

namespace cb = credbroker::client;
using std::chrono::milliseconds;

// Answers UNAVAILABLE `failures` times per method, then a session; records
// each call's remaining time.
class FlakyBroker final : public v1::CredentialBroker::Service {
 public:
  int failures = 0;
  milliseconds delay{0};

  std::map<std::string, int> Attempts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return attempts_;
  }
  std::chrono::system_clock::time_point LastDeadline() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_deadline_;
  }
  std::string LastUserAgent() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_user_agent_;
  }

  grpc::Status BeginLogin(grpc::ServerContext* c, const v1::BeginLoginRequest*,
                          v1::LoginResult* r) override {
    r->mutable_session()->set_access_token("tok");
    return Answer("BeginLogin", c);
  }
  grpc::Status SubmitSecondFactor(grpc::ServerContext* c, const v1::SubmitSecondFactorRequest*,
                                  v1::LoginResult* r) override {
    r->mutable_session()->set_access_token("tok");
    return Answer("SubmitSecondFactor", c);
  }
  grpc::Status RefreshSession(grpc::ServerContext* c, const v1::RefreshSessionRequest*,
                              v1::Session* s) override {
    s->set_access_token("tok");
    return Answer("RefreshSession", c);
  }
  grpc::Status IssueScriptSession(grpc::ServerContext* c, const v1::IssueScriptSessionRequest*,
                                  v1::Session* s) override {
    s->set_access_token("tok");
    return Answer("IssueScriptSession", c);
  }
  grpc::Status RevokeSession(grpc::ServerContext* c, const v1::RevokeSessionRequest*,
                             v1::RevokeSessionResponse*) override {
    return Answer("RevokeSession", c);
  }

 private:
  grpc::Status Answer(const std::string& method, grpc::ServerContext* context) {
    bool failing;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      failing = ++attempts_[method] <= failures;
      last_deadline_ = context->deadline();
      const auto agent = context->client_metadata().find("user-agent");
      if (agent != context->client_metadata().end()) {
        last_user_agent_.assign(agent->second.data(), agent->second.size());
      }
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (failing) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down for a moment");
    return grpc::Status::OK;
  }

  std::mutex mutex_;
  std::map<std::string, int> attempts_;
  std::chrono::system_clock::time_point last_deadline_;
  std::string last_user_agent_;
};

struct Server {
  explicit Server(const std::string& host = "127.0.0.1") {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(host + ":0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    address = host + ":" + std::to_string(port);
  }
  ~Server() { server->Shutdown(std::chrono::system_clock::now()); }
  FlakyBroker service;
  std::unique_ptr<grpc::Server> server;
  std::string address;
};

v1::Session ScriptSession(v1::CredentialBroker::Stub& stub, grpc::StatusCode* code) {
  v1::IssueScriptSessionRequest request;
  request.set_script_name("ingest-bot");
  v1::Session session;
  *code = stub.IssueScriptSession(cb::NewContext().get(), request, &session).error_code();
  return session;
}

// An IPv4 address of this machine that is not loopback, or "".
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    if (std::string(text).rfind("127.", 0) != 0) found = text;
  }
  freeifaddrs(list);
  return found;
}

TEST(ConnectionPolicy, TheServiceTokenNeverGoesInTheClearOffThisMachine) {
  for (const char* address : {"192.0.2.10:50051", "broker.studio.lan:50051",
                              "dns:///broker.studio.lan:443", "[2001:db8::1]:50051"}) {
    EXPECT_FALSE(cb::IsLoopbackTarget(address)) << address;
    cb::ChannelOptions options;
    options.insecure = true;
    EXPECT_NE(cb::Connect(address, options), nullptr) << address;
    options.service_token = "svc-token";
    EXPECT_THROW(cb::Connect(address, options), std::invalid_argument) << address;
    options.insecure = false;  // TLS with the system roots: the token may go
    EXPECT_NE(cb::Connect(address, options), nullptr) << address;
  }
  for (const char* address : {"127.0.0.1:1", "localhost:1", "[::1]:1", "unix:/tmp/b.sock"}) {
    EXPECT_TRUE(cb::IsLoopbackTarget(address)) << address;
  }
}

TEST(ConnectionPolicy, PlaintextOffThisMachineOnlyWhenInsecureIsAsked) {
  const std::string host = NonLoopbackAddress();
  if (host.empty()) GTEST_SKIP() << "no non-loopback IPv4 address";
  Server server(host);
  grpc::StatusCode code;
  cb::ChannelOptions options;
  // Without retries, so that the failed handshake answers at once (with them,
  // the call may also run out of time while retrying).
  options.enable_retries = false;
  ScriptSession(*cb::ConnectStub(server.address, options), &code);  // TLS to plaintext
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(server.service.Attempts().empty());
  options.insecure = true;
  ScriptSession(*cb::ConnectStub(server.address, options), &code);
  EXPECT_EQ(code, grpc::StatusCode::OK);
}

TEST(ConnectionPolicy, EveryCallGetsTheDefaultDeadline) {
  EXPECT_EQ(cb::kDefaultTimeout, std::chrono::seconds(10));
  EXPECT_EQ(cb::LoginOptions{}.timeout, cb::kDefaultTimeout);
  EXPECT_EQ(cb::TokenSourceOptions{}.timeout, cb::kDefaultTimeout);
  Server server;
  auto stub = cb::ConnectStub(server.address);
  grpc::StatusCode code;
  ScriptSession(*stub, &code);  // NewContext(): 10 s
  ASSERT_EQ(code, grpc::StatusCode::OK);
  const auto left = server.service.LastDeadline() - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::seconds(8));
  EXPECT_LE(left, cb::kDefaultTimeout + milliseconds(200));  // grpc-timeout is rounded up
  cb::Login(*stub, "alice", "pw", nullptr);
  EXPECT_GT(server.service.LastDeadline() - std::chrono::system_clock::now(),
            std::chrono::seconds(8));

  // A shorter one is kept to, and not cut short.
  server.service.delay = milliseconds(1500);
  cb::LoginOptions quick;
  quick.timeout = milliseconds(400);
  const auto start = std::chrono::steady_clock::now();
  try {
    cb::Login(*stub, "alice", "pw", nullptr, quick);
    ADD_FAILURE() << "login succeeded";
  } catch (const cb::BrokerError& error) {
    EXPECT_EQ(error.code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(350));
  EXPECT_LT(took, milliseconds(1200));
  // The shipped config reaches gRPC without timeouts (see ServiceConfigJson).
  EXPECT_EQ(cb::ServiceConfigJson().find("timeout"), std::string::npos);
  EXPECT_NE(cb::ServiceConfigJson().find("retryPolicy"), std::string::npos);
}

TEST(ConnectionPolicy, UnavailableIsRetriedForCallsSafeToRepeat) {
  Server server;
  server.service.failures = 2;
  auto stub = cb::ConnectStub(server.address);
  grpc::StatusCode code;
  EXPECT_EQ(ScriptSession(*stub, &code).access_token(), "tok");
  EXPECT_EQ(code, grpc::StatusCode::OK);
  v1::RevokeSessionRequest revoke;
  revoke.set_refresh_token("refresh-1");
  v1::RevokeSessionResponse revoked;
  EXPECT_TRUE(stub->RevokeSession(cb::NewContext().get(), revoke, &revoked).ok());
  EXPECT_EQ(cb::Login(*stub, "alice", "pw", nullptr).access_token(), "tok");
  const std::map<std::string, int> want = {
      {"IssueScriptSession", 3}, {"RevokeSession", 3}, {"BeginLogin", 3}};
  EXPECT_EQ(server.service.Attempts(), want);
}

TEST(ConnectionPolicy, UnavailableIsNotRetriedWhenARepeatCouldSpendSomething) {
  Server server;
  server.service.failures = 1;
  auto stub = cb::ConnectStub(server.address);
  cb::ChannelOptions once;
  once.enable_retries = false;
  auto no_retry = cb::ConnectStub(server.address, once);

  v1::RefreshSessionRequest refresh;
  refresh.set_refresh_token("refresh-1");
  v1::Session session;
  EXPECT_EQ(stub->RefreshSession(cb::NewContext().get(), refresh, &session).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  v1::SubmitSecondFactorRequest submit;
  submit.set_challenge_id("c");
  submit.set_code("123456");
  v1::LoginResult result;
  EXPECT_EQ(stub->SubmitSecondFactor(cb::NewContext().get(), submit, &result).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  cb::LoginOptions with_code;
  with_code.code = "123456";
  with_code.no_retry_stub = no_retry.get();
  try {
    cb::Login(*stub, "alice", "pw", nullptr, with_code);
    ADD_FAILURE() << "login succeeded";
  } catch (const cb::BrokerError& error) {
    EXPECT_EQ(error.code(), grpc::StatusCode::UNAVAILABLE);
  }
  const std::map<std::string, int> want = {
      {"RefreshSession", 1}, {"SubmitSecondFactor", 1}, {"BeginLogin", 1}};
  EXPECT_EQ(server.service.Attempts(), want);
}

TEST(ConnectionPolicy, ChannelArgumentsAndAServiceConfigOfYourOwn) {
  Server server;
  server.service.failures = 1;
  cb::ChannelOptions options;
  options.arguments.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, "ingest-service/2.1");
  // No retry policy at all: the one failure reaches the caller.
  options.service_config_json =
      R"({"methodConfig": [{"name": [{"service": "credbroker.v1.CredentialBroker"}],
                             "timeout": "5s"}]})";
  grpc::StatusCode code;
  ScriptSession(*cb::ConnectStub(server.address, options), &code);
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server.service.Attempts(), (std::map<std::string, int>{{"IssueScriptSession", 1}}));
  EXPECT_NE(server.service.LastUserAgent().find(" ingest-service/2.1 "), std::string::npos)
      << server.service.LastUserAgent();
}

}  // namespace
}  // namespace credbroker::client_testing
