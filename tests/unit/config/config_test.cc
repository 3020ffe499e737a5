// ParseConfig + CheckConfig: defaults, unknown keys named by path, and the
// rules that keep passwords off clear-text links.
#include "broker/config/config.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace credbroker {
namespace {

constexpr char kMinimal[] = R"(
listen: 127.0.0.1:50051
default_site: main
sites:
  - name: main
    url: https://studio.shotgrid.autodesk.com
)";

void ExpectRefused(const absl::Status& status, absl::string_view must_mention) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find(must_mention), absl::string_view::npos)
      << "message does not mention '" << must_mention << "': " << status.message();
}

// Parses and checks; returns the first failure.
absl::Status ParseAndCheck(const std::string& yaml) {
  absl::StatusOr<Config> config = ParseConfig(yaml, "test.yaml");
  if (!config.ok()) return config.status();
  return CheckConfig(*config);
}

std::string WithSiteUrl(const std::string& url) {
  return "listen: 127.0.0.1:50051\ndefault_site: main\nsites:\n  - name: main\n    url: " + url +
         "\n";
}

std::string WithListen(const std::string& listen) {
  return "listen: \"" + listen +
         "\"\ndefault_site: main\nsites:\n  - name: main\n    url: https://s.example\n";
}

TEST(ConfigTest, MinimalConfigIsValidWithDefaults) {
  absl::StatusOr<Config> config = ParseConfig(kMinimal, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(CheckConfig(*config).ok()) << CheckConfig(*config);
  EXPECT_EQ(config->listen, "127.0.0.1:50051");
  EXPECT_EQ(config->default_site, "main");
  ASSERT_EQ(config->sites.size(), 1u);
  EXPECT_EQ(config->sites[0].name, "main");
  EXPECT_EQ(config->sites[0].base_url, "https://studio.shotgrid.autodesk.com");
  EXPECT_EQ(config->challenge_lifetime, absl::Seconds(300));
  EXPECT_EQ(config->challenge_attempts, 5);
  EXPECT_EQ(config->max_failures, 5);
  EXPECT_EQ(config->failure_window, absl::Hours(1));
  EXPECT_EQ(config->per_address_max_failures, 100);
  EXPECT_EQ(config->per_address_failure_window, absl::Hours(1));
  EXPECT_EQ(config->challenges_per_person, 3);
  EXPECT_EQ(config->caller_max_in_flight, 4096);
  EXPECT_EQ(config->site_call_threads, 4);
  EXPECT_EQ(config->sites.at(0).max_concurrent_requests, 1024);
  EXPECT_EQ(config->sites.at(0).max_queued_requests, 4096);
  EXPECT_FALSE(config->tls.enabled());
  EXPECT_GE(config->max_request_bytes, 64 * 1024);
}

TEST(ConfigTest, OptionalKeysAreRead) {
  absl::StatusOr<Config> config = ParseConfig(std::string(kMinimal) + R"(
challenge:
  lifetime_seconds: 120
  max_attempts: 3
failure_budget:
  max_failures: 9
  window_seconds: 3600
script_tokens:
  min_validity_seconds: 30
log_level: debug
)",
                                              "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->challenge_lifetime, absl::Seconds(120));
  EXPECT_EQ(config->challenge_attempts, 3);
  EXPECT_EQ(config->max_failures, 9);
  EXPECT_EQ(config->failure_window, absl::Hours(1));
  EXPECT_EQ(config->script_token_min_validity, absl::Seconds(30));
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
}

TEST(ConfigTest, TrailingSlashOfSiteUrlDropped) {
  absl::StatusOr<Config> config = ParseConfig(WithSiteUrl("https://s.example//"), "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sites[0].base_url, "https://s.example");
}

TEST(ConfigTest, UnknownSiteKeyNamesItsPath) {
  const absl::StatusOr<Config> config = ParseConfig(R"(
listen: 127.0.0.1:50051
default_site: main
sites:
  - name: main
    urll: https://s.example
)",
                                                    "test.yaml");
  ExpectRefused(config.status(), "sites[0].urll");
  ExpectRefused(config.status(), "test.yaml");
}

TEST(ConfigTest, UnknownKeysNamedByPathAtEveryLevel) {
  ExpectRefused(ParseConfig(std::string(kMinimal) + "listn: x\n", "t").status(), "'listn'");
  ExpectRefused(ParseConfig(std::string(kMinimal) + "challenge:\n  lifetime: 5\n", "t").status(),
                "challenge.lifetime");
  ExpectRefused(ParseConfig(std::string(kMinimal) + "tls:\n  cert: a\n", "t").status(), "tls.cert");
  ExpectRefused(ParseConfig(std::string(kMinimal) + "failure_budget:\n  max: 3\n", "t").status(),
                "failure_budget.max");
}

TEST(ConfigTest, HttpToNonLoopbackSiteRefused) {
  ExpectRefused(ParseAndCheck(WithSiteUrl("http://studio.shotgrid.autodesk.com")), "sites[0].url");
  ExpectRefused(ParseAndCheck(WithSiteUrl("http://10.0.0.5:8080")), "sites[0].url");
  ExpectRefused(ParseAndCheck(WithSiteUrl("ftp://s.example")), "sites[0].url");
  ExpectRefused(ParseAndCheck(WithSiteUrl("https://")), "sites[0].url");
}

TEST(ConfigTest, HttpToLoopbackSiteAllowed) {
  for (const char* url : {"http://127.0.0.1:8080", "http://127.0.0.1", "http://localhost:9000",
                          "http://[::1]:8080/"}) {
    EXPECT_TRUE(ParseAndCheck(WithSiteUrl(url)).ok())
        << url << ": " << ParseAndCheck(WithSiteUrl(url));
  }
}

// BUG (broker/config/config.cc, IsLoopbackHost/UrlHost): any host that merely
// starts with "127." counts as loopback, and UrlHost ignores userinfo, so these
// non-loopback http:// URLs are accepted and passwords would cross the network
// in clear text.
TEST(ConfigTest, HttpToHostThatOnlyLooksLikeLoopbackRefused) {
  for (const char* url : {"http://127.0.0.1.nip.io", "http://127.attacker.example",
                          "http://127.0.0.1@studio.example/", "http://127.0.0.1:80@evil.example"}) {
    ExpectRefused(ParseAndCheck(WithSiteUrl(url)), "sites[0].url");
  }
}

TEST(ConfigTest, NonLoopbackListenWithoutTlsRefused) {
  ExpectRefused(ParseAndCheck(WithListen("0.0.0.0:50051")), "listen");
  ExpectRefused(ParseAndCheck(WithListen("[::]:50051")), "listen");
  ExpectRefused(ParseAndCheck(WithListen("broker.studio.example:443")), "listen");
}

TEST(ConfigTest, LoopbackListenAllowed) {
  for (const char* listen : {"127.0.0.1:0", "localhost:50051", "[::1]:50051"}) {
    EXPECT_TRUE(ParseAndCheck(WithListen(listen)).ok()) << listen;
  }
}

// Same bug as above, for the listener.
TEST(ConfigTest, ListenOnHostThatOnlyLooksLikeLoopbackRefused) {
  ExpectRefused(ParseAndCheck(WithListen("127.0.0.1.nip.io:50051")), "listen");
}

TEST(ConfigTest, ListenMalformedRefused) {
  ExpectRefused(ParseAndCheck(WithListen("127.0.0.1")), "listen");
  ExpectRefused(ParseAndCheck(WithListen("127.0.0.1:99999")), "listen");
  ExpectRefused(ParseAndCheck(WithListen("127.0.0.1:http")), "listen");
}

TEST(ConfigTest, TlsNeedsBothFiles) {
  ExpectRefused(ParseAndCheck(WithListen("0.0.0.0:443") + "tls:\n  cert_file: /nonexistent.pem\n"),
                "tls");
}

TEST(ConfigTest, DefaultSiteMustBeListed) {
  ExpectRefused(ParseAndCheck(R"(
listen: 127.0.0.1:50051
default_site: other
sites:
  - name: main
    url: https://s.example
)"),
                "default_site");
}

TEST(ConfigTest, RequiredKeys) {
  ExpectRefused(ParseAndCheck("default_site: main\nsites:\n  - {name: main, url: https://s}\n"),
                "listen");
  ExpectRefused(ParseAndCheck("listen: 127.0.0.1:1\nsites:\n  - {name: main, url: https://s}\n"),
                "default_site");
  ExpectRefused(ParseAndCheck("listen: 127.0.0.1:1\ndefault_site: main\n"), "sites");
}

TEST(ConfigTest, DuplicateSiteRefused) {
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "  - name: main\n    url: https://t.example\n", "t")
          .status(),
      "sites[1].name");
}

