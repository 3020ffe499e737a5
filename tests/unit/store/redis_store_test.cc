// RedisStore: the store conformance suite against a real redis-server, then
// what only a networked store has to get right: key prefixes, AUTH and SELECT,
// answering STORE_UNAVAILABLE quickly while Redis is down or hung, and serving
// again when it is back. Each test binary starts its own redis-server on a
// free loopback port. No gRPC, so it also runs under TSan.
#include "broker/store/redis_store.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/common/errors.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/unit/store/store_conformance.h"

namespace credbroker {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::Answer;
using testing::RedisServer;

// One redis-server for the whole conformance suite; each test gets a store of
// its own with a key prefix of its own, so tests never see each other's keys.
class RedisStoreEnv {
 public:
  // Every round makes 32 round trips to Redis; fewer rounds keep it quick.
  static constexpr int kConcurrencyRounds = 50;

  static void SetUpTestSuite() {
    if (!RedisServer::FindBinary()) return;
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    if (!server.ok()) {
      start_error_ = new std::string(server.status().ToString());
      return;
    }
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::optional<std::string> SkipReason() {
    if (!RedisServer::FindBinary()) return "redis-server is not installed";
    // A server that is installed but does not start is a failure, not a skip.
    EXPECT_EQ(start_error_, nullptr) << *start_error_;
    return std::nullopt;
  }

  RedisStoreEnv() {
    static std::atomic<int> next{0};
    RedisStoreSettings settings;
    settings.address = server_ != nullptr ? server_->address() : "127.0.0.1:1";
    settings.key_prefix = absl::StrCat("conformance:", next.fetch_add(1), ":");
    // Generous: 16 threads share two cores with other builds.
    settings.command_timeout = absl::Seconds(5);
    store_ = RedisStore::Create(std::move(settings), clock_).value();
  }

  StateStore& store() { return *store_; }
  const Clock& clock() { return clock_; }
  // Redis expires keys on its own clock: wait it out, with a little room for
  // millisecond rounding.
  void Pass(absl::Duration d) { absl::SleepFor(d + absl::Milliseconds(20)); }

 private:
  static inline RedisServer* server_ = nullptr;
  static inline std::string* start_error_ = nullptr;
  SystemClock clock_;
  std::unique_ptr<RedisStore> store_;
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, StoreConformanceTest, ::testing::Types<RedisStoreEnv>);
}  // namespace testing

namespace {

constexpr absl::Duration kCommandTimeout = absl::Milliseconds(300);
// How late an answer may be beyond its timeout on a busy machine.
constexpr auto kMargin = milliseconds(250);

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::FindBinary()) GTEST_SKIP() << "redis-server is not installed";
  }

  void StartServer(const std::optional<std::string>& password = std::nullopt) {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(password);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  RedisStoreSettings Settings() const {
    RedisStoreSettings settings;
    settings.address = server_->address();
    settings.command_timeout = kCommandTimeout;
    settings.connect_timeout = absl::Milliseconds(300);
    return settings;
  }

  std::unique_ptr<RedisStore> NewStore(RedisStoreSettings settings) {
    absl::StatusOr<std::unique_ptr<RedisStore>> store =
        RedisStore::Create(std::move(settings), clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Polls the store's readiness while a server comes up.
  static bool WaitConnected(const RedisStore& store, bool want = true) {
    const auto deadline = steady_clock::now() + std::chrono::seconds(10);
    while (store.connected() != want) {
      if (steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
  }

  static absl::Status Put(StateStore& store, const std::string& key, const std::string& value) {
    Answer<absl::Status> answer;
    store.Put(key, value, absl::Seconds(60), answer.Callback());
    return answer.Wait();
  }
  static absl::StatusOr<std::optional<std::string>> Get(StateStore& store, const std::string& key) {
    Answer<absl::StatusOr<std::optional<std::string>>> answer;
    store.Get(key, answer.Callback());
    return answer.Wait();
  }

  static void ExpectStoreUnavailable(const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_TRUE(HasReason(status, Reason::kStoreUnavailable)) << status;
  }

  // Runs a direct command on the server and answers its string or integer.
  std::string Direct(const std::string& command) {
    RedisServer::Connection c = server_->Connect();
    if (!c || c->err != 0) return "<no connection>";
    redisReply* reply = static_cast<redisReply*>(redisCommand(c.get(), command.c_str()));
    if (reply == nullptr) return "<no reply>";
    std::string out;
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS ||
        reply->type == REDIS_REPLY_ERROR) {
      out.assign(reply->str, reply->len);
    } else if (reply->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(reply->integer);
    } else if (reply->type == REDIS_REPLY_NIL) {
      out = "<nil>";
    }
    freeReplyObject(reply);
    return out;
  }

  SystemClock clock_;
  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisStoreTest, RejectsMalformedSettings) {
  for (const char* address : {"", "localhost", ":6379", "localhost:", "localhost:http",
                              "localhost:0", "localhost:65536", "[]:6379"}) {
    RedisStoreSettings settings;
    settings.address = address;
    EXPECT_EQ(RedisStore::Create(settings, clock_).status().code(),
              absl::StatusCode::kInvalidArgument)
        << address;
  }
  RedisStoreSettings settings;
  settings.address = "127.0.0.1:6379";
  settings.command_timeout = absl::ZeroDuration();
  EXPECT_EQ(RedisStore::Create(settings, clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
  settings.command_timeout = absl::Seconds(1);
  settings.database = -1;
  EXPECT_EQ(RedisStore::Create(settings, clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
  settings.database = 0;
  settings.ping_interval = absl::ZeroDuration();
  EXPECT_EQ(RedisStore::Create(settings, clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
  settings.ping_interval = absl::Seconds(1);
  settings.address = "[::1]:6379";
  EXPECT_TRUE(RedisStore::Create(settings, clock_).ok());
}

TEST_F(RedisStoreTest, EveryKeyCarriesThePrefix) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RedisStoreSettings settings = Settings();
  settings.key_prefix = "team-a:";
  std::unique_ptr<RedisStore> store = NewStore(settings);
  ASSERT_TRUE(Put(*store, "k", "v").ok());
  Answer<absl::StatusOr<WindowState>> reserved;
  store->ReserveInWindow("w", "m", 1, absl::Seconds(60), false, reserved.Callback());
  ASSERT_TRUE(reserved.Wait().ok());

  EXPECT_EQ(Direct("GET team-a:k"), "v");
  EXPECT_EQ(Direct("EXISTS k"), "0");
  EXPECT_EQ(Direct("TYPE team-a:w"), "zset");
  EXPECT_EQ(Direct("EXISTS w"), "0");
  // The window's key expires with its last member.
  const int pttl = std::stoi(Direct("PTTL team-a:w"));
  EXPECT_GT(pttl, 50'000);
  EXPECT_LE(pttl, 60'000);
}

TEST_F(RedisStoreTest, SelectsTheDatabase) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RedisStoreSettings settings = Settings();
  settings.database = 3;
  std::unique_ptr<RedisStore> store = NewStore(settings);
  ASSERT_TRUE(Put(*store, "k", "in-3").ok());
  EXPECT_EQ(Direct("EXISTS credbroker:k"), "0");
  RedisServer::Connection c = server_->Connect();
  ASSERT_TRUE(c && c->err == 0);
  freeReplyObject(redisCommand(c.get(), "SELECT 3"));
  redisReply* reply = static_cast<redisReply*>(redisCommand(c.get(), "GET credbroker:k"));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(std::string(reply->str, reply->len), "in-3");
  freeReplyObject(reply);
}

TEST_F(RedisStoreTest, AuthenticatesWithThePasswordFromItsFile) {
  ASSERT_NO_FATAL_FAILURE(StartServer("s3cret-for-tests"));
  std::ifstream file(server_->password_file());
  std::stringstream password;
  password << file.rdbuf();
  RedisStoreSettings settings = Settings();
  settings.password = password.str();
  std::unique_ptr<RedisStore> store = NewStore(settings);
  EXPECT_TRUE(Put(*store, "k", "v").ok());
  EXPECT_EQ(Get(*store, "k").value(), "v");
  EXPECT_TRUE(store->connected());
}

TEST_F(RedisStoreTest, WrongOrMissingPasswordIsStoreUnavailable) {
  ASSERT_NO_FATAL_FAILURE(StartServer("s3cret-for-tests"));
  RedisStoreSettings wrong = Settings();
  wrong.password = "not-the-password";
  for (const RedisStoreSettings& settings : {wrong, Settings()}) {
    std::unique_ptr<RedisStore> store = NewStore(settings);
    const auto start = steady_clock::now();
    ExpectStoreUnavailable(Put(*store, "k", "v"));
    EXPECT_LT(steady_clock::now() - start, absl::ToChronoMilliseconds(kCommandTimeout) + kMargin);
    EXPECT_FALSE(store->connected());
  }
  EXPECT_EQ(Direct("EXISTS credbroker:k"), "0");
}

TEST_F(RedisStoreTest, UnreachableRedisIsStoreUnavailableWithinTheTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RedisStoreSettings settings = Settings();
  server_.reset();  // nothing listens on the port any more
  std::unique_ptr<RedisStore> store = NewStore(settings);
  for (int i = 0; i < 3; ++i) {
    const auto start = steady_clock::now();
    ExpectStoreUnavailable(Get(*store, "k").status());
    EXPECT_LT(steady_clock::now() - start, absl::ToChronoMilliseconds(kCommandTimeout) + kMargin);
  }
  EXPECT_FALSE(store->connected());
}

TEST_F(RedisStoreTest, KilledRedisIsStoreUnavailableThenTheSameStoreServesWhenItIsBack) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::unique_ptr<RedisStore> store = NewStore(Settings());
  ASSERT_TRUE(Put(*store, "k", "v").ok());
  ASSERT_TRUE(store->connected());

  server_->Kill();
  for (int i = 0; i < 3; ++i) {
    const auto start = steady_clock::now();
    ExpectStoreUnavailable(Get(*store, "k").status());
    EXPECT_LT(steady_clock::now() - start, absl::ToChronoMilliseconds(kCommandTimeout) + kMargin);
  }
  ASSERT_TRUE(WaitConnected(*store, false));

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitConnected(*store));
  // The server kept nothing (no persistence); the store serves again.
  EXPECT_EQ(Get(*store, "k").value(), std::nullopt);
  EXPECT_TRUE(Put(*store, "k", "again").ok());
  EXPECT_EQ(Get(*store, "k").value(), "again");
}

TEST_F(RedisStoreTest, HungRedisFailsCommandsAfterTheTimeoutThenServesAgain) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::unique_ptr<RedisStore> store = NewStore(Settings());
  ASSERT_TRUE(Put(*store, "k", "v").ok());

  server_->Pause();
  const auto start = steady_clock::now();
  ExpectStoreUnavailable(Get(*store, "k").status());
  const auto elapsed = steady_clock::now() - start;
  EXPECT_GE(elapsed, absl::ToChronoMilliseconds(kCommandTimeout));
  EXPECT_LT(elapsed, absl::ToChronoMilliseconds(kCommandTimeout) + kMargin);
  // Whatever the connection state, the next call is answered in time too.
  const auto again = steady_clock::now();
  ExpectStoreUnavailable(Get(*store, "k").status());
  EXPECT_LT(steady_clock::now() - again, absl::ToChronoMilliseconds(kCommandTimeout) + kMargin);

  server_->Resume();
  ASSERT_TRUE(WaitConnected(*store));
  EXPECT_EQ(Get(*store, "k").value(), "v");
}

// Something on the Redis port that is not Redis: answers each read with the
// next canned answer, and sends bytes unasked when the test says so.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> answers) : answers_(std::move(answers)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 8), 0);
    EXPECT_EQ(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    // Wakes the blocked accept or read.
    shutdown(listen_fd_, SHUT_RDWR);
    const int client = client_fd_.load();
    if (client >= 0) shutdown(client, SHUT_RDWR);
    thread_.join();
    if (client >= 0) close(client);
    close(listen_fd_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  void SendUnasked(const std::string& bytes) {
    const int client = client_fd_.load();
    ASSERT_GE(client, 0);
    ASSERT_EQ(send(client, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

 private:
  void Serve() {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    client_fd_.store(client);
    char buffer[4096];
    for (const std::string& answer : answers_) {
      if (read(client, buffer, sizeof(buffer)) <= 0) return;
      if (send(client, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) return;
    }
    while (read(client, buffer, sizeof(buffer)) > 0) {
    }
  }

  const std::vector<std::string> answers_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> client_fd_{-1};
  std::thread thread_;
};

TEST_F(RedisStoreTest, AnswersThatAreNotRedisAreStoreUnavailableNeverACrash) {
  // PONG to the handshake, then an integer for a GET, then silence.
  ScriptedServer impostor({"+PONG\r\n", ":42\r\n"});
  RedisStoreSettings settings;
  settings.address = impostor.address();
  settings.command_timeout = kCommandTimeout;
  settings.ping_interval = absl::Seconds(60);  // no PING to take the canned answers
  std::unique_ptr<RedisStore> store = NewStore(settings);
  ASSERT_TRUE(WaitConnected(*store));
  ExpectStoreUnavailable(Get(*store, "k").status());
  // hiredis 0.14 would abort on an unasked reply; the store drops the
  // connection before hiredis sees it.
  impostor.SendUnasked("+SURPRISE\r\n");
  ASSERT_TRUE(WaitConnected(*store, false));
  ExpectStoreUnavailable(Get(*store, "k").status());
}

TEST_F(RedisStoreTest, AnIdleStoreNoticesAHungRedisAndItsReturn) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RedisStoreSettings settings = Settings();
  settings.ping_interval = absl::Milliseconds(100);
  std::unique_ptr<RedisStore> store = NewStore(settings);
  ASSERT_TRUE(WaitConnected(*store));
  // No call is made: readiness alone follows Redis.
  server_->Pause();
  EXPECT_TRUE(WaitConnected(*store, false));
  server_->Resume();
  EXPECT_TRUE(WaitConnected(*store));
}

TEST_F(RedisStoreTest, DestroyingTheStoreAnswersEveryPendingCall) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RedisStoreSettings settings = Settings();
  settings.command_timeout = absl::Seconds(30);
  std::unique_ptr<RedisStore> store = NewStore(settings);
  ASSERT_TRUE(Put(*store, "k", "v").ok());
  server_->Pause();
  Answer<absl::StatusOr<std::optional<std::string>>> pending;
  store->Get("k", pending.Callback());
  store.reset();
  ExpectStoreUnavailable(pending.Wait().status());
  server_->Resume();
}

}  // namespace
}  // namespace credbroker
