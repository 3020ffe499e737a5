// Script sessions as a service: callers identified by mTLS or service tokens,
// the policy deciding who may use which keyring script and act as whom, the
// keyring and policy reloading live (including a Kubernetes Secret's atomic
// symlink swap), one site call for a stampede, cached tokens carrying a
// site outage, and identities that carry their source (token:, dns:, URI) so
// that a certificate cannot pass for a service token. All against a site with
// 2FA on, which script keys ignore.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "broker_fixture.h"
#include "eventually.h"
#include "service_tokens.h"

namespace credbroker::testing {
namespace {

constexpr char kIngestIdentity[] = "spiffe://studio.test/ns/pipeline/sa/ingest";
constexpr char kWebIdentity[] = "spiffe://studio.test/ns/web/sa/login";
constexpr char kLambdaToken[] = "lambda-service-token-8f2c";

// Writes `content` to `path` the way editors and kubelets do: a new file
// renamed over the old, so a reader never sees half of it.
void WriteAtomically(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp";
  {
    std::FILE* out = std::fopen(temp.c_str(), "w");
    ASSERT_NE(out, nullptr);
    std::fputs(content.c_str(), out);
    std::fclose(out);
  }
  ASSERT_EQ(std::rename(temp.c_str(), path.c_str()), 0);
}

// Lays out `keys` like a mounted Kubernetes Secret: a timestamped directory,
// a `..data` symlink to it swapped atomically, and one symlink per key.
void WriteSecretDirectory(const std::string& dir, const std::map<std::string, std::string>& keys) {
  namespace fs = std::filesystem;
  static int generation = 0;
  const std::string version = "..2026_11_27_" + std::to_string(++generation);
  fs::create_directories(dir + "/" + version);
  for (const auto& [name, key] : keys) {
    WriteAtomically(dir + "/" + version + "/" + name, key + "\n");
  }
  const std::string temp_link = dir + "/..data_tmp";
  fs::remove(temp_link);
  fs::create_directory_symlink(version, temp_link);
  fs::rename(temp_link, dir + "/..data");  // the atomic swap
  for (const auto& [name, key] : keys) {
    std::error_code ignored;
    if (!fs::is_symlink(dir + "/" + name, ignored)) {
      fs::create_symlink("..data/" + name, dir + "/" + name);
    }
  }
}

class ScriptServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeCertificateAuthority(dir_.path(), "callers-ca");
    broker_cert_ = IssueCertificate(ca_, dir_.path(), "broker");
    ingest_cert_ =
        IssueCertificate(ca_, dir_.path(), "ingest", std::string("URI:") + kIngestIdentity);
    web_cert_ = IssueCertificate(ca_, dir_.path(), "web", std::string("URI:") + kWebIdentity);
    keys_dir_ = dir_.path() + "/keys";
    WriteSecretDirectory(keys_dir_, {{fixtures::kIngestBotName, fixtures::kIngestBotKey},
                                     {fixtures::kRenderFarmName, fixtures::kRenderFarmKey}});
    policy_file_ = dir_.File("policy.yaml");
    WritePolicy(std::string("callers:\n") + "  - identity: " + kIngestIdentity + "\n" +
                "    methods: [IssueScriptSession]\n"
                "    scripts: [ingest-bot]\n"
                "    sudo_as: [\"b*\"]\n"
                "  - identity: lambda-webhooks\n"
                "    methods: [IssueScriptSession]\n"
                "    scripts: [render-farm]\n"
                "  - identity: " +
                kWebIdentity + "\n" + "    methods: [BeginLogin, SubmitSecondFactor]\n");
  }

  void WritePolicy(const std::string& text) { WriteAtomically(policy_file_, text); }

  // Starts the site (2FA on) and a broker identifying callers by mTLS and a
  // service token, with the keyring and policy above.
  void Start(const FakeSiteOptions& site_options = {}, const std::string& extra_yaml = "") {
    site_ = std::make_unique<FakeSiteProcess>(dir_, site_options);
    BrokerOptions options;
    options.site_url = site_->url();
    options.extra_yaml = "tls:\n  cert_file: \"" + broker_cert_.cert_file + "\"\n  key_file: \"" +
                         broker_cert_.key_file + "\"\n" + "callers:\n  client_ca_file: \"" +
                         ca_.cert_file + "\"\n" +
                         "  service_tokens:\n    - identity: lambda-webhooks\n      sha256: " +
                         Sha256Hex(kLambdaToken) + "\n" + "keyring_dir: \"" + keys_dir_ + "\"\n" +
                         "policy_file: \"" + policy_file_ + "\"\n" + extra_yaml;
    broker_ = std::make_unique<BrokerProcess>(dir_, options);
  }

