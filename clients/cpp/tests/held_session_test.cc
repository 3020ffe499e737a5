// HeldSessionTokenSource against the real broker: a broker-custody login, ten
// threads sharing one GetAccessToken (one refresh_token grant at the site),
// the cached token and Invalidate(), Invalidate(token) refreshing at once,
// Revoke() and SESSION_NOT_FOUND after it,
// and a session the site no longer refreshes (REFRESH_TOKEN_INVALID, then
// SESSION_NOT_FOUND). AsyncHeldSessionTokenSource, the callback variant: Token()
// returns before the broker answers, callers share one call, the cached token
// answers on the caller's thread, and a call in flight outlives its source.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "client_test_support.h"
#include "credbroker/client.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

using client::BrokerError;

class HeldSessionTest : public SiteAndBrokerTest {
 protected:
  void SetUp() override {
    // Tokens live 100 s: a source asking for 120 s of validity makes the
    // broker refresh, one asking for 60 s does not.
    SiteOptions options;
    options.token_lifetime_seconds = 100;
    StartSiteAndBroker(options);
    stub_ = CountingStub(broker_->address(), &calls_);
  }
  int get_access_token_calls() { return calls_.Count(kGetAccessToken); }

  // A broker-custody login: the session id, and no refresh token.
  std::string HeldLogin(const std::string& user, const std::string& secret) {
    client::LoginOptions options;
    options.custody = v1::TOKEN_CUSTODY_BROKER;
    const v1::Session session = client::Login(
        *stub_, user, user + "-password-1",
        [&](const client::Challenge&) { return CurrentCode(secret); }, options);
    EXPECT_EQ(session.session_id().size(), 64u);
    EXPECT_TRUE(session.refresh_token().empty());
    return session.session_id();
  }

  CallCounter calls_;
  std::shared_ptr<v1::CredentialBroker::Stub> stub_;
};

TEST_F(HeldSessionTest, TenThreadsShareOneBrokerRefresh) {
  const std::string session_id = HeldLogin("carol", "MNQXE33MFVZWKY3S");
  client::HeldSessionTokenSource source(stub_, session_id, std::chrono::seconds(120));
  // A slow site keeps the one call in flight while all ten threads arrive.
  httplib::Client(site_->url())
      .Post("/_fake/faults", R"({"latency_ms": 1000})", "application/json");

  std::atomic<int> ready{0};
  std::vector<std::string> tokens(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < 10) std::this_thread::yield();
      tokens[i] = source.Token();
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(get_access_token_calls(), 1);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  for (const std::string& token : tokens) EXPECT_EQ(token, tokens[0]);
  EXPECT_EQ(site_->ReadProjects(tokens[0]), 200);
}

TEST_F(HeldSessionTest, CachedTokenUntilInvalidated) {
  const std::string session_id = HeldLogin("dave", "MRQXMZJNONSWG4TF");
  client::HeldSessionTokenSource source(stub_, session_id, std::chrono::seconds(60));
  const std::string first = source.Token();
  EXPECT_EQ(source.Token(), first);
  EXPECT_EQ(get_access_token_calls(), 1);

  source.Invalidate();
  // The broker's token still has ~100 s left: the same token, no site refresh.
  EXPECT_EQ(source.Token(), first);
  EXPECT_EQ(get_access_token_calls(), 2);
  EXPECT_EQ(site_->Requests("refresh_token"), 0);
  EXPECT_EQ(site_->ReadProjects(first), 200);
}

TEST_F(HeldSessionTest, TokenTheSiteRefusedIsRefreshedAtOnce) {
  const std::string session_id = HeldLogin("bob", "KRUGKIDCN5RCA43F");
  client::HeldSessionTokenSource source(stub_, session_id, std::chrono::seconds(60));
  const std::string first = source.Token();
  source.Invalidate("an-older-token");  // not the cached one: nothing changes
  EXPECT_EQ(source.Token(), first);
  EXPECT_EQ(get_access_token_calls(), 1);

  // The broker's token still has ~100 s left; a refused one is refreshed anyway.
  source.Invalidate(first);
  const std::string fresh = source.Token();
  EXPECT_NE(fresh, first);
  EXPECT_EQ(calls_.Count(kRefreshSession), 1);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(site_->ReadProjects(fresh), 200);
  EXPECT_EQ(source.Token(), fresh);
  EXPECT_EQ(get_access_token_calls(), 1);
}

