// LoginFlow against a scripted site, the in-memory store and a fake clock.
// Everything answers on the test's thread, so each call completes (or is held
// at the fake site) before the next line runs.
#include "broker/login/login_flow.h"

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "broker/common/errors.h"
#include "broker/store/memory_store.h"
#include "gtest/gtest.h"
#include "tests/unit/fakes/fake_clock.h"
#include "tests/unit/fakes/fake_site_client.h"

namespace credbroker {
namespace {

using testing::FakeClock;
using testing::FakeSiteClient;

constexpr char kUser[] = "jdoe";
constexpr char kPassword[] = "Tr0ub4dor&3-pw";
constexpr char kCode[] = "492039";
constexpr char kWrongCode[] = "7391-5520";

// A pending or finished call's answer.
struct Answer {
  bool called = false;
  absl::StatusOr<LoginOutcome> result = absl::InternalError("not answered");
  LoginFlow::Callback callback() {
    return [this](absl::StatusOr<LoginOutcome> r) {
      EXPECT_FALSE(called) << "callback called twice";
      called = true;
      result = std::move(r);
    };
  }
};

void ExpectError(const absl::StatusOr<LoginOutcome>& result, absl::StatusCode code, Reason reason) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_TRUE(HasReason(result.status(), reason))
      << "want " << ReasonName(reason) << ", got " << result.status();
}

class LoginFlowTest : public ::testing::Test {
 protected:
  explicit LoginFlowTest(FailureBudgetSettings budget = {}) : budget_settings_(budget) {}

  void SetUp() override {
    settings_.default_site = "main";
    budget_ = std::make_unique<FailureBudget>(store_, names_, clock_, budget_settings_);
    flow_ =
        std::make_unique<LoginFlow>(settings_, site_, store_, *budget_, sealer_, clock_, logger_);
  }

  void TearDown() override {
    const std::string log = log_.str();
    EXPECT_EQ(log.find(kPassword), std::string::npos) << "password in log:\n" << log;
    EXPECT_EQ(log.find(kCode), std::string::npos) << "code in log:\n" << log;
    EXPECT_EQ(log.find(kWrongCode), std::string::npos) << "code in log:\n" << log;
  }

  CallContext Call(const std::string& caller = "token:web-backend",
                   const std::string& address = "203.0.113.5") {
    CallContext call;
    call.request_id = "req-1";
    call.caller = caller;
    call.client_address = address;
    call.deadline = clock_.Now() + absl::Seconds(30);
    return call;
  }

  absl::StatusOr<LoginOutcome> Begin(const std::string& site = "",
                                     const std::string& password = kPassword,
                                     const std::string& code = "") {
    Answer answer;
    flow_->BeginLogin(BeginLoginParams{site, kUser, password, code}, Call(), answer.callback());
    EXPECT_TRUE(answer.called) << "BeginLogin did not answer";
    return answer.result;
  }

  // Starts a submit; the answer may be pending when the site holds it.
  void StartSubmit(const std::string& id, const std::string& code, Answer* answer) {
    flow_->SubmitSecondFactor(SubmitSecondFactorParams{id, code}, Call(), answer->callback());
  }

  absl::StatusOr<LoginOutcome> Submit(const std::string& id, const std::string& code) {
    Answer answer;
    StartSubmit(id, code, &answer);
    EXPECT_TRUE(answer.called) << "SubmitSecondFactor did not answer";
    return answer.result;
  }

  // BeginLogin that the site answers with 106: the new challenge's id.
  std::string BeginChallenge() {
    site_.QueueAnswer(FakeSiteClient::SecondFactorRequired());
    absl::StatusOr<LoginOutcome> outcome = Begin();
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    if (!outcome.ok()) return "";
    EXPECT_FALSE(outcome->has_session);
    return outcome->challenge.challenge_id;
  }

  // A flow over the same site, store and budget with other settings or keys.
  std::unique_ptr<LoginFlow> FlowWith(const Sealer& sealer) {
    return std::make_unique<LoginFlow>(settings_, site_, store_, *budget_, sealer, clock_, logger_);
  }

