// Credentials for ShotGrid's own clients: session tokens for shotgun_api3 and
// Toolkit (a person's login through /api3/json with the same 2FA challenge,
// a script's token from the shared cache), rejected_token renewing a refused
// token once however many callers report it, and ExchangeSessionToken. Every
// check reads the fake site's own counters.
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "broker_fixture.h"
#include "concurrent_calls.h"
#include "credbroker/error_detail.h"
#include "redis_server.h"

namespace credbroker::testing {
namespace {

// The fake site's session tokens live a day by its clock; this is past that.
constexpr int kPastSessionTokenLifetime = 2 * 86400;

// A keyring directory with ingest-bot's key, and a policy letting anonymous
// callers use it with the sudo grant a session token needs (or not).
std::string KeyringAndPolicy(const TempDir& dir, bool any_user_sudo) {
  const std::string keys = dir.path() + "/keys";
  std::filesystem::create_directories(keys);
  std::ofstream(keys + "/" + fixtures::kIngestBotName) << fixtures::kIngestBotKey << "\n";
  const std::string policy = dir.Write(
      "policy.yaml", std::string("callers:\n  - identity: anonymous\n    methods: [\"*\"]\n"
                                 "    scripts: [ingest-bot]\n") +
                         (any_user_sudo ? "    sudo_as: [\"*\"]\n" : ""));
  return "keyring_dir: \"" + keys + "\"\npolicy_file: \"" + policy + "\"\n";
}

class SessionTokensTest : public BrokerTest {
 protected:
  grpc::Status BeginSessionTokenLogin(const fixtures::BuiltinUser& user, v1::LoginResult* result,
                                      const std::string& code = "",
                                      v1::TokenCustody custody = v1::TOKEN_CUSTODY_CALLER) {
    v1::BeginLoginRequest request;
    request.set_username(user.login);
    request.set_password(user.password);
    request.set_second_factor_code(code);
    request.set_custody(custody);
    request.set_kind(v1::CREDENTIAL_KIND_SESSION_TOKEN);
    return stub_->BeginLogin(ContextWithDeadline().get(), request, result);
  }

  grpc::Status IssueKeyringSessionToken(v1::Session* session, const std::string& rejected = "") {
    v1::IssueScriptSessionRequest request;
    request.set_script_name(fixtures::kIngestBotName);
    request.set_kind(v1::CREDENTIAL_KIND_SESSION_TOKEN);
    request.set_rejected_token(rejected);
    return stub_->IssueScriptSession(ContextWithDeadline().get(), request, session);
  }