TEST_F(HeldSessionTest, RevokedSessionIsNotFound) {
  const std::string session_id = HeldLogin("carol", "MNQXE33MFVZWKY3S");
  client::HeldSessionTokenSource source(stub_, session_id, std::chrono::seconds(60));
  source.Token();
  source.Revoke();
  source.Revoke();  // idempotent
  try {
    source.Token();
    FAIL() << "no error after Revoke()";
  } catch (const BrokerError& error) {
    EXPECT_EQ(error.code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(error.reason(), "SESSION_NOT_FOUND");
    EXPECT_EQ(std::string(error.what()).find(session_id), std::string::npos);
  }
  EXPECT_EQ(get_access_token_calls(), 2);
}

TEST_F(HeldSessionTest, SessionTheSiteNoLongerRefreshesIsGone) {
  const std::string session_id = HeldLogin("dave", "MRQXMZJNONSWG4TF");
  client::HeldSessionTokenSource source(stub_, session_id, std::chrono::seconds(120));
  // The site's refresh tokens live 24 h: 25 h later this one has expired.
  httplib::Client(site_->url())
      .Post("/_fake/clock", R"({"offset_seconds": 90000})", "application/json");
  const auto reason_of_token = [&]() -> std::pair<grpc::StatusCode, std::string> {
    try {
      source.Token();
    } catch (const BrokerError& error) {
      return {error.code(), error.reason()};
    }
    return {grpc::StatusCode::OK, ""};
  };
  EXPECT_EQ(reason_of_token(), std::make_pair(grpc::StatusCode::UNAUTHENTICATED,
                                              std::string("REFRESH_TOKEN_INVALID")));
  EXPECT_EQ(reason_of_token(),
            std::make_pair(grpc::StatusCode::NOT_FOUND, std::string("SESSION_NOT_FOUND")));
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(get_access_token_calls(), 2);
}

TEST_F(HeldSessionTest, EmptySessionIdIsRejected) {
  EXPECT_THROW(client::HeldSessionTokenSource(stub_, ""), std::invalid_argument);
}

TEST_F(HeldSessionTest, AsyncCallersShareOneCallAndNeverWaitForTheBroker) {
  const std::string session_id = HeldLogin("erin", "MVZGS3RNONSWG4TF");
  client::AsyncHeldSessionTokenSource source(KeptUntilExit(stub_), session_id,
                                             std::chrono::seconds(120));
  // The site answers after 1 s: every Token() below returns long before.
  httplib::Client(site_->url())
      .Post("/_fake/faults", R"({"latency_ms": 1000})", "application/json");

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<Answer>> answers;
  for (int i = 0; i < 10; ++i) answers.push_back(AskToken(source));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));

  std::vector<Answer> got;
  for (auto& answer : answers) got.push_back(answer.get());
  for (const Answer& a : got) {
    EXPECT_FALSE(a.reason.has_value()) << *a.reason;
    EXPECT_EQ(a.token, got[0].token);
    EXPECT_NE(a.thread, std::this_thread::get_id());
  }
  EXPECT_EQ(get_access_token_calls(), 1);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(site_->ReadProjects(got[0].token), 200);
}

TEST_F(HeldSessionTest, AsyncCachedTokenAnswersOnTheCallersThreadUntilInvalidated) {
  const std::string session_id = HeldLogin("frank", "MZZGC3TLFVZWKY3S");
  client::AsyncHeldSessionTokenSource source(KeptUntilExit(stub_), session_id,
                                             std::chrono::seconds(60));
  const Answer first = AskToken(source).get();
  ASSERT_FALSE(first.reason.has_value()) << *first.reason;

  const Answer cached = AskToken(source).get();
  EXPECT_EQ(cached.token, first.token);
  EXPECT_EQ(cached.thread, std::this_thread::get_id());
  EXPECT_EQ(get_access_token_calls(), 1);

  source.Invalidate();
  EXPECT_EQ(AskToken(source).get().token, first.token);
  EXPECT_EQ(get_access_token_calls(), 2);
}

TEST_F(HeldSessionTest, AsyncTokenTheSiteRefusedIsRefreshedAtOnce) {
  const std::string session_id = HeldLogin("alice", "JBSWY3DPEHPK3PXP");
  client::AsyncHeldSessionTokenSource source(KeptUntilExit(stub_), session_id,
                                             std::chrono::seconds(60));
  const Answer first = AskToken(source).get();
  ASSERT_FALSE(first.reason.has_value()) << *first.reason;
  source.Invalidate(first.token);
  const Answer fresh = AskToken(source).get();
  ASSERT_FALSE(fresh.reason.has_value()) << *fresh.reason;
  EXPECT_NE(fresh.token, first.token);
  EXPECT_EQ(calls_.Count(kRefreshSession), 1);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  EXPECT_EQ(site_->ReadProjects(fresh.token), 200);
}

TEST_F(HeldSessionTest, AsyncRevokedSessionIsNotFound) {
  const std::string session_id = HeldLogin("grace", "M5ZGCY3FFVZWKY3S");
  client::AsyncHeldSessionTokenSource source(KeptUntilExit(stub_), session_id,
                                             std::chrono::seconds(60));
  ASSERT_FALSE(AskToken(source).get().reason.has_value());

  std::promise<std::optional<std::string>> revoked;
  source.Revoke([&](const client::BrokerError* error) {
    revoked.set_value(error ? std::optional<std::string>(error->reason()) : std::nullopt);
  });
  EXPECT_EQ(revoked.get_future().get(), std::nullopt);

  const Answer after = AskToken(source).get();
  EXPECT_EQ(after.reason, "SESSION_NOT_FOUND");
  EXPECT_EQ(after.token, "");
}

TEST_F(HeldSessionTest, AsyncCallInFlightOutlivesTheSource) {
  const std::string session_id = HeldLogin("heidi", "NBSWSZDJFVZWKY3S");
  std::future<Answer> answer;
  {
    client::AsyncHeldSessionTokenSource source(KeptUntilExit(stub_), session_id,
                                               std::chrono::seconds(60));
    answer = AskToken(source);
  }
  const Answer got = answer.get();
  EXPECT_FALSE(got.reason.has_value()) << *got.reason;
  EXPECT_EQ(site_->ReadProjects(got.token), 200);
}

}  // namespace
}  // namespace credbroker::client_testing
