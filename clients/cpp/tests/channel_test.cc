// Connect(): the service bearer token reaches the server on plaintext
// loopback and on TLS, mutual TLS presents the client certificate, and a real
// TLS broker answers through a CA-verified channel. The recording server is
// in-process because the broker does not check callers yet.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <gtest/gtest.h>

#include <mutex>

#include "credbroker/client.h"
#include "test_certs.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

using testing::Certificate;
using testing::CertificateAuthority;
using testing::ReadFileOrEmpty;

// Answers IssueScriptSession and remembers what each call carried.
class RecordingBroker final : public v1::CredentialBroker::Service {
 public:
  grpc::Status IssueScriptSession(grpc::ServerContext* context,
                                  const v1::IssueScriptSessionRequest*,
                                  v1::Session* session) override {
    std::lock_guard<std::mutex> lock(mutex_);
    authorization_.clear();
    for (const auto& [key, value] : context->client_metadata()) {
      if (std::string(key.data(), key.size()) == "authorization") {
        authorization_.emplace_back(value.data(), value.size());
      }
    }
    peer_identity_.clear();
    for (const grpc::string_ref& id :
         context->auth_context()->FindPropertyValues("x509_common_name")) {
      peer_identity_.emplace_back(id.data(), id.size());
    }
    session->set_access_token("recorded");
    return grpc::Status::OK;
  }
  std::vector<std::string> authorization() {
    std::lock_guard<std::mutex> lock(mutex_);
    return authorization_;
  }
  std::vector<std::string> peer_identity() {
    std::lock_guard<std::mutex> lock(mutex_);
    return peer_identity_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> authorization_;
  std::vector<std::string> peer_identity_;
};

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::MakeCertificateAuthority(dir_.path(), "test-ca");
    server_cert_ = testing::IssueCertificate(ca_, dir_.path(), "broker");
    client_cert_ = testing::IssueCertificate(ca_, dir_.path(), "render-node-7");
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  // Starts the recording server; returns its address.
  std::string Serve(std::shared_ptr<grpc::ServerCredentials> credentials) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    EXPECT_GT(port, 0);
    return "127.0.0.1:" + std::to_string(port);
  }
  std::shared_ptr<grpc::ServerCredentials> Tls(grpc_ssl_client_certificate_request_type request) {
    grpc::SslServerCredentialsOptions options(request);
    options.pem_root_certs = ReadFileOrEmpty(ca_.cert_file);
    options.pem_key_cert_pairs.push_back(
        {ReadFileOrEmpty(server_cert_.key_file), ReadFileOrEmpty(server_cert_.cert_file)});
    return grpc::SslServerCredentials(options);
  }
  grpc::Status Call(const std::string& address, const client::ChannelOptions& options) {
    auto stub = client::ConnectStub(address, options);
    v1::IssueScriptSessionRequest request;
    v1::Session session;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub->IssueScriptSession(&context, request, &session);
  }

  TempDir dir_;
  CertificateAuthority ca_;
  Certificate server_cert_, client_cert_;
  RecordingBroker service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ChannelTest, PlaintextLoopbackSendsBearerTokenOnEveryCall) {
  const std::string address = Serve(grpc::InsecureServerCredentials());
  client::ChannelOptions options;
  options.service_token = "svc-token-123";
  auto stub = client::ConnectStub(address, options);
  for (int i = 0; i < 2; ++i) {
    v1::Session session;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->IssueScriptSession(&context, {}, &session).ok());
    EXPECT_EQ(service_.authorization(), std::vector<std::string>{"Bearer svc-token-123"});
  }
}

TEST_F(ChannelTest, NoTokenNoAuthorizationHeader) {
  const std::string address = Serve(grpc::InsecureServerCredentials());
  ASSERT_TRUE(Call(address, {}).ok());
  EXPECT_TRUE(service_.authorization().empty());
}