  // A wrong password for `username` from `address`, answered by the script.
  absl::StatusOr<LoginOutcome> BeginAs(const std::string& username, const std::string& address) {
    Answer answer;
    flow_->BeginLogin(BeginLoginParams{"", username, "wrong", ""},
                      Call("token:web-backend", address), answer.callback());
    EXPECT_TRUE(answer.called);
    return answer.result;
  }

  std::optional<std::string> Stored(const std::string& key) {
    std::optional<std::string> value;
    store_.Get(key, [&](absl::StatusOr<std::optional<std::string>> data) {
      ASSERT_TRUE(data.ok());
      value = *data;
    });
    return value;
  }

  void Store(const std::string& key, const std::string& value) {
    store_.Put(key, value, absl::Minutes(5), [](absl::Status s) { ASSERT_TRUE(s.ok()); });
  }

  FailureBudgetSettings budget_settings_;
  LoginSettings settings_;
  FakeClock clock_;
  FakeSiteClient site_{{"main", "other"}};
  MemoryStore store_{clock_};
  Sealer sealer_ = Sealer::WithRandomKey();
  NameKeys names_{store_, sealer_, /*shared=*/false};
  std::ostringstream log_;
  Logger logger_{LogLevel::kDebug, log_};
  std::unique_ptr<FailureBudget> budget_;
  std::unique_ptr<LoginFlow> flow_;
};

// A budget large enough that only the challenge's own attempts run out.
class LoginFlowLargeBudgetTest : public LoginFlowTest {
 protected:
  LoginFlowLargeBudgetTest() : LoginFlowTest(FailureBudgetSettings{9, absl::Hours(1)}) {}
};

TEST_F(LoginFlowTest, SuccessWithoutSecondFactor) {
  site_.QueueAnswer(FakeSiteClient::Grant("at-1", "rt-1", absl::Seconds(600)));
  const absl::StatusOr<LoginOutcome> outcome = Begin();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->has_session);
  EXPECT_EQ(outcome->session.access_token, "at-1");
  EXPECT_EQ(outcome->session.refresh_token, "rt-1");
  EXPECT_EQ(outcome->session.token_type, "Bearer");
  EXPECT_EQ(outcome->session.expire_time, clock_.Now() + absl::Seconds(600));
  EXPECT_EQ(outcome->session.principal.user_login, kUser);
  EXPECT_EQ(outcome->session.site, "main");

  const auto requests = site_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].site, "main");  // empty site → default site
  EXPECT_EQ(requests[0].request.grant, GrantType::kPassword);
  EXPECT_EQ(requests[0].request.username, kUser);
  EXPECT_EQ(requests[0].request.password, kPassword);
  EXPECT_EQ(requests[0].request.auth_token, "");
  EXPECT_EQ(requests[0].deadline, clock_.Now() + absl::Seconds(30));
}

TEST_F(LoginFlowTest, NamedSiteIsUsed) {
  site_.QueueAnswer(FakeSiteClient::Grant("at-o"));
  const absl::StatusOr<LoginOutcome> outcome = Begin("other");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->session.site, "other");
  EXPECT_EQ(site_.requests().at(0).site, "other");
}

TEST_F(LoginFlowTest, UnknownSiteIsNotFound) {
  ExpectError(Begin("nowhere"), absl::StatusCode::kNotFound, Reason::kUnknownSite);
  EXPECT_EQ(site_.request_count(), 0u);
}

TEST_F(LoginFlowTest, SecondFactorRequiredCreatesChallenge) {
  site_.QueueAnswer(FakeSiteClient::SecondFactorRequired());
  const absl::Time now = clock_.Now();
  const absl::StatusOr<LoginOutcome> outcome = Begin();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_FALSE(outcome->has_session);
  const ChallengeInfo& challenge = outcome->challenge;
  EXPECT_TRUE(IsWellFormedChallengeId(challenge.challenge_id)) << challenge.challenge_id;
  EXPECT_EQ(challenge.challenge_id.size(), 64u);
  EXPECT_EQ(challenge.attempts_left, 5);
  EXPECT_EQ(challenge.expire_time, now + absl::Seconds(300));

  const auto requests = site_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].request.auth_token, "");

  // What the store holds never shows the password in clear.
  store_.Get(ChallengeKey(challenge.challenge_id),
             [](absl::StatusOr<std::optional<std::string>> data) {
               ASSERT_TRUE(data.ok());
               ASSERT_TRUE(data->has_value());
               EXPECT_EQ((*data)->find(kPassword), std::string::npos);
             });
}