TEST(ConfigTest, MaxFailuresMustStayBelowTheSiteLockout) {
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "failure_budget:\n  max_failures: 10\n", "t").status(),
      "failure_budget.max_failures");
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "failure_budget:\n  max_failures: 0\n", "t").status(),
      "failure_budget.max_failures");
  EXPECT_TRUE(
      ParseConfig(std::string(kMinimal) + "failure_budget:\n  max_failures: 9\n", "t").ok());
}

TEST(ConfigTest, NoBudgetMayLetTenFailuresReachTheSiteInAnHour) {
  const auto budget = [](int failures, int seconds) {
    return ParseConfig(std::string(kMinimal) +
                           "failure_budget:\n  max_failures: " + std::to_string(failures) +
                           "\n  window_seconds: " + std::to_string(seconds) + "\n",
                       "t")
        .status();
  };
  for (const auto& [failures, seconds] :
       {std::pair{9, 60}, std::pair{5, 1800}, std::pair{2, 600}, std::pair{5, 3599}}) {
    const absl::Status refused = budget(failures, seconds);
    ExpectRefused(refused, "failure_budget.max_failures");
    ExpectRefused(refused, "failure_budget.window_seconds");
  }
  for (const auto& [failures, seconds] :
       {std::pair{9, 3600}, std::pair{4, 1800}, std::pair{1, 400}, std::pair{3, 1200}}) {
    EXPECT_TRUE(budget(failures, seconds).ok()) << failures << " per " << seconds << " s";
  }
  EXPECT_EQ(MostFailuresPerHour(5, absl::Hours(1)), 5);
  EXPECT_EQ(MostFailuresPerHour(3, absl::Minutes(20)), 9);
  EXPECT_EQ(MostFailuresPerHour(3, absl::Seconds(1199)), 12);
}