TEST_F(ChannelTest, TlsWithCaSendsBearerTokenAsCallCredentials) {
  const std::string address = Serve(Tls(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE));
  client::ChannelOptions options;
  options.ca_file = ca_.cert_file;
  options.service_token = "svc-token-456";
  ASSERT_TRUE(Call(address, options).ok());
  EXPECT_EQ(service_.authorization(), std::vector<std::string>{"Bearer svc-token-456"});
}

TEST_F(ChannelTest, TlsWithoutTheRightCaFails) {
  const std::string address = Serve(Tls(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE));
  const CertificateAuthority other = testing::MakeCertificateAuthority(dir_.path(), "other-ca");
  client::ChannelOptions options;
  options.ca_file = other.cert_file;
  EXPECT_EQ(Call(address, options).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ChannelTest, MutualTlsPresentsTheClientCertificate) {
  const std::string address =
      Serve(Tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY));
  client::ChannelOptions options;
  options.ca_file = ca_.cert_file;
  EXPECT_EQ(Call(address, options).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the server requires a client certificate";
  options.client_cert_file = client_cert_.cert_file;
  options.client_key_file = client_cert_.key_file;
  ASSERT_TRUE(Call(address, options).ok());
  EXPECT_EQ(service_.peer_identity(), std::vector<std::string>{"render-node-7"});
}

TEST_F(ChannelTest, RealBrokerOverTlsWithServiceToken) {
  FakeSite site(dir_);
  BrokerConfig config;
  config.tls_cert_file = server_cert_.cert_file;
  config.tls_key_file = server_cert_.key_file;
  Broker broker(dir_, site.url(), config);
  client::ChannelOptions options;
  options.ca_file = ca_.cert_file;
  options.service_token = "svc-token-789";  // not checked by the broker yet: ignored
  client::ScriptTokenSource source(client::ConnectStub(broker.address(), options), "ingest-bot",
                                   "ingest-bot-key-0001");
  EXPECT_EQ(site.ReadProjects(source.AccessToken()), 200);
  EXPECT_EQ(broker.Logs().find("svc-token-789"), std::string::npos);
}

TEST(ChannelOptionsTest, RefusesTokenInTheClearToAnotherHost) {
  client::ChannelOptions options;
  options.service_token = "svc";
  // Another host gets TLS by default; plaintext there needs `insecure`, and
  // then the token is refused.
  EXPECT_NO_THROW(client::Connect("broker.example.com:50051", options));
  options.insecure = true;
  EXPECT_THROW(client::Connect("broker.example.com:50051", options), std::invalid_argument);
  EXPECT_NO_THROW(client::Connect("127.0.0.1:50051", options));
  EXPECT_NO_THROW(client::Connect("localhost:50051", options));
  EXPECT_NO_THROW(client::Connect("[::1]:50051", options));
}

TEST(ChannelOptionsTest, LoopbackTargets) {
  EXPECT_TRUE(client::IsLoopbackTarget("127.0.0.1:1"));
  EXPECT_TRUE(client::IsLoopbackTarget("dns:///localhost:1"));
  EXPECT_TRUE(client::IsLoopbackTarget("ipv6:[::1]:1"));
  EXPECT_TRUE(client::IsLoopbackTarget("unix:/run/credbroker.sock"));
  EXPECT_FALSE(client::IsLoopbackTarget("10.0.0.5:50051"));
  EXPECT_FALSE(client::IsLoopbackTarget("localhost.example.com:50051"));
}

TEST(ChannelOptionsTest, CertificateNeedsKeyAndFilesMustExist) {
  client::ChannelOptions options;
  options.client_cert_file = "/nonexistent/cert.pem";
  EXPECT_THROW(client::Connect("127.0.0.1:1", options), std::invalid_argument);
  client::ChannelOptions missing;
  missing.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(client::Connect("127.0.0.1:1", missing), std::invalid_argument);
}

}  // namespace
}  // namespace credbroker::client_testing