  // A stub over TLS trusting the test CA, presenting `client` if given.
  std::unique_ptr<v1::CredentialBroker::Stub> Client(const Certificate* client) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrEmpty(ca_.cert_file);
    if (client != nullptr) {
      ssl.pem_cert_chain = ReadFileOrEmpty(client->cert_file);
      ssl.pem_private_key = ReadFileOrEmpty(client->key_file);
    }
    return v1::CredentialBroker::NewStub(
        grpc::CreateChannel(broker_->address(), grpc::SslCredentials(ssl)));
  }

  grpc::Status Issue(v1::CredentialBroker::Stub& stub, const std::string& script,
                     v1::Session* session, const std::string& sudo_as = "",
                     const std::string& bearer = "", const std::string& key = "") {
    v1::IssueScriptSessionRequest request;
    request.set_script_name(script);
    request.set_script_key(key);
    request.set_sudo_as_login(sudo_as);
    auto context = ContextWithDeadline();
    if (!bearer.empty()) context->AddMetadata("authorization", "Bearer " + bearer);
    return stub.IssueScriptSession(context.get(), request, session);
  }

  TempDir dir_;
  CertificateAuthority ca_;
  Certificate broker_cert_, ingest_cert_, web_cert_;
  std::string keys_dir_, policy_file_;
  std::unique_ptr<FakeSiteProcess> site_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(ScriptServiceTest, ClientCertificateIdentifiesTheServiceThatGetsAKeyringSession) {
  Start();
  auto ingest = Client(&ingest_cert_);
  v1::Session session;
  ASSERT_GRPC_OK(Issue(*ingest, fixtures::kIngestBotName, &session));
  EXPECT_EQ(session.principal().script_name(), "ingest-bot");
  EXPECT_TRUE(session.refresh_token().empty());
  EXPECT_EQ(site_->ReadProjects(session.access_token()), 200);
  ASSERT_GRPC_OK(Issue(*ingest, fixtures::kIngestBotName, &session, "bob"));
  EXPECT_EQ(session.principal().sudo_as_login(), "bob");
  EXPECT_EQ(site_->Requests("client_credentials"), 2);
  EXPECT_TRUE(broker_->WaitForLogLine({"\"step\":\"issue_script_session\"",
                                       std::string("\"caller\":\"") + kIngestIdentity,
                                       "\"outcome\":\"session\""}));
  // The keyring's key never shows in the logs.
  EXPECT_EQ(broker_->LogsAfterStop().find(fixtures::kIngestBotKey), std::string::npos);
}

TEST_F(ScriptServiceTest, CallersWithoutACredentialAreUnauthenticated) {
  Start();
  auto anonymous = Client(nullptr);
  v1::Session session;
  EXPECT_BROKER_ERROR(Issue(*anonymous, fixtures::kIngestBotName, &session), UNAUTHENTICATED,
                      "CALLER_UNAUTHENTICATED");
  v1::LoginResult result;
  v1::BeginLoginRequest login;
  login.set_username("alice");
  login.set_password("alice-password-1");
  EXPECT_BROKER_ERROR(anonymous->BeginLogin(ContextWithDeadline().get(), login, &result),
                      UNAUTHENTICATED, "CALLER_UNAUTHENTICATED");
  EXPECT_EQ(site_->Requests("client_credentials") + site_->Requests("password"), 0);
}