TEST(ConfigTest, LimitsAreRead) {
  absl::StatusOr<Config> config = ParseConfig(std::string(kMinimal) + R"(
failure_budget:
  per_address_max_failures: 500
  per_address_window_seconds: 600
challenge:
  max_per_person: 1
server:
  max_concurrent_streams: 64
  caller_max_in_flight: 10
  site_call_threads: 3
  shutdown_grace_seconds: 3
store:
  memory:
    max_entries: 1000
seal_accepted_key_files: [/etc/credbroker/old.key]
)",
                                              "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->per_address_max_failures, 500);
  EXPECT_EQ(config->per_address_failure_window, absl::Seconds(600));
  EXPECT_EQ(config->challenges_per_person, 1);
  EXPECT_EQ(config->max_concurrent_streams, 64);
  EXPECT_EQ(config->caller_max_in_flight, 10);
  EXPECT_EQ(config->site_call_threads, 3);
  EXPECT_EQ(config->shutdown_grace, absl::Seconds(3));
  EXPECT_EQ(config->memory_store_max_entries, 1000);
  EXPECT_EQ(config->seal_accepted_key_files, std::vector<std::string>{"/etc/credbroker/old.key"});
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "server:\n  caller_max_in_flight: 0\n", "t").status(),
      "server.caller_max_in_flight");
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "server:\n  site_call_threads: 65\n", "t").status(),
      "server.site_call_threads");
  ExpectRefused(ParseConfig(std::string(kMinimal) + "store:\n  redis_typo: {}\n", "t").status(),
                "store.redis_typo");
}

TEST(ConfigTest, OutOfRangeAndWrongTypes) {
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "challenge:\n  max_attempts: 0\n", "t").status(),
      "challenge.max_attempts");
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "challenge:\n  lifetime_seconds: five\n", "t").status(),
      "challenge.lifetime_seconds");
  ExpectRefused(ParseConfig(std::string(kMinimal) + "log_level: loud\n", "t").status(),
                "log_level");
  ExpectRefused(ParseConfig(std::string(kMinimal) + "max_request_bytes: 1024\n", "t").status(),
                "max_request_bytes");
  ExpectRefused(ParseConfig("listen: 127.0.0.1:1\nsites: main\n", "t").status(), "sites");
  ExpectRefused(ParseConfig("listen: [a, b]\n", "t").status(), "listen");
}

