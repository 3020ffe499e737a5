// The listener certificate, its key and the client CA are replaced the way
// the kubelet updates a mounted Secret (new files in a fresh directory, then
// an atomic rename of the `..data` link) while clients keep calling: no call
// fails, the open connections carry on, new handshakes get the new
// certificate, and the new client CA admits the clients it signs.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "broker_fixture.h"
#include "eventually.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "metrics_scrape.h"
#include "test_certs.h"

namespace credbroker::testing {
namespace {

namespace fs = std::filesystem;
using grpc::health::v1::Health;

// A directory laid out like a mounted Secret: tls.crt, tls.key and ca.crt
// are links through `..data` to the current version's directory.
class MountedSecret {
 public:
  explicit MountedSecret(std::string root) : root_(std::move(root)) {
    fs::create_directories(root_);
    for (const char* name : {"tls.crt", "tls.key", "ca.crt"}) {
      fs::create_symlink(std::string("..data/") + name, root_ + "/" + name);
    }
  }

  // Publishes a new version at once, as the kubelet does.
  void Publish(const Certificate& server, const CertificateAuthority& client_ca) {
    const std::string version = root_ + "/..version_" + std::to_string(++versions_);
    fs::create_directories(version);
    fs::copy_file(server.cert_file, version + "/tls.crt");
    fs::copy_file(server.key_file, version + "/tls.key");
    fs::copy_file(client_ca.cert_file, version + "/ca.crt");
    const std::string next = root_ + "/..data_tmp";
    fs::create_symlink(fs::path(version).filename(), next);
    fs::rename(next, root_ + "/..data");  // rename(2): atomic
  }

  std::string File(const std::string& name) const { return root_ + "/" + name; }

 private:
  std::string root_;
  int versions_ = 0;
};

class CertificateReloadTest : public BrokerTest {
 protected:
  // A channel of its own (no subchannel shared with other channels), trusting
  // `server_ca` and presenting `client` when given.
  std::shared_ptr<grpc::Channel> Dial(const CertificateAuthority& server_ca,
                                      const Certificate* client = nullptr) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrEmpty(server_ca.cert_file);
    if (client != nullptr) {
      ssl.pem_cert_chain = ReadFileOrEmpty(client->cert_file);
      ssl.pem_private_key = ReadFileOrEmpty(client->key_file);
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(broker_->address(), grpc::SslCredentials(ssl), args);
  }

  static grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return Health::NewStub(channel)->Check(ContextWithDeadline(5).get(), request, &response);
  }
};

TEST_F(CertificateReloadTest, SwappedSecretIsServedWithoutAFailedCallOrADroppedConnection) {
  const CertificateAuthority old_ca = MakeCertificateAuthority(dir_.path(), "old-ca");
  const CertificateAuthority new_ca = MakeCertificateAuthority(dir_.path(), "new-ca");
  const CertificateAuthority old_clients = MakeCertificateAuthority(dir_.path(), "old-clients");
  const CertificateAuthority new_clients = MakeCertificateAuthority(dir_.path(), "new-clients");
  const Certificate old_server = IssueCertificate(old_ca, dir_.path(), "old-server", "", 2);
  const Certificate new_server = IssueCertificate(new_ca, dir_.path(), "new-server", "", 30);
  const Certificate old_client = IssueCertificate(old_clients, dir_.path(), "old-client");
  const Certificate new_client = IssueCertificate(new_clients, dir_.path(), "new-client");

  MountedSecret secret(dir_.path() + "/tls");
  secret.Publish(old_server, old_clients);
  BrokerOptions options;
  options.extra_yaml = "tls:\n  cert_file: \"" + secret.File("tls.crt") + "\"\n  key_file: \"" +
                       secret.File("tls.key") + "\"\n  reload_interval_seconds: 1\n" +
                       "callers:\n  client_ca_file: \"" + secret.File("ca.crt") + "\"\n" +
                       "metrics_listen: \"127.0.0.1:0\"\n";
  Start({}, options);
  const int metrics_port = broker_->MetricsPort();
  const double two_days = 2 * 86400.0;
  EXPECT_NEAR(SampleValue(ScrapeMetrics(metrics_port), "credbroker_certificate_expiry_seconds",
                          {{"certificate", "listener"}})
                  .value_or(0),
              two_days, 3600);

  // Before: only the old certificate is served and only old clients get in.
  const auto old_channel = Dial(old_ca, &old_client);
  ASSERT_GRPC_OK(Check(old_channel));
  EXPECT_FALSE(Check(Dial(new_ca, &old_client)).ok());
  EXPECT_FALSE(Check(Dial(old_ca, &new_client)).ok());

  // Load on the connection opened before the swap.
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!stop) {
        (Check(old_channel).ok() ? calls : failures)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  secret.Publish(new_server, new_clients);

  // New handshakes get the new certificate, and the new client CA admits
  // the clients it signs.
  EXPECT_TRUE(
      Eventually([&] { return Check(Dial(new_ca, &new_client)).ok(); }, std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(calls, 100);
  // The old connection is still open and still works.
  EXPECT_EQ(old_channel->GetState(false), GRPC_CHANNEL_READY);
  EXPECT_GRPC_OK(Check(old_channel));
  // A new handshake with the old certificate's CA no longer succeeds.
  EXPECT_FALSE(Check(Dial(old_ca, &new_client)).ok());

  EXPECT_TRUE(Eventually(
      [&] {
        return SampleValue(ScrapeMetrics(metrics_port), "credbroker_certificate_expiry_seconds",
                           {{"certificate", "listener"}})
                   .value_or(0) > 29 * 86400.0;
      },
      std::chrono::seconds(20)));
  EXPECT_TRUE(broker_->WaitForLogLine(
      {"\"event\":\"certificate_changed\"", "\"certificate\":\"listener\""}));
}

TEST_F(CertificateReloadTest, KeyThatIsNotTheCertificatesStopsTheStart) {
  const CertificateAuthority ca = MakeCertificateAuthority(dir_.path(), "ca");
  const Certificate one = IssueCertificate(ca, dir_.path(), "one");
  const Certificate two = IssueCertificate(ca, dir_.path(), "two");
  FakeSiteProcess site(dir_, {});
  BrokerOptions options;
  options.site_url = site.url();
  options.extra_yaml =
      "tls:\n  cert_file: \"" + one.cert_file + "\"\n  key_file: \"" + two.key_file + "\"\n";
  const std::string config = dir_.Write("mismatch.yaml", BrokerConfigYaml(options));
  ChildProcess broker({BinaryPath("credential-broker"), "--config", config}, {},
                      dir_.File("mismatch.out"), dir_.File("mismatch.err"));
  EXPECT_EQ(broker.Wait(std::chrono::seconds(20)), 1);
  const std::string error = ReadFileOrEmpty(dir_.File("mismatch.err"));
  EXPECT_NE(error.find("does not belong to the certificate"), std::string::npos) << error;
}

}  // namespace
}  // namespace credbroker::testing