  grpc::Status Exchange(const std::string& token, v1::Session* session,
                        v1::TokenCustody custody = v1::TOKEN_CUSTODY_CALLER) {
    v1::ExchangeSessionTokenRequest request;
    request.set_session_token(token);
    request.set_custody(custody);
    return stub_->ExchangeSessionToken(ContextWithDeadline().get(), request, session);
  }
};

TEST_F(SessionTokensTest, APersonsTwoFactorLoginAnswersASessionTokenForApi3) {
  Start();  // 2FA on
  v1::LoginResult begun;
  ASSERT_GRPC_OK(BeginSessionTokenLogin(fixtures::kAlice, &begun));
  ASSERT_TRUE(begun.has_challenge());

  // /api3/json answers 106 to a wrong code; it is a wrong code all the same.
  v1::LoginResult wrong;
  const grpc::Status refused = Submit(begun.challenge().challenge_id(), "000000", &wrong);
  EXPECT_BROKER_ERROR(refused, UNAUTHENTICATED, "INVALID_SECOND_FACTOR");
  EXPECT_EQ(client::ErrorDetailOf(refused)->attempts_left(), 4);

  v1::LoginResult done;
  ASSERT_GRPC_OK(Submit(begun.challenge().challenge_id(),
                        site_->CurrentCode(fixtures::kAlice.totp_secret), &done));
  ASSERT_TRUE(done.has_session());
  const v1::Session& session = done.session();
  EXPECT_FALSE(session.session_token().empty());
  EXPECT_TRUE(session.access_token().empty());
  EXPECT_TRUE(session.refresh_token().empty());
  EXPECT_FALSE(session.has_expire_time());
  EXPECT_EQ(session.principal().user_login(), "alice");
  EXPECT_EQ(session.site(), "main");
  EXPECT_EQ(session.site_url(), site_->url());
  EXPECT_TRUE(site_->SessionTokenWorks(session.session_token()));
  // Every step went through /api3/json, none through the REST endpoint.
  EXPECT_EQ(site_->Api3Calls("get_session_token.user"), 3);
  EXPECT_EQ(site_->Requests("password"), 0);
}

TEST_F(SessionTokensTest, ACodeGivenUpFrontLogsInInOneCall) {
  Start();
  v1::LoginResult result;
  ASSERT_GRPC_OK(BeginSessionTokenLogin(fixtures::kBob, &result,
                                        site_->CurrentCode(fixtures::kBob.totp_secret)));
  ASSERT_TRUE(result.has_session());
  EXPECT_TRUE(site_->SessionTokenWorks(result.session().session_token()));
  EXPECT_EQ(site_->Api3Calls("get_session_token.user"), 1);
}

TEST_F(SessionTokensTest, RestLoginsCarryTheSiteUrlToo) {
  FakeSiteOptions no_2fa;
  no_2fa.two_factor = false;
  Start(no_2fa);
  v1::LoginResult result;
  ASSERT_GRPC_OK(BeginLogin(fixtures::kCarol.login, fixtures::kCarol.password, &result));
  EXPECT_FALSE(result.session().access_token().empty());
  EXPECT_TRUE(result.session().session_token().empty());
  EXPECT_EQ(result.session().site_url(), site_->url());
}

TEST_F(SessionTokensTest, ASessionTokenIsNeverHeldByTheBroker) {
  Start();
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(
      BeginSessionTokenLogin(fixtures::kAlice, &result, "", v1::TOKEN_CUSTODY_BROKER),
      INVALID_ARGUMENT, "INVALID_REQUEST");
  v1::BeginLoginRequest unknown_kind;
  unknown_kind.set_username(fixtures::kAlice.login);
  unknown_kind.set_password(fixtures::kAlice.password);
  unknown_kind.set_kind(static_cast<v1::CredentialKind>(7));
  EXPECT_BROKER_ERROR(stub_->BeginLogin(ContextWithDeadline().get(), unknown_kind, &result),
                      INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 0);
}

TEST_F(SessionTokensTest, SsoSitesRefusePasswordsOnApi3Too) {
  FakeSiteOptions sso;
  sso.auth_mode = "sso";
  Start(sso);
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(BeginSessionTokenLogin(fixtures::kAlice, &result), FAILED_PRECONDITION,
                      "SSO_REQUIRED");
  site_->SetSettings({{"auth_mode", "identity"}});
  EXPECT_BROKER_ERROR(BeginSessionTokenLogin(fixtures::kAlice, &result), FAILED_PRECONDITION,
                      "SSO_REQUIRED");
}

TEST_F(SessionTokensTest, AKeyringScriptsSessionTokenIsSharedAndRenewedOnceWhenRejected) {
  BrokerOptions options;
  options.extra_yaml = KeyringAndPolicy(dir_, /*any_user_sudo=*/true);
  Start({}, options);
  v1::Session first, second;
  ASSERT_GRPC_OK(IssueKeyringSessionToken(&first));
  ASSERT_GRPC_OK(IssueKeyringSessionToken(&second));
  EXPECT_EQ(first.principal().script_name(), "ingest-bot");
  EXPECT_TRUE(first.access_token().empty());
  EXPECT_FALSE(first.has_expire_time());
  EXPECT_EQ(first.site_url(), site_->url());
  EXPECT_EQ(second.session_token(), first.session_token());
  EXPECT_TRUE(site_->SessionTokenWorks(first.session_token()));
  EXPECT_EQ(site_->Api3Calls("get_session_token.script"), 1);

  // The site forgets the session (as real sites do after a while): every
  // holder finds it refused and reports it at once.
  site_->SetClockOffset(kPastSessionTokenLifetime);
  ASSERT_FALSE(site_->SessionTokenWorks(first.session_token()));
  int failed = 0;
  const std::set<std::string> renewed = DistinctTokens(
      RunTogether(40,
                  [&](int) {
                    v1::Session session;
                    grpc::Status status = IssueKeyringSessionToken(&session, first.session_token());
                    return CallAnswer{status, session.session_token()};
                  }),
      &failed);
  EXPECT_EQ(failed, 0);
  ASSERT_EQ(renewed.size(), 1u);
  const std::string fresh = *renewed.begin();
  EXPECT_NE(fresh, first.session_token());
  EXPECT_TRUE(site_->SessionTokenWorks(fresh));
  EXPECT_EQ(site_->Api3Calls("get_session_token.script"), 2);

  // A token that is not the one held (stale, or made up) changes nothing.
  v1::Session unchanged;
  ASSERT_GRPC_OK(IssueKeyringSessionToken(&unchanged, first.session_token()));
  ASSERT_GRPC_OK(IssueKeyringSessionToken(&unchanged, "made-up-token"));
  EXPECT_EQ(unchanged.session_token(), fresh);
  EXPECT_EQ(site_->Api3Calls("get_session_token.script"), 2);
}

TEST_F(SessionTokensTest, AScriptSessionTokenNeedsAnAnyUserSudoGrant) {
  BrokerOptions options;
  options.extra_yaml = KeyringAndPolicy(dir_, /*any_user_sudo=*/false);
  Start({}, options);
  v1::Session session;
  EXPECT_BROKER_ERROR(IssueKeyringSessionToken(&session), PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  // REST tokens for the same script are unaffected.
  v1::IssueScriptSessionRequest rest;
  rest.set_script_name(fixtures::kIngestBotName);
  ASSERT_GRPC_OK(stub_->IssueScriptSession(ContextWithDeadline().get(), rest, &session));
  // sudo_as_login cannot narrow a session token, so it is refused outright.
  v1::IssueScriptSessionRequest sudo;
  sudo.set_script_name(fixtures::kIngestBotName);
  sudo.set_script_key(fixtures::kIngestBotKey);
  sudo.set_kind(v1::CREDENTIAL_KIND_SESSION_TOKEN);
  sudo.set_sudo_as_login("bob");
  EXPECT_BROKER_ERROR(stub_->IssueScriptSession(ContextWithDeadline().get(), sudo, &session),
                      INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 0);
}

TEST_F(SessionTokensTest, ARejectedRestScriptTokenIsReplacedOnce) {
  Start();
  v1::Session first;
  ASSERT_GRPC_OK(IssueScript(fixtures::kRenderFarmName, fixtures::kRenderFarmKey, &first));
  int failed = 0;
  const std::set<std::string> renewed =
      DistinctTokens(RunTogether(30,
                                 [&](int) {
                                   v1::IssueScriptSessionRequest request;
                                   request.set_script_name(fixtures::kRenderFarmName);
                                   request.set_script_key(fixtures::kRenderFarmKey);
                                   request.set_rejected_token(first.access_token());
                                   v1::Session session;
                                   grpc::Status status = stub_->IssueScriptSession(
                                       ContextWithDeadline().get(), request, &session);
                                   return CallAnswer{status, session.access_token()};
                                 }),
                     &failed);
  EXPECT_EQ(failed, 0);
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_NE(*renewed.begin(), first.access_token());
  EXPECT_EQ(site_->ReadProjects(*renewed.begin()), 200);
  EXPECT_EQ(site_->Requests("client_credentials"), 2);
}

TEST_F(SessionTokensTest, ASessionTokenExchangesForRestTokensInEitherCustody) {
  Start();
  const std::string token = site_->MintSessionToken(fixtures::kDave.login);
  v1::Session rest;
  ASSERT_GRPC_OK(Exchange(token, &rest));
  EXPECT_EQ(site_->ReadProjects(rest.access_token()), 200);
  EXPECT_FALSE(rest.refresh_token().empty());
  EXPECT_EQ(rest.token_type(), "Bearer");
  EXPECT_TRUE(rest.principal().user_login().empty());  // the site's answer names nobody
  EXPECT_EQ(rest.site_url(), site_->url());

  v1::Session held;
  ASSERT_GRPC_OK(Exchange(token, &held, v1::TOKEN_CUSTODY_BROKER));
  EXPECT_FALSE(held.session_id().empty());
  EXPECT_TRUE(held.refresh_token().empty());
  v1::AccessToken access;
  ASSERT_GRPC_OK(GetAccessToken(held.session_id(), &access));
  EXPECT_EQ(site_->ReadProjects(access.access_token()), 200);
  EXPECT_EQ(site_->Requests("session_token"), 2);
  // Using a session token does not consume it.
  EXPECT_TRUE(site_->SessionTokenWorks(token));
}

TEST_F(SessionTokensTest, ARefusedOrMalformedSessionTokenIsClear) {
  Start();
  v1::Session session;
  EXPECT_BROKER_ERROR(Exchange("not-a-session-the-site-knows", &session), UNAUTHENTICATED,
                      "INVALID_CREDENTIALS");
  EXPECT_BROKER_ERROR(Exchange("", &session), INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(Exchange("has a space", &session), INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_EQ(site_->Requests("session_token"), 1);
}

TEST_F(SessionTokensTest, SessionTokensNeverReachTheLogs) {
  BrokerOptions options;
  options.log_level = "debug";
  options.extra_yaml = KeyringAndPolicy(dir_, /*any_user_sudo=*/true);
  Start({}, options);
  v1::LoginResult login;
  ASSERT_GRPC_OK(BeginSessionTokenLogin(fixtures::kAlice, &login,
                                        site_->CurrentCode(fixtures::kAlice.totp_secret)));
  v1::Session script, exchanged;
  ASSERT_GRPC_OK(IssueKeyringSessionToken(&script));
  const std::string minted = site_->MintSessionToken(fixtures::kErin.login);
  ASSERT_GRPC_OK(Exchange(minted, &exchanged));
  ASSERT_TRUE(broker_->WaitForLogLine({"\"step\":\"exchange_session_token\""}));
  const std::string logs = broker_->LogsAfterStop();
  EXPECT_NE(logs.find("\"credential\":\"session_token\""), std::string::npos);
  for (const std::string& secret : {login.session().session_token(), script.session_token(), minted,
                                    exchanged.access_token(), exchanged.refresh_token()}) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(logs.find(secret), std::string::npos);
  }
}

// Replicas on one Redis: a rejection reported to each of them at once still
// makes one site call between them.
TEST(SessionTokensSharedTest, ReplicasReportingOneRejectionMakeOneSiteCall) {
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(std::nullopt, false);
  ASSERT_TRUE(redis.ok()) << redis.status();
  TempDir dir;
  FakeSiteProcess site(dir, {});
  const std::string shared = KeyringAndPolicy(dir, /*any_user_sudo=*/true) + "seal_key_file: \"" +
                             dir.Write("seal.key", std::string(32, 'k')) + "\"\n" +
                             "store:\n  redis:\n    address: \"" + (*redis)->address() + "\"\n";
  std::vector<std::unique_ptr<BrokerProcess>> replicas;
  for (const char* name : {"a", "b", "c"}) {
    BrokerOptions options;
    options.name = name;
    options.site_url = site.url();
    options.extra_yaml = shared;
    replicas.push_back(std::make_unique<BrokerProcess>(dir, options));
  }
  auto issue = [&](int replica, const std::string& rejected, v1::Session* session) {
    v1::IssueScriptSessionRequest request;
    request.set_script_name(fixtures::kIngestBotName);
    request.set_kind(v1::CREDENTIAL_KIND_SESSION_TOKEN);
    request.set_rejected_token(rejected);
    return replicas[replica]->Stub()->IssueScriptSession(ContextWithDeadline().get(), request,
                                                         session);
  };
  v1::Session first;
  ASSERT_GRPC_OK(issue(0, "", &first));
  for (int replica = 1; replica < 3; ++replica) {
    v1::Session same;
    ASSERT_GRPC_OK(issue(replica, "", &same));
    EXPECT_EQ(same.session_token(), first.session_token());
  }
  EXPECT_EQ(site.Api3Calls("get_session_token.script"), 1);

  int failed = 0;
  const std::set<std::string> renewed = DistinctTokens(
      RunTogether(12,
                  [&](int i) {
                    v1::Session session;
                    grpc::Status status = issue(i % 3, first.session_token(), &session);
                    return CallAnswer{status, session.session_token()};
                  }),
      &failed);
  EXPECT_EQ(failed, 0);
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_NE(*renewed.begin(), first.session_token());
  EXPECT_EQ(site.Api3Calls("get_session_token.script"), 2);
}

}  // namespace
}  // namespace credbroker::testing