TEST_F(LoginFlowTest, RightCodeGivesSessionWithSameCredentials) {
  const std::string id = BeginChallenge();
  site_.QueueAnswer(FakeSiteClient::Grant("at-2fa", "rt-2fa", absl::Seconds(3600)));
  const absl::StatusOr<LoginOutcome> outcome = Submit(id, kCode);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->has_session);
  EXPECT_EQ(outcome->session.access_token, "at-2fa");
  EXPECT_EQ(outcome->session.refresh_token, "rt-2fa");
  EXPECT_EQ(outcome->session.expire_time, clock_.Now() + absl::Seconds(3600));
  EXPECT_EQ(outcome->session.principal.user_login, kUser);
  EXPECT_EQ(outcome->session.site, "main");

  const auto requests = site_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].site, "main");
  EXPECT_EQ(requests[1].request.grant, GrantType::kPassword);
  EXPECT_EQ(requests[1].request.username, requests[0].request.username);
  EXPECT_EQ(requests[1].request.password, kPassword);
  EXPECT_EQ(requests[1].request.auth_token, kCode);
}

TEST_F(LoginFlowTest, ChallengeIsSingleUse) {
  const std::string id = BeginChallenge();
  site_.QueueAnswer(FakeSiteClient::Grant("at"));
  ASSERT_TRUE(Submit(id, kCode).ok());
  ExpectError(Submit(id, kCode), absl::StatusCode::kFailedPrecondition, Reason::kChallengeNotFound);
  EXPECT_EQ(site_.request_count(), 2u);
  // Neither the challenge nor its lock is left behind (only nothing else).
  EXPECT_EQ(store_.SizeForTest(), 0u);
}

TEST_F(LoginFlowTest, UnknownChallengeNotFound) {
  ExpectError(Submit(std::string(64, 'a'), kCode), absl::StatusCode::kFailedPrecondition,
              Reason::kChallengeNotFound);
  EXPECT_EQ(site_.request_count(), 0u);
}

TEST_F(LoginFlowLargeBudgetTest, WrongCodesCountDownThenChallengeIsGone) {
  const std::string id = BeginChallenge();
  for (int expected_left = 4; expected_left >= 0; --expected_left) {
    site_.QueueAnswer(FakeSiteClient::WrongCode());
    const absl::StatusOr<LoginOutcome> outcome = Submit(id, kWrongCode);
    ExpectError(outcome, absl::StatusCode::kUnauthenticated, Reason::kInvalidSecondFactor);
    EXPECT_EQ(AttemptsLeftOf(outcome.status()), expected_left);
  }
  ExpectError(Submit(id, kCode), absl::StatusCode::kFailedPrecondition, Reason::kChallengeNotFound);
  EXPECT_EQ(site_.request_count(), 1u + 5u);
}

TEST_F(LoginFlowTest, WrongCodeReadAsCredentialsStillCountsAgainstTheChallenge) {
  // A site may answer a wrong code with the same 102 as a wrong password.
  const std::string id = BeginChallenge();
  site_.QueueAnswer(FakeSiteClient::WrongPassword());
  const absl::StatusOr<LoginOutcome> outcome = Submit(id, kWrongCode);
  ExpectError(outcome, absl::StatusCode::kUnauthenticated, Reason::kInvalidSecondFactor);
  EXPECT_EQ(AttemptsLeftOf(outcome.status()), 4);
}

TEST_F(LoginFlowTest, ChallengeExpiresAfterItsLifetime) {
  const std::string id = BeginChallenge();
  clock_.Advance(absl::Seconds(299));
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  ExpectError(Submit(id, kWrongCode), absl::StatusCode::kUnauthenticated,
              Reason::kInvalidSecondFactor);
  clock_.Advance(absl::Seconds(1));
  ExpectError(Submit(id, kCode), absl::StatusCode::kFailedPrecondition, Reason::kChallengeNotFound);
  EXPECT_EQ(site_.request_count(), 2u);
}

