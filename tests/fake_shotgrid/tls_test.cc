// HTTPS: a self-signed certificate made with the openssl CLI in a temp dir, trusted by the client.
#include <cstdlib>
#include <filesystem>

#include "test_support.h"

namespace fake_shotgrid::testing {
namespace {

class TlsTest : public SiteTest {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/fake_shotgrid_tls_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
        " -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  SiteOptions Options() override {
    SiteOptions o = SiteTest::Options();
    o.tls_cert = dir_ + "/cert.pem";
    o.tls_key = dir_ + "/key.pem";
    return o;
  }
  static std::string dir_;
};
std::string TlsTest::dir_;

TEST_F(TlsTest, ServesHttps) {
  ASSERT_EQ(site_->base_url().rfind("https://127.0.0.1:", 0), 0u);
  httplib::SSLClient tls("127.0.0.1", site_->port());
  tls.set_ca_cert_path((dir_ + "/cert.pem").c_str());
  tls.enable_server_certificate_verification(true);
  auto r = tls.Post("/api/v1/auth/access_token",
                    EncodeForm({{"grant_type", "client_credentials"},
                                {"client_id", fixtures::kIngestBotName},
                                {"client_secret", fixtures::kIngestBotKey}}),
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  // Plain HTTP to the TLS port gets no answer.
  EXPECT_FALSE(client_->Get("/_fake/stats"));
}

TEST(TlsStart, BadCertificateFailsToStart) {
  SiteOptions o;
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  FakeShotgridSite site(o);
  std::string error;
  EXPECT_FALSE(site.Start(&error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace fake_shotgrid::testing
