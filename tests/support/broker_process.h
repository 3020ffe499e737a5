// The real credential-broker binary as a process on a port the OS picks,
// configured by a YAML file the test writes, with a gRPC stub to call it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "child_process.h"
#include "credbroker/v1/broker.grpc.pb.h"
#include "temp_dir.h"

namespace credbroker::testing {

struct BrokerOptions {
  // The default site's URL (named "main").
  std::string site_url;
  // Appended to the site entry (indented under it), e.g. "    ca_file: /x\n".
  std::string site_extra;
  // Appended at the top level of the config, e.g. "challenge:\n  max_attempts: 3\n".
  std::string extra_yaml;
  // Appended under `server:`, e.g. "  caller_max_in_flight: 2\n".
  std::string server_yaml;
  // server.drain_seconds: the binary's default is 5 s; a test that stops a
  // broker with SIGTERM waits only when it asks to.
  int drain_seconds = 0;
  std::string listen = "127.0.0.1:0";
  std::string log_level = "info";
  // Names its files in the test's directory, so several brokers can share one.
  std::string name = "broker";
};

class BrokerProcess {
 public:
  BrokerProcess(const TempDir& dir, const BrokerOptions& options);

  // 127.0.0.1:PORT
  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> Channel() const;
  std::unique_ptr<v1::CredentialBroker::Stub> Stub() const;
  // Everything the broker has written to stderr (its JSON logs) so far. Its
  // log writer is a thread of its own, so a line logged during a call may
  // land just after the call's answer: wait for lines with WaitForLogLine.
  std::string Logs() const;
  // Whether a line with every one of `parts` appears within `timeout`.
  bool WaitForLogLine(const std::vector<std::string>& parts,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Stops the broker (SIGINT: it writes every queued line first) and
  // returns all it wrote, for checks of what never appears.
  std::string LogsAfterStop();
  // The port of metrics_listen, from the broker's "listening" log line.
  int MetricsPort() const;
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string address_;
  std::string stderr_path_;
};

// Writes the config the way BrokerProcess does, for tests that start the
// binary themselves (e.g. to check that a bad config stops the start).
std::string BrokerConfigYaml(const BrokerOptions& options);

// Whether one line of `logs` contains every one of `parts` (e.g.
// "\"step\":\"begin_login\"" and "\"reason\":\"INVALID_REQUEST\"").
bool LogHasLineWith(const std::string& logs, const std::vector<std::string>& parts);

// A context whose deadline is `seconds` away.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(int seconds = 20);

}  // namespace credbroker::testing