TEST(ConfigTest, BadYamlReported) {
  const absl::StatusOr<Config> config =
      ParseConfig("listen: 127.0.0.1:1\nsites: [ {name: main\n", "broken.yaml");
  ExpectRefused(config.status(), "broken.yaml");
  ExpectRefused(config.status(), "not valid YAML");
}

TEST(ConfigTest, NonMappingTopLevelReported) {
  ExpectRefused(ParseConfig("- just\n- a list\n", "t").status(), "must be a mapping");
}

TEST(ConfigTest, SplitHostPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("[::1]:8443", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8443);
  ASSERT_TRUE(SplitHostPort("localhost:0", &host, &port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(SplitHostPort(":80", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("host:-1", &host, &port).ok());
}

// Readable placeholder files for tls.cert_file / key_file and client_ca_file:
// CheckConfig only checks that they can be read.
class TempFiles {
 public:
  TempFiles() {
    char dir[] = "/tmp/config_test.XXXXXX";
    dir_ = mkdtemp(dir);
    for (const char* name : {"cert.pem", "key.pem", "ca.pem"}) {
      std::ofstream(dir_ + "/" + name) << "placeholder\n";
    }
  }
  ~TempFiles() {
    for (const char* name : {"cert.pem", "key.pem", "ca.pem"}) {
      std::remove((dir_ + "/" + name).c_str());
    }
    rmdir(dir_.c_str());
  }
  std::string Tls() const {
    return "tls:\n  cert_file: " + dir_ + "/cert.pem\n  key_file: " + dir_ + "/key.pem\n";
  }
  std::string ca() const { return dir_ + "/ca.pem"; }

 private:
  std::string dir_;
};

const std::string kDigestA(64, 'a');
const std::string kDigestB = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(ConfigTest, CallersAreRead) {
  TempFiles files;
  absl::StatusOr<Config> config = ParseConfig(std::string(kMinimal) + files.Tls() +
                                                  "callers:\n"
                                                  "  client_ca_file: " +
                                                  files.ca() +
                                                  "\n"
                                                  "  allow_anonymous: true\n"
                                                  "  service_tokens:\n"
                                                  "    - identity: ingest\n"
                                                  "      sha256: " +
                                                  kDigestA +
                                                  "\n"
                                                  "    - identity: render\n"
                                                  "      sha256: " +
                                                  kDigestB +
                                                  "\n"
                                                  "keyring_dir: /var/run/keyring\n"
                                                  "policy_file: " +
                                                  files.ca() + "\n",
                                              "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(CheckConfig(*config).ok()) << CheckConfig(*config);
  EXPECT_EQ(config->callers.client_ca_file, files.ca());
  EXPECT_TRUE(config->callers.allow_anonymous);
  EXPECT_FALSE(config->allow_anonymous_remote_callers);
  EXPECT_TRUE(config->callers.enabled());
  ASSERT_EQ(config->callers.service_tokens.size(), 2u);
  EXPECT_EQ(config->callers.service_tokens[0].identity, "ingest");
  EXPECT_EQ(config->callers.service_tokens[0].sha256, kDigestA);
  EXPECT_EQ(config->callers.service_tokens[1].identity, "render");
  EXPECT_EQ(config->callers.service_tokens[1].sha256, kDigestB);
  EXPECT_EQ(config->keyring_dir, "/var/run/keyring");
  EXPECT_EQ(config->policy_file, files.ca());
}

TEST(ConfigTest, CallersDefaultToAnonymous) {
  absl::StatusOr<Config> config = ParseConfig(kMinimal, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->callers.enabled());
  EXPECT_FALSE(config->callers.allow_anonymous);
  EXPECT_FALSE(config->allow_anonymous_remote_callers);
  EXPECT_TRUE(config->keyring_dir.empty());
  EXPECT_TRUE(config->policy_file.empty());
  EXPECT_DOUBLE_EQ(config->script_token_renew_after, 0.8);
}

std::string WithServiceTokenDigest(const std::string& sha256) {
  return std::string(kMinimal) +
         "callers:\n  service_tokens:\n    - identity: ingest\n      sha256: \"" + sha256 + "\"\n";
}

TEST(ConfigTest, ServiceTokenMustBeAHexDigest) {
  const std::string key = "callers.service_tokens[0].sha256";
  ExpectRefused(ParseConfig(WithServiceTokenDigest("my-raw-service-token"), "t").status(), key);
  ExpectRefused(ParseConfig(WithServiceTokenDigest(std::string(64, 'g')), "t").status(), key);
  ExpectRefused(ParseConfig(WithServiceTokenDigest(std::string(64, 'A')), "t").status(), key);
  ExpectRefused(ParseConfig(WithServiceTokenDigest(std::string(63, 'a')), "t").status(), key);
  ExpectRefused(ParseConfig(WithServiceTokenDigest(std::string(65, 'a')), "t").status(), key);
  ExpectRefused(ParseConfig(WithServiceTokenDigest(""), "t").status(), key);
  ExpectRefused(ParseConfig(WithServiceTokenDigest(" " + std::string(63, 'a')), "t").status(), key);
  EXPECT_TRUE(ParseConfig(WithServiceTokenDigest(kDigestB), "t").ok());
  // The message says what to put there, never echoing the token.
  const absl::Status raw =
      ParseConfig(WithServiceTokenDigest("my-raw-service-token"), "t").status();
  EXPECT_NE(raw.message().find("SHA-256"), absl::string_view::npos) << raw;
  EXPECT_EQ(raw.message().find("my-raw-service-token"), absl::string_view::npos) << raw;
}

TEST(ConfigTest, CallersShapeErrorsNamed) {
  ExpectRefused(ParseConfig(std::string(kMinimal) + "callers:\n  tokens: []\n", "t").status(),
                "callers.tokens");
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "callers:\n  service_tokens: abc\n", "t").status(),
      "callers.service_tokens");
  ExpectRefused(ParseConfig(std::string(kMinimal) +
                                "callers:\n  service_tokens:\n    - sha256: " + kDigestA + "\n",
                            "t")
                    .status(),
                "callers.service_tokens[0].identity");
  ExpectRefused(ParseConfig(std::string(kMinimal) +
                                "callers:\n  service_tokens:\n    - identity: "
                                "a\n      sha256: " +
                                kDigestA + "\n      token: x\n",
                            "t")
                    .status(),
                "callers.service_tokens[0].token");
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "callers:\n  allow_anonymous: yes\n", "t").status(),
      "callers.allow_anonymous");
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "callers:\n  allow_anonymous_remote: 1\n", "t").status(),
      "callers.allow_anonymous_remote");
  ExpectRefused(ParseConfig(std::string(kMinimal) + "callers: []\n", "t").status(), "callers");
}

