// credential-broker: reads the configuration, starts the server and stops it
// gracefully. SIGTERM (a rollout): health says NOT_SERVING at once, calls are
// still served for server.drain_seconds while endpoints and balancers catch
// up (a second signal ends the wait), then the broker stops accepting and
// lets in-flight calls finish. SIGINT (Ctrl-C) skips the drain.
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/config/config.h"
#include "broker/server/broker_server.h"
#include "broker/server/process_hardening.h"

namespace {

// Each waiting site call holds a socket: lift the soft descriptor limit so a
// burst of logins is bounded by the hard limit, not the default 1,024.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

bool WritePortFile(const std::string& path, int port) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp);
    out << port << '\n';
    if (!out) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (all of gRPC's locks) would run
  // Abseil's debug-only deadlock detector: a process-wide graph updated under one global lock on
  // every lock and unlock. Release builds of Abseil leave it out; so does the broker.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Before anything secret is read: no core dumps, not dumpable.
  if (absl::Status hardened = credbroker::HardenProcess(); !hardened.ok()) {
    std::cerr << "credential-broker: " << hardened.message() << '\n';
    return 1;
  }
  absl::StatusOr<credbroker::Config> config = credbroker::LoadConfig(argc, argv);
  if (!config.ok()) {
    std::cerr << "credential-broker: " << config.status().message() << '\n';
    return 2;
  }
  // Blocked before any thread starts, so only the waiter below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  RaiseOpenFileLimit();

  // Declared before everything that logs, so it is the last to go and
  // writes every queued line before the process exits.
  credbroker::LogSink log_sink(STDERR_FILENO);
  credbroker::Logger logger(config->log_level, log_sink);
  const credbroker::HardeningState hardening = credbroker::ReadHardeningState();
  logger.Log(credbroker::LogLevel::kInfo, "process_hardening",
             {{"dumpable", hardening.dumpable}, {"core_dumps", !hardening.core_limit_zero}});
  absl::StatusOr<std::unique_ptr<credbroker::BrokerServer>> server =
      credbroker::BrokerServer::Start(*config, logger);
  if (!server.ok()) {
    std::cerr << "credential-broker: " << server.status().message() << '\n';
    return 1;
  }
  const int port = (*server)->port();
  std::string host;
  int configured_port = 0;
  (void)credbroker::SplitHostPort(config->listen, &host, &configured_port);
  logger.Log(credbroker::LogLevel::kInfo, "listening",
             {{"address", absl::StrCat(host, ":", port)},
              {"tls", config->tls.enabled()},
              {"health_port", (*server)->health_port()},
              {"metrics_port", (*server)->metrics_port()},
              {"default_site", config->default_site}});
  // Whoever waits for the port file may read the start lines at once.
  log_sink.Flush();
  if (!config->port_file.empty() && !WritePortFile(config->port_file, port)) {
    std::cerr << "credential-broker: cannot write --port-file " << config->port_file << '\n';
    return 1;
  }

  std::thread waiter([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    (*server)->StopReporting();
    if (signal_number == SIGTERM && config->shutdown_drain > absl::ZeroDuration()) {
      logger.Log(credbroker::LogLevel::kInfo, "draining",
                 {{"signal", signal_number},
                  {"drain_seconds", absl::ToDoubleSeconds(config->shutdown_drain)}});
      const timespec drain = absl::ToTimespec(config->shutdown_drain);
      sigtimedwait(&signals, nullptr, &drain);
    }
    logger.Log(credbroker::LogLevel::kInfo, "shutting_down",
               {{"signal", signal_number},
                {"grace_seconds", absl::ToDoubleSeconds(config->shutdown_grace)}});
    (*server)->Shutdown(config->shutdown_grace);
  });
  (*server)->Wait();
  waiter.join();
  logger.Log(credbroker::LogLevel::kInfo, "stopped");
  return 0;
}