TEST_F(LoginFlowTest, ConcurrentSubmitIsBusyAndNeverReachesTheSite) {
  const std::string id = BeginChallenge();
  site_.QueueHold();
  Answer first;
  StartSubmit(id, kCode, &first);
  EXPECT_FALSE(first.called);
  EXPECT_EQ(site_.held_count(), 1u);

  const absl::StatusOr<LoginOutcome> second = Submit(id, kCode);
  ExpectError(second, absl::StatusCode::kAborted, Reason::kChallengeBusy);
  EXPECT_EQ(site_.request_count(), 2u);  // begin + the first submit only

  site_.ReleaseHeld(FakeSiteClient::Grant("at-first"));
  ASSERT_TRUE(first.called);
  ASSERT_TRUE(first.result.ok()) << first.result.status();
  EXPECT_EQ(first.result->session.access_token, "at-first");
  // After the first completed, the challenge is spent.
  ExpectError(Submit(id, kCode), absl::StatusCode::kFailedPrecondition, Reason::kChallengeNotFound);
}

TEST_F(LoginFlowTest, BusyLockIsReleasedAfterAWrongCode) {
  const std::string id = BeginChallenge();
  site_.QueueHold();
  Answer first;
  StartSubmit(id, kWrongCode, &first);
  ExpectError(Submit(id, kCode), absl::StatusCode::kAborted, Reason::kChallengeBusy);
  site_.ReleaseHeld(FakeSiteClient::WrongCode());
  ASSERT_TRUE(first.called);
  ExpectError(first.result, absl::StatusCode::kUnauthenticated, Reason::kInvalidSecondFactor);
  EXPECT_EQ(AttemptsLeftOf(first.result.status()), 4);
  // The busy submit did not cost an attempt, and the lock is free again.
  site_.QueueAnswer(FakeSiteClient::Grant("at"));
  EXPECT_TRUE(Submit(id, kCode).ok());
}

TEST_F(LoginFlowTest, SiteUnavailableDuringSubmitLeavesAttemptsUnchanged) {
  const std::string id = BeginChallenge();
  site_.QueueAnswer(FakeSiteClient::Unavailable());
  ExpectError(Submit(id, kCode), absl::StatusCode::kUnavailable, Reason::kUpstreamUnavailable);
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  const absl::StatusOr<LoginOutcome> wrong = Submit(id, kWrongCode);
  ExpectError(wrong, absl::StatusCode::kUnauthenticated, Reason::kInvalidSecondFactor);
  EXPECT_EQ(AttemptsLeftOf(wrong.status()), 4);
  site_.QueueAnswer(FakeSiteClient::Grant("at"));
  EXPECT_TRUE(Submit(id, kCode).ok());
}

TEST_F(LoginFlowTest, SiteUnavailableDuringBeginDoesNotCount) {
  site_.AnswerAlways(FakeSiteClient::Unavailable());
  for (int i = 0; i < 8; ++i) {
    ExpectError(Begin(), absl::StatusCode::kUnavailable, Reason::kUpstreamUnavailable);
  }
  EXPECT_EQ(site_.request_count(), 8u);
}

TEST_F(LoginFlowTest, WrongPasswordIsInvalidCredentials) {
  site_.QueueAnswer(FakeSiteClient::WrongPassword());
  ExpectError(Begin(), absl::StatusCode::kUnauthenticated, Reason::kInvalidCredentials);
}

TEST_F(LoginFlowTest, CodeGivenUpFrontIsSentInOneCall) {
  site_.QueueAnswer(FakeSiteClient::Grant("at-one-call"));
  const absl::StatusOr<LoginOutcome> outcome = Begin("", kPassword, kCode);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(outcome->has_session);
  EXPECT_EQ(site_.requests().at(0).request.auth_token, kCode);
}

TEST_F(LoginFlowTest, WrongCodeGivenUpFrontReportsTheBudgetLeft) {
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  const absl::StatusOr<LoginOutcome> outcome = Begin("", kPassword, kWrongCode);
  ExpectError(outcome, absl::StatusCode::kUnauthenticated, Reason::kInvalidSecondFactor);
  EXPECT_EQ(AttemptsLeftOf(outcome.status()), 4);
}