TEST(ConfigTest, NonLoopbackListenWithTlsNeedsIdentifiedCallers) {
  TempFiles files;
  const std::string remote = WithListen("0.0.0.0:50051") + files.Tls();
  const absl::Status refused = ParseAndCheck(remote);
  ExpectRefused(refused, "listen");
  ExpectRefused(refused, "callers.allow_anonymous_remote");

  EXPECT_TRUE(ParseAndCheck(remote + "callers:\n  allow_anonymous_remote: true\n").ok())
      << ParseAndCheck(remote + "callers:\n  allow_anonymous_remote: true\n");
  ExpectRefused(ParseAndCheck(remote + "callers:\n  allow_anonymous_remote: false\n"), "listen");
  // allow_anonymous alone is about callers without credentials, not about
  // listening off loopback.
  ExpectRefused(ParseAndCheck(remote + "callers:\n  allow_anonymous: true\n"), "listen");
  const std::string tokens =
      remote + "callers:\n  service_tokens:\n    - identity: a\n      sha256: " + kDigestA + "\n";
  EXPECT_TRUE(ParseAndCheck(tokens).ok()) << ParseAndCheck(tokens);
  const std::string certs = remote + "callers:\n  client_ca_file: " + files.ca() + "\n";
  EXPECT_TRUE(ParseAndCheck(certs).ok()) << ParseAndCheck(certs);
}

TEST(ConfigTest, NonLoopbackListenWithCallersStillNeedsTls) {
  const std::string yaml = WithListen("0.0.0.0:50051") +
                           "callers:\n  allow_anonymous_remote: true\n  service_tokens:\n"
                           "    - identity: a\n      sha256: " +
                           kDigestA + "\n";
  ExpectRefused(ParseAndCheck(yaml), "listen");
  ExpectRefused(ParseAndCheck(yaml), "tls");
}

