// Builds the real implementations from a Config, wires them together and
// serves: the gRPC service, health and (unless turned off) reflection on one
// listener, and health alone on the optional health-only listener.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>

#include <atomic>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "broker/api/broker_service.h"
#include "broker/api/caller_authorizer.h"
#include "broker/common/directory_watcher.h"
#include "broker/common/scheduler.h"
#include "broker/config/config.h"
#include "broker/crypto/sealer.h"
#include "broker/identity/policy.h"
#include "broker/limits/caller_in_flight.h"
#include "broker/limits/failure_budget.h"
#include "broker/login/login_flow.h"
#include "broker/scripts/keyring.h"
#include "broker/scripts/script_sessions.h"
#include "broker/scripts/token_cache.h"
#include "broker/sessions/caller_sessions.h"
#include "broker/sessions/held_sessions.h"
#include "broker/store/memory_store.h"
#include "broker/store/redis_store.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/curl_loops.h"
#include "broker/upstream/curl_site_client.h"

namespace credbroker {

class BrokerServer {
 public:
  // Fails when the sealing key or the listener cannot be set up.
  static absl::StatusOr<std::unique_ptr<BrokerServer>> Start(const Config& config, Logger& logger);
  ~BrokerServer();

  int port() const { return port_; }
  // The health-only listener's port, 0 when none is configured.
  int health_port() const { return health_port_; }
  // The metrics listener's port, 0 when none is configured.
  int metrics_port() const { return metrics_port_; }
  // Health turns NOT_SERVING on every listener and stays so (readiness no
  // longer follows the store); calls are still served.
  void StopReporting();
  // Stops accepting, lets in-flight calls finish (up to `grace`), then stops
  // the site client. Safe to call from any thread, once.
  void Shutdown(absl::Duration grace);
  // Blocks until Shutdown has completed.
  void Wait();

 private:
  BrokerServer(const Config& config, Logger& logger, Sealer sealer,
               std::unique_ptr<StateStore> store);
  // Loads the keyring and the policy and starts watching them for changes.
  absl::Status StartReloading();
  void OnKeyringChanged();
  void OnPolicyChanged();
  // Readiness follows the store: the service's health is SERVING only while
  // the store is reachable (the process's own health, "", stays SERVING:
  // liveness must not restart a replica because Redis is away).
  void WatchReadiness();
  // Serves /metrics on metrics_listen.
  absl::Status StartMetrics();
  // Keeps the gauges that are read rather than counted up to date: the open
  // challenges, and when the certificates expire (logged when they change).
  void RefreshChallengeCount();
  void WatchCertificates();

  const Config config_;
  Logger& logger_;
  SystemClock clock_;
  Sealer sealer_;
  CurlLoops loops_;
  CurlSiteClient sites_;
  // Memory, or Redis when configured.
  std::unique_ptr<StateStore> store_;
  NameKeys names_;
  FailureBudget budget_;
  CallerInFlight in_flight_;
  LoginFlow login_;
  CallerSessions caller_sessions_;
  HeldSessions held_sessions_;
  SessionTokenExchange exchange_;
  BrowserLogin browser_login_;
  LivePolicy policy_;
  std::unique_ptr<Keyring> keyring_;
  TokenCache token_cache_;
  // Only with a shared store (Redis).
  std::unique_ptr<SharedTokens> shared_tokens_;
  ScriptSessions scripts_;
  CallerAuthorizer authorizer_;
  BrokerService service_;
  std::unique_ptr<DirectoryWatcher> keyring_watcher_;
  std::unique_ptr<DirectoryWatcher> policy_watcher_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  // Every method of the health-only listener but health: UNIMPLEMENTED.
  grpc::CallbackGenericService health_unimplemented_;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  std::unique_ptr<prometheus::Exposer> metrics_exposer_;
  int metrics_port_ = 0;
  // Last expiry seen per certificate file, to log a renewal once.
  absl::flat_hash_map<std::string, absl::Time> certificate_expiry_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  // Declared after everything its tasks use (renewals, lease polls, the
  // readiness watch on the servers), so it stops first.
  ThreadScheduler scheduler_;
};

}  // namespace credbroker
