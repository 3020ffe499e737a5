// TLS on both sides: the broker verifies the site's certificate against the
// configured CA (and refuses one it does not trust), and serves its own
// listener over TLS, which any non-loopback address requires.
#include <grpcpp/grpcpp.h>

#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

class TlsTest : public BrokerTest {
 protected:
  void SetUp() override {
    ca_ = MakeCertificateAuthority(dir_.path(), "test-ca");
    site_cert_ = IssueCertificate(ca_, dir_.path(), "site");
  }

  CertificateAuthority ca_;
  Certificate site_cert_;
};

TEST_F(TlsTest, HttpsSiteWithATrustedCa) {
  FakeSiteOptions site;
  site.tls = &site_cert_;
  BrokerOptions broker;
  broker.site_extra = "    ca_file: \"" + ca_.cert_file + "\"\n";
  Start(site, broker);
  ASSERT_EQ(site_->url().rfind("https://", 0), 0u);
  v1::LoginResult result;
  ASSERT_GRPC_OK(BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result));
  EXPECT_TRUE(result.has_challenge());
  EXPECT_EQ(site_->Requests("password"), 1);
}

TEST_F(TlsTest, HttpsSiteWithAnUntrustedCaIsRefused) {
  const CertificateAuthority other = MakeCertificateAuthority(dir_.path(), "other-ca");
  FakeSiteOptions site;
  site.tls = &site_cert_;
  BrokerOptions broker;
  broker.site_extra = "    ca_file: \"" + other.cert_file + "\"\n";
  Start(site, broker);
  v1::LoginResult result;
  const grpc::Status status =
      BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result);
  EXPECT_BROKER_ERROR(status, UNAVAILABLE, "UPSTREAM_UNAVAILABLE");
  EXPECT_NE(status.error_message().find("certificate"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(site_->Requests("password"), 0);  // nothing was sent over the untrusted connection
}

TEST_F(TlsTest, ListenerServesTls) {
  const Certificate broker_cert = IssueCertificate(ca_, dir_.path(), "broker");
  FakeSiteProcess site(dir_, {});
  BrokerOptions options;
  options.site_url = site.url();
  options.extra_yaml = "tls:\n  cert_file: \"" + broker_cert.cert_file + "\"\n  key_file: \"" +
                       broker_cert.key_file + "\"\n";
  BrokerProcess broker(dir_, options);

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrEmpty(ca_.cert_file);
  auto stub = v1::CredentialBroker::NewStub(
      grpc::CreateChannel(broker.address(), grpc::SslCredentials(ssl)));
  v1::BeginLoginRequest request;
  request.set_username(fixtures::kBob.login);
  request.set_password(fixtures::kBob.password);
  v1::LoginResult result;
  ASSERT_GRPC_OK(stub->BeginLogin(ContextWithDeadline().get(), request, &result));
  EXPECT_TRUE(result.has_challenge());

  // A plaintext client cannot talk to a TLS listener.
  auto plain = v1::CredentialBroker::NewStub(
      grpc::CreateChannel(broker.address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plain->BeginLogin(ContextWithDeadline(3).get(), request, &result).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// The binary refuses to start on a bad configuration, with exit code 2 and a
// message naming the key.
struct RefusedConfig {
  const char* name;
  const char* site_url;
  const char* listen;
  const char* extra_yaml;
  const char* named_in_message;
};

// Names the case in test output instead of dumping the struct's bytes.
void PrintTo(const RefusedConfig& config, std::ostream* out) { *out << config.name; }

class ConfigRefusalTest : public ::testing::TestWithParam<RefusedConfig> {};

TEST_P(ConfigRefusalTest, StartIsRefusedNamingTheKey) {
  const RefusedConfig& bad = GetParam();
  TempDir dir;
  BrokerOptions options;
  options.site_url = bad.site_url;
  options.listen = bad.listen;
  options.extra_yaml = bad.extra_yaml;
  const std::string config = dir.Write("bad.yaml", BrokerConfigYaml(options));
  ChildProcess broker({BinaryPath("credential-broker"), "--config", config}, {},
                      dir.File("bad.out"), dir.File("bad.err"));
  EXPECT_EQ(broker.Wait(std::chrono::seconds(10)), 2);
  const std::string err = ReadFileOrEmpty(dir.File("bad.err"));
  EXPECT_NE(err.find(bad.named_in_message), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    BadConfigs, ConfigRefusalTest,
    ::testing::Values(RefusedConfig{"NonLoopbackListenerNeedsTls", "http://127.0.0.1:1",
                                    "0.0.0.0:0", "", "tls.cert_file"},
                      RefusedConfig{"PlainHttpSiteMustBeLoopback", "http://shotgrid.example.com",
                                    "127.0.0.1:0", "", "sites[0].url"},
                      RefusedConfig{"UnknownKeyIsNamed", "http://127.0.0.1:1", "127.0.0.1:0",
                                    "challenge:\n  lifetime_secs: 30\n", "challenge.lifetime_secs"},
                      RefusedConfig{"BadValueIsNamed", "http://127.0.0.1:1", "127.0.0.1:0",
                                    "failure_budget:\n  max_failures: 12\n",
                                    "failure_budget.max_failures"}),
    [](const ::testing::TestParamInfo<RefusedConfig>& info) { return info.param.name; });

}  // namespace
}  // namespace credbroker::testing