TEST_F(ScriptServiceTest, ACertificateFromAnotherCaIsRefusedAtTheHandshake) {
  Start();
  const CertificateAuthority other = MakeCertificateAuthority(dir_.path(), "other-ca");
  const Certificate stranger =
      IssueCertificate(other, dir_.path(), "stranger", std::string("URI:") + kIngestIdentity);
  auto client = Client(&stranger);
  v1::Session session;
  EXPECT_EQ(Issue(*client, fixtures::kIngestBotName, &session).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(site_->Requests("client_credentials"), 0);
}

TEST_F(ScriptServiceTest, ServiceTokensRightAndWrong) {
  Start();
  auto client = Client(nullptr);
  v1::Session session;
  ASSERT_GRPC_OK(Issue(*client, fixtures::kRenderFarmName, &session, "", kLambdaToken));
  EXPECT_EQ(session.principal().script_name(), "render-farm");
  EXPECT_BROKER_ERROR(Issue(*client, fixtures::kRenderFarmName, &session, "", "not-the-token"),
                      UNAUTHENTICATED, "CALLER_UNAUTHENTICATED");
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
  // The policy's bare "lambda-webhooks" is the token; the audit line says so.
  EXPECT_TRUE(
      broker_->WaitForLogLine({"\"step\":\"issue_script_session\"",
                               "\"caller\":\"token:lambda-webhooks\"", "\"outcome\":\"session\""}))
      << broker_->Logs();
  // A method the token is not granted names it the same way.
  v1::LoginResult result;
  v1::BeginLoginRequest login;
  login.set_username("alice");
  login.set_password("alice-password-1");
  auto context = ContextWithDeadline();
  context->AddMetadata("authorization", std::string("Bearer ") + kLambdaToken);
  const grpc::Status denied = client->BeginLogin(context.get(), login, &result);
  EXPECT_BROKER_ERROR(denied, PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  EXPECT_NE(denied.error_message().find("'token:lambda-webhooks'"), std::string::npos)
      << denied.error_message();
}

TEST_F(ScriptServiceTest, ACertificateCannotClaimAServiceTokensName) {
  // Signed by the trusted CA, but naming itself as the token's caller.
  const Certificate forged =
      IssueCertificate(ca_, dir_.path(), "forged-token", "URI:token:lambda-webhooks");
  const Certificate forged_dns =
      IssueCertificate(ca_, dir_.path(), "forged-dns", "URI:dns:localhost");
  Start();
  v1::Session session;
  for (const Certificate* cert : {&forged, &forged_dns}) {
    auto client = Client(cert);
    EXPECT_BROKER_ERROR(Issue(*client, fixtures::kRenderFarmName, &session), UNAUTHENTICATED,
                        "CALLER_UNAUTHENTICATED");
  }
  EXPECT_EQ(site_->Requests("client_credentials"), 0);
}

TEST_F(ScriptServiceTest, CertificateDnsNamesMatchDnsPolicyEntriesOnly) {
  // Test certificates carry DNS:localhost; with no URI SAN the caller is
  // "dns:localhost". Its CN ("lambda-webhooks") names nobody.
  WritePolicy(
      "callers:\n"
      "  - identity: lambda-webhooks\n"
      "    methods: [IssueScriptSession]\n"
      "    scripts: [render-farm]\n"
      "  - identity: dns:localhost\n"
      "    methods: [IssueScriptSession]\n"
      "    scripts: [ingest-bot]\n");
  const Certificate dns_only = IssueCertificate(ca_, dir_.path(), "lambda-webhooks");
  Start();
  auto client = Client(&dns_only);
  v1::Session session;
  EXPECT_BROKER_ERROR(Issue(*client, fixtures::kRenderFarmName, &session), PERMISSION_DENIED,
                      "CALLER_NOT_ALLOWED");
  ASSERT_GRPC_OK(Issue(*client, fixtures::kIngestBotName, &session));
  EXPECT_TRUE(
      broker_->WaitForLogLine({"\"step\":\"issue_script_session\"", "\"caller\":\"dns:localhost\"",
                               "\"script_name\":\"ingest-bot\"", "\"outcome\":\"session\""}))
      << broker_->Logs();
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
}

TEST_F(ScriptServiceTest, PolicyDeniesMethodsScriptsAndSudoUsersAndRevealsNothing) {
  Start();
  auto ingest = Client(&ingest_cert_);
  auto web = Client(&web_cert_);
  v1::Session session;
  // A script it is not granted, and one that does not exist, look the same.
  const grpc::Status not_granted = Issue(*ingest, fixtures::kRenderFarmName, &session);
  const grpc::Status no_such = Issue(*ingest, "no-such-script", &session);
  EXPECT_BROKER_ERROR(not_granted, PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  EXPECT_BROKER_ERROR(no_such, PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  // A sudo user outside its patterns, even with a site that does not exist.
  EXPECT_BROKER_ERROR(Issue(*ingest, fixtures::kIngestBotName, &session, "alice"),
                      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  v1::IssueScriptSessionRequest elsewhere;
  elsewhere.set_site("no-such-site");
  elsewhere.set_script_name(fixtures::kIngestBotName);
  elsewhere.set_sudo_as_login("alice");
  EXPECT_BROKER_ERROR(ingest->IssueScriptSession(ContextWithDeadline().get(), elsewhere, &session),
                      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  // A method it is not granted.
  v1::LoginResult result;
  v1::BeginLoginRequest login;
  login.set_username("alice");
  login.set_password("alice-password-1");
  EXPECT_BROKER_ERROR(ingest->BeginLogin(ContextWithDeadline().get(), login, &result),
                      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  // The web backend may log people in but not use script sessions.
  ASSERT_GRPC_OK(web->BeginLogin(ContextWithDeadline().get(), login, &result));
  EXPECT_TRUE(result.has_challenge());
  EXPECT_BROKER_ERROR(Issue(*web, fixtures::kIngestBotName, &session), PERMISSION_DENIED,
                      "CALLER_NOT_ALLOWED");
  EXPECT_EQ(site_->Requests("client_credentials"), 0);
  EXPECT_EQ(site_->Requests("password"), 1);
}

TEST_F(ScriptServiceTest, FiveHundredConcurrentColdRequestsMakeOneSiteCall) {
  Start();
  site_->SetFaults({{"latency_ms", 300}});
  auto ingest = Client(&ingest_cert_);
  constexpr int kCallers = 500;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  std::vector<std::string> tokens(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      v1::Session session;
      if (Issue(*ingest, fixtures::kIngestBotName, &session).ok()) ++ok;
      tokens[i] = session.access_token();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kCallers);
  for (const std::string& token : tokens) EXPECT_EQ(token, tokens[0]);
  EXPECT_EQ(site_->Requests("client_credentials"), 1);
}

TEST_F(ScriptServiceTest, KeyRotationTakesEffectWithoutARestart) {
  // Start with a wrong key for ingest-bot: the site refuses it.
  WriteSecretDirectory(keys_dir_, {{fixtures::kIngestBotName, "an-old-revoked-key"},
                                   {fixtures::kRenderFarmName, fixtures::kRenderFarmKey}});
  Start();
  auto ingest = Client(&ingest_cert_);
  v1::Session session;
  EXPECT_BROKER_ERROR(Issue(*ingest, fixtures::kIngestBotName, &session), UNAUTHENTICATED,
                      "INVALID_SCRIPT_KEY");
  // The Secret is updated the way the kubelet does it: an atomic ..data swap.
  WriteSecretDirectory(keys_dir_, {{fixtures::kIngestBotName, fixtures::kIngestBotKey},
                                   {fixtures::kRenderFarmName, fixtures::kRenderFarmKey}});
  EXPECT_TRUE(Eventually([&] { return Issue(*ingest, fixtures::kIngestBotName, &session).ok(); }));
  EXPECT_TRUE(broker_->WaitForLogLine({"\"event\":\"keyring_reloaded\"", "ingest-bot"}));
  // A key removed from the Secret is gone too.
  WriteSecretDirectory(keys_dir_, {{fixtures::kRenderFarmName, fixtures::kRenderFarmKey}});
  EXPECT_TRUE(Eventually([&] { return !Issue(*ingest, fixtures::kIngestBotName, &session).ok(); }));
  EXPECT_BROKER_ERROR(Issue(*ingest, fixtures::kIngestBotName, &session), UNAUTHENTICATED,
                      "INVALID_SCRIPT_KEY");
}

TEST_F(ScriptServiceTest, PolicyChangeTakesEffectWithoutARestart) {
  Start();
  auto ingest = Client(&ingest_cert_);
  v1::Session session;
  EXPECT_BROKER_ERROR(Issue(*ingest, fixtures::kRenderFarmName, &session), PERMISSION_DENIED,
                      "CALLER_NOT_ALLOWED");
  WritePolicy(std::string("callers:\n  - identity: ") + kIngestIdentity +
              "\n    methods: [IssueScriptSession]\n    scripts: [\"*\"]\n");
  EXPECT_TRUE(Eventually([&] { return Issue(*ingest, fixtures::kRenderFarmName, &session).ok(); }));
  // A broken policy is refused and the last good one stays in force.
  WritePolicy("callers: [this is not a policy\n");
  EXPECT_TRUE(Eventually(
      [&] { return LogHasLineWith(broker_->Logs(), {"\"event\":\"policy_reload_failed\""}); }));
  EXPECT_GRPC_OK(Issue(*ingest, fixtures::kRenderFarmName, &session));
}

TEST_F(ScriptServiceTest, TokensAreRenewedInTheBackgroundAndServedThroughAnOutage) {
  // 6 s tokens renewed at half their life, handed out while 2 s remain.
  FakeSiteOptions site;
  site.token_lifetime_seconds = 6;
  Start(site, "script_tokens:\n  min_validity_seconds: 2\n  renew_after_percent: 50\n");
  auto ingest = Client(&ingest_cert_);
  v1::Session first, second;
  ASSERT_GRPC_OK(Issue(*ingest, fixtures::kIngestBotName, &first));
  ASSERT_GRPC_OK(Issue(*ingest, fixtures::kIngestBotName, &second));  // in use: keep it fresh
  EXPECT_EQ(second.access_token(), first.access_token());
  // The broker renews it by itself at 3 s, with no request waiting on it.
  EXPECT_TRUE(Eventually([&] { return site_->Requests("client_credentials") == 2; },
                         std::chrono::seconds(8)));
  v1::Session renewed;
  ASSERT_GRPC_OK(Issue(*ingest, fixtures::kIngestBotName, &renewed));
  EXPECT_NE(renewed.access_token(), first.access_token());
  EXPECT_EQ(site_->Requests("client_credentials"), 2);

  // The site goes down: the cached token keeps being served while it has
  // at least 2 s left, then the outage shows.
  site_->SetFaults({{"fail", {{"kind", "status"}, {"status", 503}}}});
  v1::Session during;
  ASSERT_GRPC_OK(Issue(*ingest, fixtures::kIngestBotName, &during));
  EXPECT_EQ(during.access_token(), renewed.access_token());
  EXPECT_TRUE(Eventually(
      [&] {
        v1::Session late;
        const grpc::Status status = Issue(*ingest, fixtures::kIngestBotName, &late);
        return !status.ok() && client::ReasonOf(status) == "UPSTREAM_UNAVAILABLE";
      },
      std::chrono::seconds(8)));
}

// The core's configuration (no caller identity) still works: everyone is
// "anonymous", every method is open, and keyring scripts need a policy entry.
TEST(ScriptServiceAnonymousTest, AnonymousCallersUseTheKeyringOnlyWhereThePolicySaysSo) {
  TempDir dir;
  FakeSiteProcess site(dir, {});
  const std::string keys = dir.path() + "/keys";
  WriteSecretDirectory(keys, {{fixtures::kIngestBotName, fixtures::kIngestBotKey}});
  const std::string policy =
      dir.Write("policy.yaml", "callers:\n  - identity: anonymous\n    scripts: [ingest-bot]\n");
  BrokerOptions options;
  options.site_url = site.url();
  options.extra_yaml = "keyring_dir: \"" + keys + "\"\npolicy_file: \"" + policy + "\"\n";
  BrokerProcess broker(dir, options);
  auto stub = broker.Stub();
  v1::IssueScriptSessionRequest request;
  request.set_script_name(fixtures::kIngestBotName);
  v1::Session session;
  ASSERT_GRPC_OK(stub->IssueScriptSession(ContextWithDeadline().get(), request, &session));
  request.set_sudo_as_login("bob");  // no sudo_as granted to anonymous
  EXPECT_BROKER_ERROR(stub->IssueScriptSession(ContextWithDeadline().get(), request, &session),
                      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  v1::LoginResult result;
  v1::BeginLoginRequest login;
  login.set_username(fixtures::kAlice.login);
  login.set_password(fixtures::kAlice.password);
  ASSERT_GRPC_OK(stub->BeginLogin(ContextWithDeadline().get(), login, &result));
  EXPECT_TRUE(result.has_challenge());
}

}  // namespace
}  // namespace credbroker::testing