TEST(ConfigTest, LoopbackListenNeedsNoCallers) {
  TempFiles files;
  EXPECT_TRUE(ParseAndCheck(WithListen("127.0.0.1:50051") + files.Tls()).ok());
}

TEST(ConfigTest, ClientCaFileNeedsTls) {
  TempFiles files;
  const std::string yaml =
      WithListen("127.0.0.1:50051") + "callers:\n  client_ca_file: " + files.ca() + "\n";
  ExpectRefused(ParseAndCheck(yaml), "callers.client_ca_file");
  EXPECT_TRUE(ParseAndCheck(yaml + files.Tls()).ok()) << ParseAndCheck(yaml + files.Tls());
}

TEST(ConfigTest, UnreadableClientCaAndPolicyFilesRefused) {
  TempFiles files;
  ExpectRefused(ParseAndCheck(WithListen("127.0.0.1:1") + files.Tls() +
                              "callers:\n  client_ca_file: /nonexistent/ca.pem\n"),
                "callers.client_ca_file");
  ExpectRefused(ParseAndCheck(WithListen("127.0.0.1:1") + "policy_file: /nonexistent/p.yaml\n"),
                "policy_file");
}

TEST(ConfigTest, RenewAfterPercentRange) {
  for (const auto& [percent, share] :
       {std::pair{10, 0.10}, std::pair{50, 0.50}, std::pair{80, 0.80}, std::pair{95, 0.95}}) {
    absl::StatusOr<Config> config =
        ParseConfig(std::string(kMinimal) +
                        "script_tokens:\n  renew_after_percent: " + std::to_string(percent) + "\n",
                    "t");
    ASSERT_TRUE(config.ok()) << percent << ": " << config.status();
    EXPECT_DOUBLE_EQ(config->script_token_renew_after, share) << percent;
  }
  for (const char* bad : {"9", "96", "0", "100", "-5", "80.5", "eighty", "\"\""}) {
    ExpectRefused(
        ParseConfig(std::string(kMinimal) + "script_tokens:\n  renew_after_percent: " + bad + "\n",
                    "t")
            .status(),
        "script_tokens.renew_after_percent");
  }
  // Leaving it out keeps the default even when min_validity is set.
  absl::StatusOr<Config> config =
      ParseConfig(std::string(kMinimal) + "script_tokens:\n  min_validity_seconds: 30\n", "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_DOUBLE_EQ(config->script_token_renew_after, 0.8);
}

// The broker names a service token's caller "token:NAME"; a name that already
// looks like an identity of another source, or "anonymous", would let a token
// pass for a certificate or for a caller without credentials.
TEST(ConfigTest, ServiceTokenIdentityIsABareName) {
  const std::string key = "callers.service_tokens[0].identity";
  for (const char* bad : {"spiffe://s.example/render", "token:ingest", "dns:ingest.s.example",
                          "cn:ingest", "a:b", "anonymous", "\"\""}) {
    const std::string yaml = std::string(kMinimal) +
                             "callers:\n  service_tokens:\n    - identity: " + bad +
                             "\n      sha256: " + kDigestA + "\n";
    ExpectRefused(ParseConfig(yaml, "t").status(), key);
  }
}

TEST(ConfigTest, AllowCommonNameIsReadAndOffByDefault) {
  absl::StatusOr<Config> config = ParseConfig(kMinimal, "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->callers.allow_common_name);
  config = ParseConfig(std::string(kMinimal) + "callers:\n  allow_common_name: true\n", "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->callers.allow_common_name);
  ExpectRefused(
      ParseConfig(std::string(kMinimal) + "callers:\n  allow_common_name: yes\n", "t").status(),
      "callers.allow_common_name");
}

TEST(ConfigTest, ReflectionIsReadAndOnByDefault) {
  absl::StatusOr<Config> config = ParseConfig(kMinimal, "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->reflection);
  config = ParseConfig(std::string(kMinimal) + "reflection: false\n", "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->reflection);
  config = ParseConfig(std::string(kMinimal) + "reflection: true\n", "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->reflection);
  ExpectRefused(ParseConfig(std::string(kMinimal) + "reflection: off\n", "t").status(),
                "reflection");
}

}  // namespace
}  // namespace credbroker
