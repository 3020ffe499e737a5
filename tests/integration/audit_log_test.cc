// The audit trail under load: every call answered writes exactly one audit
// line, whole and parseable, even though lines are written by the broker's
// log thread in batches; and audit lines are written whatever log_level says.
#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

using AuditLogTest = BrokerTest;

// The audit lines in `logs`, parsed; fails the test on a line that is not
// one JSON object.
std::vector<nlohmann::json> AuditLines(const std::string& logs) {
  std::vector<nlohmann::json> lines;
  std::istringstream stream(logs);
  std::string line;
  while (std::getline(stream, line)) {
    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(parsed.is_object()) << "not a JSON line: " << line;
    if (parsed.is_object() && parsed.value("event", "") == "audit") lines.push_back(parsed);
  }
  return lines;
}

TEST_F(AuditLogTest, EveryCallOfAConcurrentLoadWritesExactlyOneLine) {
  Start();
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 300;
  std::atomic<int> issued{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = broker_->Stub();
      for (int i = 0; i < kCallsPerThread; ++i) {
        // One call in ten with a wrong key: refusals are audited too.
        const bool wrong = (i + t) % 10 == 0;
        v1::IssueScriptSessionRequest request;
        request.set_script_name(fixtures::kIngestBotName);
        request.set_script_key(wrong ? "not-the-key-8812" : fixtures::kIngestBotKey);
        v1::Session session;
        const grpc::Status status =
            stub->IssueScriptSession(ContextWithDeadline().get(), request, &session);
        (status.ok() ? issued : refused)++;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(issued + refused, kThreads * kCallsPerThread);
  ASSERT_GT(refused, 0);

  const std::vector<nlohmann::json> lines = AuditLines(broker_->LogsAfterStop());
  int sessions = 0;
  int refusals = 0;
  for (const nlohmann::json& line : lines) {
    EXPECT_EQ(line.value("step", ""), "issue_script_session");
    if (line.value("outcome", "") == "session") ++sessions;
    if (line.value("outcome", "") == "refused") {
      ++refusals;
      EXPECT_EQ(line.value("reason", ""), "INVALID_SCRIPT_KEY");
    }
  }
  EXPECT_EQ(sessions, issued.load());
  EXPECT_EQ(refusals, refused.load());
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kCallsPerThread));
}

TEST_F(AuditLogTest, AuditLinesAreWrittenAtEveryLogLevel) {
  BrokerOptions options;
  options.log_level = "error";
  Start({}, options);
  v1::LoginResult result;
  ASSERT_GRPC_OK(BeginLogin(fixtures::kAlice.login, fixtures::kAlice.password, &result));
  const std::vector<nlohmann::json> lines = AuditLines(broker_->LogsAfterStop());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value("step", ""), "begin_login");
  EXPECT_EQ(lines[0].value("outcome", ""), "challenge");
  EXPECT_EQ(lines[0].value("level", ""), "info");
}

}  // namespace
}  // namespace credbroker::testing
