// Runs every flow with debug logging and then searches the broker's whole
// output for each secret it handled: passwords, codes, script keys, tokens.
// Also: what of a refused request's fields reaches its audit line.
#include <cctype>
#include <vector>

#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

using SecretsInLogsTest = BrokerTest;

// Where `needle` stands as a whole word: not inside a longer run of letters
// and digits. Six digits turn up by chance inside hex request ids; a leaked
// code would stand alone ("code":"123456", auth_token=123456&).
std::size_t FindWord(const std::string& text, const std::string& needle) {
  const auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    const bool starts = at == 0 || !is_word(text[at - 1]);
    const std::size_t end = at + needle.size();
    const bool ends = end == text.size() || !is_word(text[end]);
    if (starts && ends) return at;
  }
  return std::string::npos;
}

TEST_F(SecretsInLogsTest, NoSecretAppearsInTheLogs) {
  BrokerOptions broker;
  broker.log_level = "debug";
  Start({}, broker);
  std::vector<std::string> secrets = {fixtures::kAlice.password, fixtures::kIngestBotKey,
                                      "wrong-password-zq81", "wrong-script-key-zq81",
                                      "wrong-code-zq81"};

  v1::LoginResult result;
  BeginLogin(fixtures::kAlice.login, "wrong-password-zq81", &result);
  const std::string id = Challenge(fixtures::kAlice);
  Submit(id, "wrong-code-zq81", &result);
  const std::string code = site_->CurrentCode(fixtures::kAlice.totp_secret);
  secrets.push_back(code);
  ASSERT_GRPC_OK(Submit(id, code, &result));
  const v1::Session login = result.session();
  secrets.insert(secrets.end(), {login.access_token(), login.refresh_token()});

  v1::Session refreshed;
  ASSERT_GRPC_OK(Refresh(login.refresh_token(), &refreshed));
  secrets.insert(secrets.end(), {refreshed.access_token(), refreshed.refresh_token()});
  v1::Session spent;
  Refresh(login.refresh_token(), &spent);

  v1::Session script;
  ASSERT_GRPC_OK(IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &script));
  secrets.push_back(script.access_token());
  IssueScript(fixtures::kIngestBotName, "wrong-script-key-zq81", &script);

  v1::RevokeSessionRequest revoke;
  revoke.set_refresh_token(refreshed.refresh_token());
  v1::RevokeSessionResponse revoked;
  ASSERT_GRPC_OK(stub_->RevokeSession(ContextWithDeadline().get(), revoke, &revoked));

  const std::string logs = broker_->LogsAfterStop();
  // The flows were logged (so the search below searched something).
  EXPECT_NE(logs.find("\"event\":\"site_request\""), std::string::npos);
  EXPECT_NE(logs.find("\"step\":\"submit_second_factor\""), std::string::npos);
  EXPECT_NE(logs.find("\"step\":\"issue_script_session\""), std::string::npos);
  for (const std::string& secret : secrets) {
    ASSERT_FALSE(secret.empty());
    const std::size_t at = FindWord(logs, secret);
    EXPECT_EQ(at, std::string::npos)
        << "secret '" << secret << "' appears in the logs: ..."
        << logs.substr(at == std::string::npos ? 0 : (at > 80 ? at - 80 : 0), 160) << "...";
  }
}

// A refused field reaches the audit line only as up to 64 characters of
// [A-Za-z0-9._@+-], unsafe ones as '?', marked as clipped: no forged lines,
// no quotes, nothing long.
TEST_F(SecretsInLogsTest, RefusedFieldsAreClippedInTheAuditLine) {
  Start();
  const std::string clipped = "\u2026(clipped)";
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(BeginLogin("zq81\n{\"event\":\"forged\"}", "x", &result), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(BeginLogin("zq82 ", "x", &result), INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_BROKER_ERROR(BeginLogin("zq83" + std::string(400, 'u'), "x", &result), INVALID_ARGUMENT,
                      "INVALID_REQUEST");
  v1::Session session;
  EXPECT_BROKER_ERROR(
      IssueScript(fixtures::kIngestBotName, fixtures::kIngestBotKey, &session, "zq84:admin"),
      INVALID_ARGUMENT, "INVALID_REQUEST");
  v1::BeginLoginRequest bad_agent;
  bad_agent.set_username("zq85");
  bad_agent.set_password("x");
  bad_agent.mutable_client()->set_user_agent("agent\r\n\"forged\"" + std::string(2000, 'a'));
  EXPECT_BROKER_ERROR(stub_->BeginLogin(ContextWithDeadline().get(), bad_agent, &result),
                      INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_EQ(site_->Requests("password") + site_->Requests("client_credentials"), 0);

  const std::string logs = broker_->LogsAfterStop();
  const std::vector<std::string> refused = {"\"event\":\"audit\"", "\"outcome\":\"refused\"",
                                            "\"reason\":\"INVALID_REQUEST\""};
  const auto audited = [&](const std::string& field, const std::string& value) {
    std::vector<std::string> parts = refused;
    parts.push_back("\"" + field + "\":\"" + value + "\"");
    return LogHasLineWith(logs, parts);
  };
  EXPECT_TRUE(audited("username", "zq81???event???forged??" + clipped)) << logs;
  EXPECT_TRUE(audited("username", "zq82?" + clipped)) << logs;
  EXPECT_TRUE(audited("username", "zq83" + std::string(60, 'u') + clipped)) << logs;
  EXPECT_TRUE(audited("sudo_as_login", "zq84?admin" + clipped)) << logs;
  EXPECT_TRUE(audited("user_agent", "agent???forged?" + std::string(49, 'a') + clipped)) << logs;
  // Nothing of the raw values: no escaped quote or line break from them, no
  // run longer than the clip.
  EXPECT_EQ(logs.find("forged\\\""), std::string::npos) << logs;
  EXPECT_EQ(logs.find("zq81\\n"), std::string::npos) << logs;
  EXPECT_EQ(logs.find(std::string(65, 'u')), std::string::npos) << logs;
  EXPECT_EQ(logs.find(std::string(65, 'a')), std::string::npos) << logs;
}

}  // namespace
}  // namespace credbroker::testing
