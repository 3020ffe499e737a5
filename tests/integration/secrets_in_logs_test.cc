// Runs every flow with debug logging and then searches the broker's whole
// output for each secret it handled: passwords, codes, script keys, tokens.
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

  const std::string logs = broker_->Logs();
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

}  // namespace
}  // namespace credbroker::testing
