// The `credbroker` CLI as a process with piped stdin: login (JSON and export
// output, re-ask after a wrong code), exit codes from reasons, refresh,
// revoke, script-token (with a key or the broker's keyring), --json errors,
// and that typed secrets never show up in its messages. Session tokens
// (--session-token) and `login --browser` on SSO and Autodesk Identity sites:
// approved on the approval page or by the site, rejected, not approved in
// time, and stopped with Ctrl-C.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "credbroker/client.h"
#include "eventually.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

class CliTest : public SiteAndBrokerTest {
 protected:
  void Start(const BrokerConfig& config = {}, const SiteOptions& site = {}) {
    StartSiteAndBroker(site, config);
  }
  std::unique_ptr<CliProcess> StartCli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--broker", broker_->address()});
    return std::make_unique<CliProcess>(dir_, args, "");
  }
  // With --json, stderr is JSON lines: the approval, then the error.
  static nlohmann::json LastJsonLine(const std::string& err) {
    const std::string lines = err.substr(0, err.find_last_not_of('\n') + 1);
    return nlohmann::json::parse(lines.substr(lines.rfind('\n') + 1));
  }
  // The approval URL `login --browser` printed (waits for it).
  static std::string ApprovalUrl(CliProcess& cli) {
    std::string url;
    const bool shown = testing::Eventually([&] {
      const std::string err = cli.Err();
      const size_t at = err.find("http://");
      const size_t end = err.find_first_of(" \n\"", at);
      if (at == std::string::npos || end == std::string::npos) return false;
      url = err.substr(at, end - at);
      return true;
    });
    EXPECT_TRUE(shown) << cli.Err();
    return url;
  }
  CliResult Run(std::vector<std::string> args, const std::string& input = "",
                const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {"--broker", broker_->address()});
    return RunCli(dir_, args, input, env);
  }
  static std::map<std::string, std::string> ParseExports(const std::string& out) {
    std::map<std::string, std::string> vars;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      EXPECT_EQ(line.rfind("export ", 0), 0u) << line;
      const size_t equals = line.find('=');
      std::string value = line.substr(equals + 1);
      if (value.size() >= 2 && value.front() == '\'') value = value.substr(1, value.size() - 2);
      vars[line.substr(7, equals - 7)] = value;
    }
    return vars;
  }
};

