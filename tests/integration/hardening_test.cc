// The broker process keeps its secrets out of dumps: no core files and not
// dumpable, checked from outside through /proc and from its start-up log.
#include <fstream>
#include <sstream>

#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

using HardeningTest = BrokerTest;

std::string ReadProc(int pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(HardeningTest, NoCoreDumpsAndNotDumpable) {
  Start();
  const std::string limits = ReadProc(broker_->process().pid(), "limits");
  std::istringstream lines(limits);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    if (line.rfind("Max core file size", 0) != 0) continue;
    found = true;
    std::istringstream fields(line.substr(std::string("Max core file size").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    EXPECT_EQ(soft, "0") << line;
    EXPECT_EQ(hard, "0") << line;
  }
  EXPECT_TRUE(found) << limits;
  EXPECT_TRUE(broker_->WaitForLogLine(
      {"\"event\":\"process_hardening\"", "\"dumpable\":false", "\"core_dumps\":false"}))
      << broker_->Logs();
}

TEST_F(HardeningTest, SealKeysAreNamedByIdOnly) {
  BrokerOptions options;
  const std::string key = "c2VhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXM=";  // 32 bytes, base64
  options.extra_yaml = "seal_key_file: \"" + dir_.Write("seal.key", key + "\n") + "\"\n";
  Start({}, options);
  const std::string logs = broker_->Logs();
  EXPECT_TRUE(LogHasLineWith(logs, {"\"event\":\"seal_keys\"", "\"active_key_id\":"})) << logs;
  EXPECT_EQ(logs.find(key), std::string::npos);
  EXPECT_EQ(logs.find("seal-key-for-tests"), std::string::npos);
}

}  // namespace
}  // namespace credbroker::testing
