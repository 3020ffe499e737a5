// Fault knobs: parallel latency, injected statuses, dropped connections, garbage JSON.
#include <chrono>
#include <thread>

#include "test_support.h"

namespace fake_shotgrid::testing {
namespace {

namespace fx = fixtures;

const Form kScriptLogin = {{"grant_type", "client_credentials"},
                           {"client_id", fx::kIngestBotName},
                           {"client_secret", fx::kIngestBotKey}};

class FaultsTest : public SiteTest {};

TEST_F(FaultsTest, LatencyIsAppliedInParallel) {
  ASSERT_EQ(Control("/_fake/faults", {{"latency_ms", 300}})->status, 200);
  const int kRequests = 20;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&] {
      httplib::Client c("127.0.0.1", site_->port());
      auto r = c.Post("/api/v1/auth/access_token", EncodeForm(kScriptLogin),
                      "application/x-www-form-urlencoded");
      if (r && r->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ok, kRequests);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  auto stats = Stats();
  EXPECT_EQ(stats["requests"]["client_credentials"], kRequests);
  EXPECT_GT(stats["max_in_flight"].get<int>(), 1);
  EXPECT_EQ(stats["in_flight"], 0);
}

TEST_F(FaultsTest, StatusHtmlWithRetryAfterForNTimes) {
  ASSERT_EQ(Control("/_fake/faults", {{"fail",
                                       {{"kind", "status"},
                                        {"status", 503},
                                        {"body", "html"},
                                        {"retry_after", 7},
                                        {"times", 2}}}})
                ->status,
            200);
  for (int i = 0; i < 2; ++i) {
    auto r = Token(kScriptLogin);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->get_header_value("Retry-After"), "7");
    EXPECT_NE(r->body.find("<html>"), std::string::npos);
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  }
  auto r = Token(kScriptLogin);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Counted at arrival, failures included.
  EXPECT_EQ(Stats()["requests"]["client_credentials"], 3);
}

TEST_F(FaultsTest, StatusJsonUntilReset) {
  ASSERT_EQ(
      Control("/_fake/faults", {{"fail", {{"kind", "status"}, {"status", 502}, {"body", "json"}}}})
          ->status,
      200);
  for (int i = 0; i < 3; ++i) {
    auto r = Token(kScriptLogin);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502);
    auto e = Json(r)["errors"][0];
    EXPECT_EQ(e["status"], 502);
    EXPECT_FALSE(r->has_header("Retry-After"));
  }
  // Control and entity routes are never faulted.
  EXPECT_EQ(client_->Get("/_fake/stats")->status, 200);
  client_->Post("/_fake/reset");
  EXPECT_EQ(Token(kScriptLogin)->status, 200);
}

TEST_F(FaultsTest, ResetDropsConnection) {
  ASSERT_EQ(Control("/_fake/faults", {{"fail", {{"kind", "reset"}, {"times", 1}}}})->status, 200);
  auto r = Token(kScriptLogin);
  EXPECT_FALSE(r) << "expected a transport error, got " << (r ? r->status : 0);
  auto again = Token(kScriptLogin);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(FaultsTest, MalformedJson) {
  ASSERT_EQ(
      Control("/_fake/faults", {{"fail", {{"kind", "malformed_json"}, {"times", 1}}}})->status,
      200);
  auto r = Token(kScriptLogin);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THROW(nlohmann::json::parse(r->body), nlohmann::json::parse_error);
  EXPECT_EQ(Token(kScriptLogin)->status, 200);
}

TEST_F(FaultsTest, BadControlInput) {
  auto r = Control("/_fake/faults", {{"fail", {{"kind", "explode"}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = client_->Post("/_fake/settings", "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = Control("/_fake/settings", {{"auth_mode", "kerberos"}});
  EXPECT_EQ(r->status, 400);
}

}  // namespace
}  // namespace fake_shotgrid::testing
