// The failure budget as an attacker would try it, through the real broker
// and a fake site that takes 300 ms per answer: guesses sent all at once, over
// many challenges, by another caller, or sprayed over usernames from one
// address never reach the site more often than the budget allows.
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "broker_fixture.h"
#include "service_tokens.h"

namespace credbroker::testing {
namespace {

const std::map<std::string, std::string> kCallers = {{"web-a", "web-a-token-5b1d"},
                                                     {"web-b", "web-b-token-93e0"}};

class GuessingLimitsTest : public BrokerTest {
 protected:
  // A broker identifying two web backends by service token, both allowed
  // every method, plus `extra` config.
  void StartWithCallers(const std::string& extra = "") {
    BrokerOptions options;
    options.extra_yaml = ServiceTokensYaml(kCallers) + "policy_file: \"" +
                         dir_.Write("policy.yaml", AllowEveryMethodPolicy(kCallers)) + "\"\n" +
                         extra;
    Start({}, options);
    site_->SetFaults({{"latency_ms", 300}});
  }

  grpc::Status BeginAs(const std::string& caller, const std::string& username,
                       const std::string& password, v1::LoginResult* result,
                       const std::string& address = "") {
    v1::BeginLoginRequest request;
    request.set_username(username);
    request.set_password(password);
    if (!address.empty()) request.mutable_client()->set_address(address);
    return stub_->BeginLogin(ContextAs(kCallers.at(caller)).get(), request, result);
  }

  grpc::Status SubmitAs(const std::string& caller, const std::string& id, const std::string& code,
                        v1::LoginResult* result) {
    v1::SubmitSecondFactorRequest request;
    request.set_challenge_id(id);
    request.set_code(code);
    return stub_->SubmitSecondFactor(ContextAs(kCallers.at(caller)).get(), request, result);
  }
};

TEST_F(GuessingLimitsTest, FortyConcurrentWrongPasswordsReachTheSiteFiveTimes) {
  StartWithCallers();
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 40; ++i) {
    calls.push_back(std::async(std::launch::async, [this] {
      v1::LoginResult result;
      return BeginAs("web-a", fixtures::kAlice.login, "not-her-password", &result);
    }));
  }
  int wrong = 0, refused = 0;
  for (auto& call : calls) {
    const grpc::Status status = call.get();
    const auto detail = client::ErrorDetailOf(status);
    ASSERT_TRUE(detail.has_value()) << status.error_message();
    if (detail->reason() == "INVALID_CREDENTIALS") ++wrong;
    if (detail->reason() == "TOO_MANY_ATTEMPTS") {
      ++refused;
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_GT(detail->retry_after().seconds() + detail->retry_after().nanos(), 0);
    }
  }
  EXPECT_EQ(wrong, 5);
  EXPECT_EQ(refused, 35);
  EXPECT_EQ(site_->Requests("password"), 5);
  // Alice's right password is refused too now: the budget is spent.
  v1::LoginResult result;
  EXPECT_BROKER_ERROR(BeginAs("web-a", "ALICE", fixtures::kAlice.password, &result),
                      RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS");
  EXPECT_EQ(site_->Requests("password"), 5);
}

TEST_F(GuessingLimitsTest, WrongCodesSpreadOverTenChallengesReachTheSiteFiveTimes) {
  StartWithCallers("challenge:\n  max_per_person: 10\n");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    v1::LoginResult result;
    ASSERT_GRPC_OK(BeginAs("web-a", fixtures::kBob.login, fixtures::kBob.password, &result));
    ids.push_back(result.challenge().challenge_id());
  }
  ASSERT_EQ(site_->Requests("password"), 10);
  std::vector<std::future<grpc::Status>> calls;
  for (const std::string& id : ids) {
    calls.push_back(std::async(std::launch::async, [this, id] {
      v1::LoginResult result;
      return SubmitAs("web-a", id, "000000", &result);
    }));
  }
  int wrong = 0, refused = 0;
  for (auto& call : calls) {
    const auto detail = client::ErrorDetailOf(call.get());
    ASSERT_TRUE(detail.has_value());
    wrong += detail->reason() == "INVALID_SECOND_FACTOR";
    refused += detail->reason() == "TOO_MANY_ATTEMPTS";
  }
  EXPECT_EQ(wrong, 5);
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(site_->Requests("password"), 10 + 5);
}

TEST_F(GuessingLimitsTest, AnotherCallerCannotCompleteAChallenge) {
  StartWithCallers();
  v1::LoginResult begun;
  ASSERT_GRPC_OK(BeginAs("web-a", fixtures::kCarol.login, fixtures::kCarol.password, &begun));
  const std::string id = begun.challenge().challenge_id();
  const std::string code = site_->CurrentCode(fixtures::kCarol.totp_secret);

  v1::LoginResult stolen;
  const grpc::Status intruder = SubmitAs("web-b", id, code, &stolen);
  EXPECT_BROKER_ERROR(intruder, FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND");
  v1::LoginResult unknown;
  EXPECT_EQ(intruder.error_message(),
            SubmitAs("web-b", std::string(64, 'e'), code, &unknown).error_message());
  EXPECT_EQ(site_->Requests("password"), 1);

  // The owner's challenge is untouched: all its attempts, and it works.
  v1::LoginResult session;
  ASSERT_GRPC_OK(SubmitAs("web-a", id, code, &session));
  ASSERT_TRUE(session.has_session());
  EXPECT_EQ(session.session().principal().user_login(), "carol");
}

TEST_F(GuessingLimitsTest, PasswordSprayingFromOneAddressIsStoppedAndAudited) {
  StartWithCallers("failure_budget:\n  per_address_max_failures: 3\n");
  site_->SetFaults({{"latency_ms", 0}});
  v1::LoginResult result;
  for (const auto& user : {fixtures::kDave, fixtures::kErin, fixtures::kFrank}) {
    EXPECT_BROKER_ERROR(BeginAs("web-a", user.login, "Summer2026!", &result, "192.0.2.44"),
                        UNAUTHENTICATED, "INVALID_CREDENTIALS");
  }
  const grpc::Status sprayed =
      BeginAs("web-a", fixtures::kGrace.login, "Summer2026!", &result, "192.0.2.44");
  EXPECT_BROKER_ERROR(sprayed, RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS");
  EXPECT_GT(client::ErrorDetailOf(sprayed)->retry_after().seconds(), 3000);
  EXPECT_EQ(site_->Requests("password"), 3);
  EXPECT_TRUE(broker_->WaitForLogLine({"\"event\":\"audit\"", "\"username\":\"grace\"",
                                       "\"reason\":\"TOO_MANY_ATTEMPTS\"",
                                       "\"client_address\":\"192.0.2.44\""}))
      << broker_->Logs();
  // Other people behind other addresses are not held back.
  ASSERT_GRPC_OK(
      BeginAs("web-a", fixtures::kGrace.login, fixtures::kGrace.password, &result, "192.0.2.45"));
  EXPECT_TRUE(result.has_challenge());
}

}  // namespace
}  // namespace credbroker::testing