TEST_F(LoginFlowTest, FailureBudgetStopsBeforeTheSite) {
  site_.AnswerAlways(FakeSiteClient::WrongPassword());
  for (int i = 0; i < 5; ++i) {
    ExpectError(Begin("", "wrong-" + std::to_string(i)), absl::StatusCode::kUnauthenticated,
                Reason::kInvalidCredentials);
  }
  const absl::StatusOr<LoginOutcome> sixth = Begin();
  ExpectError(sixth, absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  const std::optional<absl::Duration> retry = RetryAfterOf(sixth.status());
  ASSERT_TRUE(retry.has_value());
  EXPECT_GT(*retry, absl::ZeroDuration());
  EXPECT_LE(*retry, absl::Hours(1));
  EXPECT_EQ(site_.request_count(), 5u);
}

TEST_F(LoginFlowTest, FailureBudgetIgnoresUsernameCase) {
  site_.AnswerAlways(FakeSiteClient::WrongPassword());
  for (const char* name : {"jdoe", "JDOE", "JDoe", "jDoE", "Jdoe"}) {
    Answer answer;
    flow_->BeginLogin(BeginLoginParams{"", name, "wrong", ""}, Call(), answer.callback());
  }
  ExpectError(Begin(), absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  EXPECT_EQ(site_.request_count(), 5u);
}

TEST_F(LoginFlowTest, FailureBudgetResetsAfterTheWindow) {
  site_.AnswerAlways(FakeSiteClient::WrongPassword());
  for (int i = 0; i < 5; ++i) (void)Begin("", "wrong");
  clock_.Advance(absl::Minutes(50));
  const absl::StatusOr<LoginOutcome> blocked = Begin();
  ExpectError(blocked, absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  EXPECT_EQ(RetryAfterOf(blocked.status()), absl::Minutes(10));
  clock_.Advance(absl::Minutes(10));
  site_.QueueAnswer(FakeSiteClient::Grant("at-after-window"));
  const absl::StatusOr<LoginOutcome> allowed = Begin();
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->session.access_token, "at-after-window");
  EXPECT_EQ(site_.request_count(), 6u);
}

TEST_F(LoginFlowTest, FailureBudgetIsPerSite) {
  site_.AnswerAlways(FakeSiteClient::WrongPassword());
  for (int i = 0; i < 5; ++i) (void)Begin("main", "wrong");
  ExpectError(Begin("main"), absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  ExpectError(Begin("other"), absl::StatusCode::kUnauthenticated, Reason::kInvalidCredentials);
}

TEST_F(LoginFlowTest, WrongCodesSpendTheBudgetToo) {
  // Default budget 5: three wrong passwords, then a challenge whose wrong codes
  // use the rest; the budget, not the challenge's attempts, stops the next one.
  site_.QueueAnswer(FakeSiteClient::WrongPassword());
  site_.QueueAnswer(FakeSiteClient::WrongPassword());
  site_.QueueAnswer(FakeSiteClient::WrongPassword());
  for (int i = 0; i < 3; ++i) (void)Begin("", "wrong");
  const std::string id = BeginChallenge();
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  (void)Submit(id, kWrongCode);
  (void)Submit(id, kWrongCode);
  ExpectError(Submit(id, kCode), absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  EXPECT_EQ(site_.request_count(), 6u);
}

TEST_F(LoginFlowTest, ChallengeFromAnotherKeyCannotBeCompleted) {
  const std::string id = BeginChallenge();
  // A replica with a different sealing key reads the same store.
  Sealer other_key = Sealer::WithRandomKey();
  LoginFlow other(settings_, site_, store_, *budget_, other_key, clock_, logger_);
  Answer answer;
  other.SubmitSecondFactor(SubmitSecondFactorParams{id, kCode}, Call(), answer.callback());
  ASSERT_TRUE(answer.called);
  ExpectError(answer.result, absl::StatusCode::kFailedPrecondition, Reason::kChallengeNotFound);
  EXPECT_EQ(site_.request_count(), 1u);
}

TEST_F(LoginFlowTest, LogNamesStepsButNoSecrets) {
  const std::string id = BeginChallenge();
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  (void)Submit(id, kWrongCode);
  site_.QueueAnswer(FakeSiteClient::Grant("at-secret-token", "rt-secret-token"));
  ASSERT_TRUE(Submit(id, kCode).ok());
  const std::string log = log_.str();
  EXPECT_NE(log.find("begin_login"), std::string::npos) << log;
  EXPECT_NE(log.find("submit_second_factor"), std::string::npos) << log;
  EXPECT_NE(log.find("INVALID_SECOND_FACTOR"), std::string::npos) << log;
  EXPECT_EQ(log.find("at-secret-token"), std::string::npos) << log;
  EXPECT_EQ(log.find("rt-secret-token"), std::string::npos) << log;
  // TearDown checks the password and codes.
}

// ---- Guessing limits under concurrency ----

TEST_F(LoginFlowTest, ConcurrentWrongPasswordsReachTheSiteAtMostTheBudget) {
  for (int i = 0; i < 5; ++i) site_.QueueHold();
  std::vector<Answer> answers(40);
  for (Answer& answer : answers) {
    flow_->BeginLogin(BeginLoginParams{"", kUser, "wrong", ""}, Call(), answer.callback());
  }
  EXPECT_EQ(site_.request_count(), 5u);
  int refused = 0;
  for (const Answer& answer : answers) {
    if (!answer.called) continue;
    ++refused;
    ExpectError(answer.result, absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
    // The places are held by calls still at the site: worth trying again soon.
    EXPECT_EQ(RetryAfterOf(answer.result.status()), absl::Seconds(1));
  }
  EXPECT_EQ(refused, 35);
  for (int i = 0; i < 5; ++i) site_.ReleaseHeld(FakeSiteClient::WrongPassword());
  // Now they are counted failures: the next waits for the oldest to leave.
  const absl::StatusOr<LoginOutcome> next = Begin();
  ExpectError(next, absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  EXPECT_EQ(RetryAfterOf(next.status()), absl::Hours(1));
  EXPECT_EQ(site_.request_count(), 5u);
}

TEST_F(LoginFlowTest, PlacesComeBackWhenTheSiteCannotHaveCounted) {
  for (int i = 0; i < 5; ++i) site_.QueueHold();
  std::vector<Answer> held(5);
  for (Answer& answer : held) {
    flow_->BeginLogin(BeginLoginParams{"", kUser, kPassword, ""}, Call(), answer.callback());
  }
  ExpectError(Begin(), absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  site_.ReleaseHeld(FakeSiteClient::Grant("at"));
  site_.ReleaseHeld(FakeSiteClient::SecondFactorRequired());
  site_.ReleaseHeld(FakeSiteClient::SsoRequired());
  site_.ReleaseHeld(FakeSiteClient::Unavailable());
  site_.ReleaseHeld(FakeSiteClient::Grant("at"));
  // Nothing counted: the whole budget is there for wrong passwords.
  site_.AnswerAlways(FakeSiteClient::WrongPassword());
  for (int i = 0; i < 5; ++i) {
    ExpectError(Begin("", "wrong"), absl::StatusCode::kUnauthenticated,
                Reason::kInvalidCredentials);
  }
  ExpectError(Begin(), absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  EXPECT_EQ(site_.request_count(), 10u);
}

TEST_F(LoginFlowTest, TimeoutAfterTheRequestLeftCounts) {
  site_.AnswerAlways(FakeSiteClient::TimedOutAfterSending());
  for (int i = 0; i < 5; ++i) {
    ExpectError(Begin(), absl::StatusCode::kUnavailable, Reason::kUpstreamUnavailable);
  }
  ExpectError(Begin(), absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  EXPECT_EQ(site_.request_count(), 5u);
}

TEST_F(LoginFlowTest, WrongCodesSpreadOverChallengesReachTheSiteAtMostTheBudget) {
  settings_.challenges_per_person = 10;
  flow_ = FlowWith(sealer_);
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(BeginChallenge());
  for (int i = 0; i < 5; ++i) site_.QueueHold();
  std::vector<Answer> answers(10);
  for (int i = 0; i < 10; ++i) StartSubmit(ids[i], kWrongCode, &answers[i]);
  EXPECT_EQ(site_.request_count(), 10u + 5u);
  for (int i = 0; i < 5; ++i) site_.ReleaseHeld(FakeSiteClient::WrongCode());
  int wrong = 0, refused = 0;
  for (const Answer& answer : answers) {
    ASSERT_TRUE(answer.called);
    wrong += HasReason(answer.result.status(), Reason::kInvalidSecondFactor);
    refused += HasReason(answer.result.status(), Reason::kTooManyAttempts);
  }
  EXPECT_EQ(wrong, 5);
  EXPECT_EQ(refused, 5);
}

TEST_F(LoginFlowTest, NoRollingHourSeesMoreThanTheBudget) {
  // A patient guesser tries every 7 minutes for 6 hours.
  site_.AnswerAlways(FakeSiteClient::WrongPassword());
  std::vector<absl::Time> reached;
  for (int minute = 0; minute < 6 * 60; minute += 7) {
    const std::size_t before = site_.request_count();
    (void)Begin("", "wrong");
    if (site_.request_count() > before) reached.push_back(clock_.Now());
    clock_.Advance(absl::Minutes(7));
  }
  for (std::size_t i = 0; i < reached.size(); ++i) {
    int in_hour = 0;
    for (std::size_t j = 0; j <= i; ++j) in_hour += reached[i] - reached[j] < absl::Hours(1);
    EXPECT_LE(in_hour, 5) << "an hour ending at guess " << i << " saw " << in_hour;
  }
  // The budget is a limit, not a lockout: guesses go on at its pace.
  EXPECT_GE(reached.size(), 25u);
}

TEST_F(LoginFlowTest, PerAddressLimitCatchesSprayingAcrossUsernames) {
  budget_settings_.per_address_max_failures = 3;
  budget_ = std::make_unique<FailureBudget>(store_, names_, clock_, budget_settings_);
  flow_ = FlowWith(sealer_);
  site_.AnswerAlways(FakeSiteClient::WrongPassword());
  for (const char* user : {"ana", "ben", "cal"}) {
    ExpectError(BeginAs(user, "198.51.100.7"), absl::StatusCode::kUnauthenticated,
                Reason::kInvalidCredentials);
  }
  const absl::StatusOr<LoginOutcome> sprayed = BeginAs("dee", "198.51.100.7");
  ExpectError(sprayed, absl::StatusCode::kResourceExhausted, Reason::kTooManyAttempts);
  EXPECT_EQ(RetryAfterOf(sprayed.status()), absl::Hours(1));
  EXPECT_NE(std::string(sprayed.status().message()).find("address"), std::string::npos);
  // Another address, and dee's own budget, are untouched.
  ExpectError(BeginAs("dee", "198.51.100.8"), absl::StatusCode::kUnauthenticated,
              Reason::kInvalidCredentials);
  EXPECT_EQ(site_.request_count(), 4u);
}

// ---- Counting open challenges ----

TEST_F(LoginFlowTest, OpenChallengesAreCountedAcrossTheirWindows) {
  settings_.challenges_per_person = 20;
  flow_ = FlowWith(sealer_);
  auto count = [this] {
    absl::StatusOr<std::size_t> counted = absl::UnknownError("no answer");
    flow_->CountOpenChallenges([&](absl::StatusOr<std::size_t> open) { counted = open; });
    return counted;
  };
  EXPECT_EQ(count().value(), 0u);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(BeginChallenge());
  EXPECT_EQ(count().value(), 20u);
  // A completed challenge stops counting; a replaced one too.
  site_.QueueAnswer(FakeSiteClient::Grant("at-2fa", "rt-2fa", absl::Seconds(3600)));
  ASSERT_TRUE(Submit(ids[7], kCode).ok());
  EXPECT_EQ(count().value(), 19u);
  BeginChallenge();  // the 21st replaces the oldest
  EXPECT_EQ(count().value(), 20u);
  clock_.Advance(settings_.challenge_lifetime);
  EXPECT_EQ(count().value(), 0u);
}

// ---- Challenges belong to their caller ----

TEST_F(LoginFlowTest, AnotherCallerCannotSubmitAndSpendsNothing) {
  const std::string id = BeginChallenge();  // begun by token:web-backend
  Answer intruder;
  flow_->SubmitSecondFactor(SubmitSecondFactorParams{id, kWrongCode}, Call("token:other-service"),
                            intruder.callback());
  ASSERT_TRUE(intruder.called);
  ExpectError(intruder.result, absl::StatusCode::kFailedPrecondition, Reason::kChallengeNotFound);
  EXPECT_EQ(intruder.result.status().message(),
            Submit(std::string(64, 'b'), kCode).status().message());
  EXPECT_EQ(site_.request_count(), 1u);
  // The owner still has every attempt and the whole budget.
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  const absl::StatusOr<LoginOutcome> owner = Submit(id, kWrongCode);
  ExpectError(owner, absl::StatusCode::kUnauthenticated, Reason::kInvalidSecondFactor);
  EXPECT_EQ(AttemptsLeftOf(owner.status()), 4);
}

TEST_F(LoginFlowTest, NewestChallengeReplacesTheOldestBeyondTheCap) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(BeginChallenge());
    clock_.Advance(absl::Seconds(1));
  }
  ExpectError(Submit(ids[0], kCode), absl::StatusCode::kFailedPrecondition,
              Reason::kChallengeNotFound);
  EXPECT_FALSE(Stored(ChallengeKey(ids[0])).has_value());
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(Stored(ChallengeKey(ids[i])).has_value());
  site_.QueueAnswer(FakeSiteClient::Grant("at-newest"));
  EXPECT_TRUE(Submit(ids[3], kCode).ok());
}

// ---- Sealed records ----

TEST_F(LoginFlowTest, EditedRecordIsRefused) {
  const std::string id = BeginChallenge();
  std::string sealed = *Stored(ChallengeKey(id));
  EXPECT_EQ(sealed.find(kUser), std::string::npos);  // nothing readable
  EXPECT_EQ(sealed.find("main"), std::string::npos);
  for (std::size_t at : {std::size_t{0}, std::size_t{3}, sealed.size() / 2, sealed.size() - 1}) {
    std::string edited = sealed;
    edited[at] = static_cast<char>(edited[at] ^ 0x01);
    Store(ChallengeKey(id), edited);
    ExpectError(Submit(id, kCode), absl::StatusCode::kFailedPrecondition,
                Reason::kChallengeNotFound);
  }
  EXPECT_EQ(site_.request_count(), 1u);
}

TEST_F(LoginFlowTest, RecordCopiedUnderAnotherIdIsRefused) {
  const std::string id = BeginChallenge();
  const std::string other = std::string(64, 'c');
  Store(ChallengeKey(other), *Stored(ChallengeKey(id)));
  ExpectError(Submit(other, kCode), absl::StatusCode::kFailedPrecondition,
              Reason::kChallengeNotFound);
  EXPECT_EQ(site_.request_count(), 1u);
}

TEST_F(LoginFlowTest, RotatedKeyStillOpensLiveChallenges) {
  const std::string old_key(32, 'o');
  const std::string new_key(32, 'n');
  const Sealer old_only = *Sealer::Create(old_key);
  const Sealer rotating = *Sealer::Create(new_key, {old_key});
  const Sealer new_only = *Sealer::Create(new_key);
  ASSERT_NE(old_only.active_key_id(), rotating.active_key_id());

  flow_ = FlowWith(old_only);
  const std::string id = BeginChallenge();
  const std::string untouched = BeginChallenge();
  // Rotated: the old key still opens; the record is sealed again with the new.
  flow_ = FlowWith(rotating);
  site_.QueueAnswer(FakeSiteClient::WrongCode());
  const absl::StatusOr<LoginOutcome> wrong = Submit(id, kWrongCode);
  ExpectError(wrong, absl::StatusCode::kUnauthenticated, Reason::kInvalidSecondFactor);
  EXPECT_EQ(AttemptsLeftOf(wrong.status()), 4);
  // Once the old key is dropped, re-sealed records open and old ones do not.
  flow_ = FlowWith(new_only);
  ExpectError(Submit(untouched, kCode), absl::StatusCode::kFailedPrecondition,
              Reason::kChallengeNotFound);
  site_.QueueAnswer(FakeSiteClient::Grant("at-rotated"));
  const absl::StatusOr<LoginOutcome> done = Submit(id, kCode);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->session.access_token, "at-rotated");
}

}  // namespace
}  // namespace credbroker