TEST_F(CliTest, LoginPrintsSessionAsJson) {
  Start();
  const CliResult result =
      Run({"login"}, "alice\nalice-password-1\n" + CurrentCode("JBSWY3DPEHPK3PXP") + "\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json session = nlohmann::json::parse(result.out);
  EXPECT_EQ(session["user_login"], "alice");
  EXPECT_EQ(session["site"], "main");
  EXPECT_EQ(session["token_type"], "Bearer");
  EXPECT_FALSE(session["refresh_token"].get<std::string>().empty());
  EXPECT_GT(session["expires_at"].get<int64_t>(), std::time(nullptr));
  EXPECT_EQ(site_->ReadProjects(session["access_token"]), 200);
  EXPECT_EQ(result.err.find("alice-password-1"), std::string::npos);
  EXPECT_EQ(site_->Requests("password"), 2);
}

TEST_F(CliTest, LoginExportFormatWithUserFlag) {
  Start();
  const CliResult result = Run({"login", "--user", "bob", "--format", "export"},
                               "bob-password-1\n" + CurrentCode("KRUGKIDCN5RCA43F") + "\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto vars = ParseExports(result.out);
  ASSERT_EQ(vars.size(), 3u) << result.out;
  EXPECT_EQ(site_->ReadProjects(vars.at("SHOTGRID_ACCESS_TOKEN")), 200);
  EXPECT_FALSE(vars.at("SHOTGRID_REFRESH_TOKEN").empty());
  EXPECT_GT(std::stoll(vars.at("SHOTGRID_TOKEN_EXPIRES_AT")), std::time(nullptr));
}

TEST_F(CliTest, WrongPasswordExitsThree) {
  Start();
  const CliResult result = Run({"login"}, "carol\nTypo-Secret-987\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find("wrong username or password"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("Typo-Secret-987"), std::string::npos);
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, WrongCodeIsAskedAgainShowingAttemptsLeft) {
  Start();
  const CliResult result =
      Run({"login", "--user", "dave"}, "dave-password-1\n" + WrongCode("MRQXMZJNONSWG4TF") + "\n" +
                                           CurrentCode("MRQXMZJNONSWG4TF") + "\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("that code was not accepted; 4 attempts left"), std::string::npos)
      << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["user_login"], "dave");
}

TEST_F(CliTest, CodesExhaustedExitsFour) {
  Start({"challenge:\n  max_attempts: 2\n"});
  const std::string wrong = WrongCode("MVZGS3RNONSWG4TF");
  const CliResult result =
      Run({"login", "--user", "erin"}, "erin-password-1\n" + wrong + "\n" + wrong + "\n");
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_NE(result.err.find("1 attempt left"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("no attempts are left"), std::string::npos) << result.err;
}

TEST_F(CliTest, TooManyAttemptsExitsSixWithRetryAfter) {
  Start();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Run({"login", "--user", "frank"}, "nope\n").exit_code, 3);
  }
  const CliResult result = Run({"login", "--user", "frank"}, "nope\n");
  EXPECT_EQ(result.exit_code, 6);
  EXPECT_NE(result.err.find("Try again in "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(" seconds"), std::string::npos) << result.err;
}

TEST_F(CliTest, RefreshReadsTheTokenFromTheEnvironment) {
  Start();
  auto stub = client::ConnectStub(broker_->address());
  const v1::Session session =
      client::Login(*stub, "grace", "grace-password-1",
                    [](const client::Challenge&) { return CurrentCode("M5ZGCY3FFVZWKY3S"); });
  const std::string env = "SHOTGRID_REFRESH_TOKEN=" + session.refresh_token();
  const CliResult result = Run({"refresh"}, "", {env});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json refreshed = nlohmann::json::parse(result.out);
  EXPECT_NE(refreshed["refresh_token"], session.refresh_token());
  EXPECT_EQ(site_->ReadProjects(refreshed["access_token"]), 200);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);

  // Refresh tokens are single use.
  const CliResult again = Run({"refresh"}, "", {env});
  EXPECT_EQ(again.exit_code, 9);
  EXPECT_NE(again.err.find("credbroker login"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find(session.refresh_token()), std::string::npos);

  const std::string file =
      dir_.Write("refresh-token", refreshed["refresh_token"].get<std::string>() + "\n");
  const CliResult from_file = Run({"refresh", "--refresh-token-file", file, "--format", "export"},
                                  "", {"SHOTGRID_REFRESH_TOKEN="});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(ParseExports(from_file.out).size(), 3u);
}

TEST_F(CliTest, ScriptTokenWithKeyFromEnvironmentOrFile) {
  Start();
  const CliResult from_env =
      Run({"script-token", "ingest-bot"}, "", {"CREDBROKER_SCRIPT_KEY=ingest-bot-key-0001"});
  ASSERT_EQ(from_env.exit_code, 0) << from_env.err;
  const nlohmann::json session = nlohmann::json::parse(from_env.out);
  EXPECT_EQ(session["script_name"], "ingest-bot");
  EXPECT_FALSE(session.contains("refresh_token"));
  EXPECT_EQ(site_->ReadProjects(session["access_token"]), 200);

  const std::string key_file = dir_.Write("render.key", "render-farm-key-0002\n");
  const CliResult from_file =
      Run({"script-token", "render-farm", "--key-file", key_file, "--format", "export"}, "",
          {"CREDBROKER_SCRIPT_KEY="});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  const auto vars = ParseExports(from_file.out);
  EXPECT_EQ(vars.count("SHOTGRID_REFRESH_TOKEN"), 0u);
  EXPECT_EQ(site_->ReadProjects(vars.at("SHOTGRID_ACCESS_TOKEN")), 200);
}

TEST_F(CliTest, WrongScriptKeyExitsTen) {
  Start();
  const CliResult result =
      Run({"script-token", "ingest-bot"}, "", {"CREDBROKER_SCRIPT_KEY=leaked-wrong-key"});
  EXPECT_EQ(result.exit_code, 10);
  EXPECT_NE(result.err.find("ingest-bot"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("leaked-wrong-key"), std::string::npos);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  Start();
  EXPECT_EQ(Run({}).exit_code, 2);
  EXPECT_EQ(Run({"dance"}).exit_code, 2);
  EXPECT_EQ(Run({"login", "--format", "yaml"}).exit_code, 2);
  const CliResult key_in_argv = Run({"script-token", "ingest-bot", "--script-key", "k"});
  EXPECT_EQ(key_in_argv.exit_code, 2);
  EXPECT_NE(key_in_argv.err.find("never taken on the command line"), std::string::npos);
  EXPECT_EQ(Run({"login"}, "").exit_code, 2);  // no username on stdin
  EXPECT_EQ(Run({"login", "--ca-file", "/nonexistent.pem"}, "x\ny\n").exit_code, 2);
  EXPECT_EQ(RunCli(dir_, {"--help"}, "").exit_code, 0);
  EXPECT_EQ(site_->Requests("password"), 0);
}

TEST_F(CliTest, ScriptTokenWithoutAKeyUsesTheBrokersKeyring) {
  const std::string keys = dir_.path() + "/keys";
  std::filesystem::create_directories(keys);
  std::ofstream(keys + "/ingest-bot") << "ingest-bot-key-0001\n";
  const std::string policy =
      dir_.Write("policy.yaml", "callers:\n  - identity: anonymous\n    scripts: [ingest-bot]\n");
  BrokerConfig config;
  config.extra_yaml = "keyring_dir: \"" + keys + "\"\npolicy_file: \"" + policy + "\"\n";
  Start(config);
  const CliResult result = Run({"script-token", "ingest-bot"}, "", {"CREDBROKER_SCRIPT_KEY="});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json session = nlohmann::json::parse(result.out);
  EXPECT_EQ(session["script_name"], "ingest-bot");
  EXPECT_EQ(site_->ReadProjects(session["access_token"]), 200);

  // A script the policy does not grant: exit 11, the reason in --json.
  const CliResult refused =
      Run({"--json", "script-token", "render-farm"}, "", {"CREDBROKER_SCRIPT_KEY="});
  EXPECT_EQ(refused.exit_code, 11);
  EXPECT_EQ(refused.out, "");
  const nlohmann::json error = nlohmann::json::parse(refused.err)["error"];
  EXPECT_EQ(error["code"], "PERMISSION_DENIED");
  EXPECT_EQ(error["reason"], "CALLER_NOT_ALLOWED");
  EXPECT_EQ(error["exit_code"], 11);
}

TEST_F(CliTest, RevokeSpendsTheRefreshToken) {
  Start();
  const CliResult login =
      Run({"login"}, "dave\ndave-password-1\n" + CurrentCode("MRQXMZJNONSWG4TF") + "\n");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  const std::string refresh_token = nlohmann::json::parse(login.out)["refresh_token"];
  const std::vector<std::string> env = {"SHOTGRID_REFRESH_TOKEN=" + refresh_token};
  const CliResult revoked = Run({"revoke"}, "", env);
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(nlohmann::json::parse(revoked.out), nlohmann::json({{"revoked", true}}));
  const CliResult refresh = Run({"refresh"}, "", env);  // spent
  EXPECT_EQ(refresh.exit_code, 9);
  EXPECT_EQ(refresh.err.find(refresh_token), std::string::npos);
  EXPECT_EQ(Run({"revoke", "--format", "json"}, "", env).exit_code, 2);  // no such option
  EXPECT_EQ(Run({"revoke"}, "", {"SHOTGRID_REFRESH_TOKEN="}).exit_code, 2);
}

TEST_F(CliTest, JsonErrorsKeepTheExitCodesAndNoSecrets) {
  Start();
  const CliResult wrong = Run({"--json", "login"}, "erin\nTypo-Secret-654\n");
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_EQ(wrong.out, "");
  const nlohmann::json error = nlohmann::json::parse(wrong.err)["error"];
  EXPECT_EQ(error["code"], "UNAUTHENTICATED");
  EXPECT_EQ(error["reason"], "INVALID_CREDENTIALS");
  EXPECT_EQ(error["exit_code"], 3);
  EXPECT_EQ(wrong.err.find("Typo-Secret-654"), std::string::npos);

  const CliResult usage = Run({"--json", "dance"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(usage.err)["error"]["exit_code"], 2);
  EXPECT_EQ(Run({"--json", "login", "--format", "export"}).exit_code, 2);
}

TEST_F(CliTest, PlaintextOffThisMachineNeedsInsecureAndNeverCarriesTheToken) {
  const std::string token_file = dir_.Write("svc.token", "svc-token-do-not-print\n");
  const CliResult refused =
      RunCli(dir_,
             {"--broker", "192.0.2.10:50051", "--insecure", "--service-token-file", token_file,
              "script-token", "ingest-bot"},
             "");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("service token in the clear"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("svc-token-do-not-print"), std::string::npos);
}

TEST_F(CliTest, BrokerUnreachableExitsSeven) {
  const CliResult result = RunCli(dir_, {"--broker", "127.0.0.1:1", "--timeout", "3", "login"},
                                  "heidi\nheidi-password-1\n");
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_NE(result.err.find("cannot reach the broker at 127.0.0.1:1"), std::string::npos)
      << result.err;
}

TEST_F(CliTest, BrokerAddressFromEnvironment) {
  Start();
  const CliResult result = RunCli(
      dir_, {"script-token", "ingest-bot"}, "",
      {"CREDBROKER_ADDR=" + broker_->address(), "CREDBROKER_SCRIPT_KEY=ingest-bot-key-0001"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(CliTest, LoginSessionTokenPrintsTheTokenAloneOrExports) {
  Start();
  const CliResult result =
      Run({"login", "--session-token"},
          "alice\nalice-password-1\n" + CurrentCode("JBSWY3DPEHPK3PXP") + "\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(result.out.back(), '\n');
  const std::string token = result.out.substr(0, result.out.size() - 1);
  EXPECT_EQ(token.find_first_of(" \n{"), std::string::npos) << result.out;
  EXPECT_EQ(site_->Api3ReadProjects(token), 2);

  const CliResult exported =
      Run({"login", "--user", "bob", "--session-token", "--format", "export"},
          "bob-password-1\n" + CurrentCode("KRUGKIDCN5RCA43F") + "\n");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const auto vars = ParseExports(exported.out);
  ASSERT_EQ(vars.size(), 2u) << exported.out;
  EXPECT_EQ(vars.at("SHOTGRID_SITE_URL"), site_->url());
  EXPECT_EQ(site_->Api3ReadProjects(vars.at("SHOTGRID_SESSION_TOKEN")), 2);
  EXPECT_EQ(site_->Requests("password"), 0);
}

TEST_F(CliTest, ScriptSessionTokenIsReusedByTheBroker) {
  Start();
  const std::vector<std::string> key = {"CREDBROKER_SCRIPT_KEY=ingest-bot-key-0001"};
  const CliResult plain = Run({"script-token", "ingest-bot", "--session-token"}, "", key);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::string token = plain.out.substr(0, plain.out.find('\n'));
  EXPECT_EQ(plain.out, token + "\n");
  EXPECT_EQ(site_->Api3ReadProjects(token), 2);

  const CliResult json = Run({"--json", "script-token", "ingest-bot", "--session-token"}, "", key);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json session = nlohmann::json::parse(json.out);
  EXPECT_EQ(session["session_token"], token);
  EXPECT_EQ(session["script_name"], "ingest-bot");
  EXPECT_EQ(session["site_url"], site_->url());
  EXPECT_FALSE(session.contains("access_token"));
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 1);
}

TEST_F(CliTest, BrowserLoginOnAnSsoSiteApprovedOnThePage) {
  StartBrowserLoginSite("sso");
  auto cli = StartCli({"login", "--browser"});
  const std::string url = ApprovalUrl(*cli);
  EXPECT_EQ(url, site_->url() + "/app_session_request/" + site_->OnlyLauncherRequestId());
  EXPECT_NE(cli->Err().find("Waiting for the approval until"), std::string::npos) << cli->Err();
  EXPECT_EQ(site_->SubmitApprovalPage(url, "carol", "carol-password-1", "approve"), 200);
  const CliResult result = cli->Wait();
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json session = nlohmann::json::parse(result.out);
  EXPECT_EQ(session["user_login"], "carol");
  EXPECT_EQ(session["site_url"], site_->url());
  EXPECT_FALSE(session["refresh_token"].get<std::string>().empty());
  EXPECT_EQ(site_->ReadProjects(session["access_token"]), 200);
  EXPECT_EQ(result.err.find(session["access_token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(result.err.find("carol-password-1"), std::string::npos);
  EXPECT_EQ(site_->Requests("password"), 0);
  EXPECT_EQ(site_->LauncherEvents("create"), 1);
}

TEST_F(CliTest, BrowserLoginSessionTokenOnAnIdentitySite) {
  StartBrowserLoginSite("identity");
  auto cli = StartCli({"login", "--browser", "--session-token"});
  ApprovalUrl(*cli);
  site_->Control("/_fake/app_session_request/" + site_->OnlyLauncherRequestId(),
                 {{"approve_as", "dave"}});
  const CliResult result = cli->Wait();
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string token = result.out.substr(0, result.out.find('\n'));
  EXPECT_EQ(result.out, token + "\n");
  EXPECT_EQ(site_->Api3ReadProjects(token), 2);

  // --json: the approval as a JSON line on stderr, the whole session on stdout.
  auto json_cli = StartCli({"--json", "login", "--browser", "--session-token"});
  ASSERT_TRUE(testing::Eventually([&] { return json_cli->Err().find('\n') != std::string::npos; }));
  const nlohmann::json approval =
      nlohmann::json::parse(json_cli->Err().substr(0, json_cli->Err().find('\n')))["approval"];
  const std::string site_id = site_->LauncherRequests()[1]["id"];
  EXPECT_EQ(approval["approval_url"], site_->url() + "/app_session_request/" + site_id);
  EXPECT_GT(approval["expires_at"].get<int64_t>(), std::time(nullptr) + 170);
  site_->Control("/_fake/app_session_request/" + site_id, {{"approve_as", "erin"}});
  const CliResult json = json_cli->Wait();
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json session = nlohmann::json::parse(json.out);
  EXPECT_EQ(session["user_login"], "erin");
  EXPECT_EQ(session["site_url"], site_->url());
  EXPECT_FALSE(session.contains("access_token"));
  EXPECT_EQ(site_->Api3ReadProjects(session["session_token"]), 2);
}

TEST_F(CliTest, BrowserLoginRejectedExitsTwelve) {
  StartBrowserLoginSite("sso");
  auto cli = StartCli({"login", "--browser"});
  EXPECT_EQ(site_->SubmitApprovalPage(ApprovalUrl(*cli), "", "", "reject"), 200);
  const CliResult result = cli->Wait();
  EXPECT_EQ(result.exit_code, 12);
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("rejected in the browser, or it expired"), std::string::npos)
      << result.err;

  auto json_cli = StartCli({"--json", "login", "--browser"});
  ASSERT_TRUE(testing::Eventually([&] { return site_->LauncherRequests().size() == 2; }));
  site_->Control(
      "/_fake/app_session_request/" + site_->LauncherRequests()[1]["id"].get<std::string>(),
      {{"reject", true}});
  const CliResult json = json_cli->Wait();
  EXPECT_EQ(json.exit_code, 12);
  const nlohmann::json error = LastJsonLine(json.err)["error"];
  EXPECT_EQ(error["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(error["reason"], "CHALLENGE_NOT_FOUND");
  EXPECT_EQ(error["exit_code"], 12);
}

TEST_F(CliTest, BrowserLoginNotApprovedWithinTheWaitExitsTwelve) {
  StartBrowserLoginSite("identity");
  const auto started = std::chrono::steady_clock::now();
  const CliResult result = Run({"--json", "login", "--browser", "--wait", "2"});
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(result.exit_code, 12);
  EXPECT_EQ(result.out, "");
  const nlohmann::json error = LastJsonLine(result.err)["error"];
  EXPECT_EQ(error["reason"], "APPROVAL_PENDING");
  EXPECT_EQ(error["exit_code"], 12);
  EXPECT_NE(error["message"].get<std::string>().find("within 2 seconds"), std::string::npos)
      << error;
  EXPECT_EQ(site_->LauncherRequests()[0]["state"], "pending");
}

TEST_F(CliTest, CtrlCStopsTheBrowserLoginAtOnce) {
  StartBrowserLoginSite("sso");
  auto cli = StartCli({"login", "--browser"});
  ApprovalUrl(*cli);
  // The CLI is in its CompleteBrowserLogin call (a 30 s wait) once the site is polled.
  ASSERT_TRUE(testing::Eventually([&] { return site_->LauncherEvents("poll") >= 1; }));
  const auto interrupted = std::chrono::steady_clock::now();
  cli->Signal(SIGINT);
  const CliResult result = cli->Wait(std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted, std::chrono::seconds(3));
  EXPECT_EQ(result.exit_code, 130);
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("stopped before the sign-in was approved"), std::string::npos)
      << result.err;
}

TEST_F(CliTest, PasswordLoginOnAnSsoSitePointsToTheBrowser) {
  SiteOptions sso;
  sso.auth_mode = "sso";
  Start({}, sso);
  const CliResult result = Run({"login", "--user", "frank"}, "frank-password-1\n");
  EXPECT_EQ(result.exit_code, 8);
  EXPECT_NE(result.err.find("credbroker login --browser"), std::string::npos) << result.err;
}

TEST_F(CliTest, BrowserAndSessionTokenUsageErrorsExitTwo) {
  Start();
  EXPECT_EQ(Run({"login", "--browser", "--user", "alice"}).exit_code, 2);
  EXPECT_EQ(Run({"login", "--wait", "5"}).exit_code, 2);
  EXPECT_EQ(Run({"login", "--browser", "--wait", "0"}).exit_code, 2);
  EXPECT_EQ(Run({"refresh", "--session-token"}).exit_code, 2);
  // A session token is never a value on the command line.
  EXPECT_EQ(Run({"script-token", "ingest-bot", "--session-token", "tok"}).exit_code, 2);
  EXPECT_EQ(site_->LauncherEvents("create"), 0);
  EXPECT_EQ(site_->Api3Calls("get_session_token"), 0);
}

}  // namespace
}  // namespace credbroker::client_testing
