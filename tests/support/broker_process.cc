// Each test gets its own broker process, so tests never share state.
#include "broker_process.h"

#include <signal.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "eventually.h"

namespace credbroker::testing {

std::string BrokerConfigYaml(const BrokerOptions& options) {
  return "listen: \"" + options.listen + "\"\n" +
         "default_site: main\n"
         "sites:\n"
         "  - name: main\n"
         "    url: \"" +
         options.site_url + "\"\n" + options.site_extra + "log_level: " + options.log_level + "\n" +
         "server:\n  drain_seconds: " + std::to_string(options.drain_seconds) + "\n" +
         options.server_yaml + options.extra_yaml;
}

BrokerProcess::BrokerProcess(const TempDir& dir, const BrokerOptions& options) {
  const std::string config = dir.Write(options.name + ".yaml", BrokerConfigYaml(options));
  const std::string port_file = dir.File(options.name + ".port");
  stderr_path_ = dir.File(options.name + ".err");
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{BinaryPath("credential-broker"), "--config", config, "--port-file",
                               port_file},
      std::vector<std::string>{}, dir.File(options.name + ".out"), stderr_path_);
  const int port = WaitForPortFile(port_file, *process_);
  if (port == 0) throw std::runtime_error("credential-broker did not start: " + Logs());
  address_ = "127.0.0.1:" + std::to_string(port);
}

std::shared_ptr<grpc::Channel> BrokerProcess::Channel() const {
  return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
}

std::unique_ptr<v1::CredentialBroker::Stub> BrokerProcess::Stub() const {
  return v1::CredentialBroker::NewStub(Channel());
}

std::string BrokerProcess::Logs() const { return ReadFileOrEmpty(stderr_path_); }

bool BrokerProcess::WaitForLogLine(const std::vector<std::string>& parts,
                                   std::chrono::milliseconds timeout) const {
  return Eventually([&] { return LogHasLineWith(Logs(), parts); }, timeout);
}

std::string BrokerProcess::LogsAfterStop() {
  process_->Signal(SIGINT);
  if (process_->Wait(std::chrono::seconds(20)) != 0) {
    throw std::runtime_error("credential-broker did not stop cleanly: " + Logs());
  }
  return Logs();
}

int BrokerProcess::MetricsPort() const {
  const std::string logs = Logs();
  const std::string field = "\"metrics_port\":";
  const std::size_t at = logs.find(field);
  return at == std::string::npos ? 0 : std::atoi(logs.c_str() + at + field.size());
}

bool LogHasLineWith(const std::string& logs, const std::vector<std::string>& parts) {
  std::istringstream lines(logs);
  std::string line;
  while (std::getline(lines, line)) {
    bool all = true;
    for (const std::string& part : parts) all = all && line.find(part) != std::string::npos;
    if (all) return true;
  }
  return false;
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

}  // namespace credbroker::testing
