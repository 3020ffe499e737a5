// HeldSessionTokenSource against the real broker: a broker-custody login, ten
// threads sharing one GetAccessToken (one refresh_token grant at the site),
// the cached token and Invalidate(), Revoke() and SESSION_NOT_FOUND after it,
// and a session the site no longer refreshes (REFRESH_TOKEN_INVALID, then
// SESSION_NOT_FOUND).
#include <grpcpp/create_channel.h>
#include <grpcpp/support/client_interceptor.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#include "credbroker/client.h"
#include "test_env.h"

namespace credbroker::client_testing {
namespace {

using client::BrokerError;

constexpr char kGetAccessToken[] = "/credbroker.v1.CredentialBroker/GetAccessToken";

// Counts the GetAccessToken calls a channel sends.
class CountingFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit CountingFactory(std::atomic<int>* count) : count_(count) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    if (std::string(info->method()) == kGetAccessToken) ++*count_;
    return nullptr;
  }

 private:
  std::atomic<int>* count_;
};

class HeldSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Tokens live 100 s: a source asking for 120 s of validity makes the
    // broker refresh, one asking for 60 s does not.
    SiteOptions options;
    options.token_lifetime_seconds = 100;
    site_ = std::make_unique<FakeSite>(dir_, options);
    broker_ = std::make_unique<Broker>(dir_, site_->url());
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
    factories.push_back(std::make_unique<CountingFactory>(&get_access_token_calls_));
    stub_ = v1::CredentialBroker::NewStub(grpc::experimental::CreateCustomChannelWithInterceptors(
        broker_->address(), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
        std::move(factories)));
  }

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

  TempDir dir_;
  std::unique_ptr<FakeSite> site_;
  std::unique_ptr<Broker> broker_;
  std::atomic<int> get_access_token_calls_{0};
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

  EXPECT_EQ(get_access_token_calls_.load(), 1);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  for (const std::string& token : tokens) EXPECT_EQ(token, tokens[0]);
  EXPECT_EQ(site_->ReadProjects(tokens[0]), 200);
}

TEST_F(HeldSessionTest, CachedTokenUntilInvalidated) {
  const std::string session_id = HeldLogin("dave", "MRQXMZJNONSWG4TF");
  client::HeldSessionTokenSource source(stub_, session_id, std::chrono::seconds(60));
  const std::string first = source.Token();
  EXPECT_EQ(source.Token(), first);
  EXPECT_EQ(get_access_token_calls_.load(), 1);

  source.Invalidate();
  // The broker's token still has ~100 s left: the same token, no site refresh.
  EXPECT_EQ(source.Token(), first);
  EXPECT_EQ(get_access_token_calls_.load(), 2);
  EXPECT_EQ(site_->Requests("refresh_token"), 0);
  EXPECT_EQ(site_->ReadProjects(first), 200);
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
  EXPECT_EQ(get_access_token_calls_.load(), 2);
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
  EXPECT_EQ(get_access_token_calls_.load(), 2);
}

TEST_F(HeldSessionTest, EmptySessionIdIsRejected) {
  EXPECT_THROW(client::HeldSessionTokenSource(stub_, ""), std::invalid_argument);
}

}  // namespace
}  // namespace credbroker::client_testing
