// The broker's Prometheus metrics: one registry for the process, which every
// part records into whether or not a metrics listener serves it (recording is
// an atomic add on a series found once). Label values come only from bounded
// sets the broker controls (site names from the config, grant types, error
// reasons, gRPC codes and method names): never a username, script name, key
// or token. docs/operations.md lists every series and what to alert on.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace credbroker {

class Metrics {
 public:
  // The process's metrics.
  static Metrics& Get();

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // One call to a ShotGrid site: its grant, and "granted" or the broker
  // reason it ended with.
  void SiteRequest(const std::string& site, absl::string_view grant, absl::string_view outcome,
                   absl::Duration took);
  // A call the broker refused, by its ErrorDetail reason.
  void Refusal(absl::string_view reason);
  // A login refused by a failure budget: "person" or "address".
  void FailureBudgetRefusal(absl::string_view limit);
  void ScriptTokenCacheHit() { script_token_hits_.Increment(); }
  void ScriptTokenCacheMiss() { script_token_misses_.Increment(); }
  void ScriptTokenRenewal() { script_token_renewals_.Increment(); }
  // One operation on the shared store (Redis).
  void StoreOperation(bool ok, absl::Duration took);
  // One operation the memory store refused (full).
  void MemoryStoreError() { memory_store_errors_.Increment(); }
  void SetStoreReachable(bool reachable) { store_reachable_.Set(reachable ? 1 : 0); }
  void SetChallengesHeld(std::size_t held) { challenges_held_.Set(static_cast<double>(held)); }
  // Seconds until a certificate file ("listener", "client_ca") expires.
  void SetCertificateExpiry(const std::string& certificate, absl::Duration left);

  // One RPC method's gRPC server metrics, named as go-grpc-prometheus names
  // them (type: unary, server_stream, client_stream, bidi_stream).
  class Method {
   public:
    Method(Metrics& metrics, std::string service, std::string method, std::string type);
    void Started() { started_->Increment(); }
    void Handled(int grpc_code, absl::Duration took);

   private:
    Metrics& metrics_;
    const std::string service_;
    const std::string method_;
    const std::string type_;
    prometheus::Counter* started_;
    prometheus::Histogram* handling_;
    // One series per gRPC code, made on first use.
    std::array<std::atomic<prometheus::Counter*>, 17> handled_{};
  };

 private:
  Metrics();

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& grpc_started_;
  prometheus::Family<prometheus::Counter>& grpc_handled_;
  prometheus::Family<prometheus::Histogram>& grpc_handling_;
  prometheus::Family<prometheus::Counter>& site_requests_;
  prometheus::Family<prometheus::Histogram>& site_request_duration_;
  prometheus::Family<prometheus::Counter>& refusals_;
  prometheus::Family<prometheus::Counter>& failure_budget_refusals_;
  prometheus::Counter& script_token_hits_;
  prometheus::Counter& script_token_misses_;
  prometheus::Counter& script_token_renewals_;
  prometheus::Family<prometheus::Counter>& store_operations_;
  prometheus::Counter& redis_ok_;
  prometheus::Counter& redis_errors_;
  prometheus::Counter& memory_store_errors_;
  prometheus::Histogram& redis_duration_;
  prometheus::Gauge& store_reachable_;
  prometheus::Gauge& challenges_held_;
  prometheus::Family<prometheus::Gauge>& certificate_expiry_;
};

}  // namespace credbroker
