// Series are found (or made) once and kept as pointers, so recording on the
// hot path is one atomic add, never a label lookup under the registry's lock.
#include "broker/telemetry/metrics.h"

#ifndef CREDBROKER_VERSION
#define CREDBROKER_VERSION "dev"
#endif

namespace credbroker {
namespace {

// Prometheus' default buckets, which go-grpc-prometheus uses too.
const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* buckets =
      new prometheus::Histogram::BucketBoundaries{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
  return *buckets;
}

// The spelling go-grpc-prometheus uses (Go's codes.Code names), so existing
// dashboards and alerts match.
constexpr std::array<const char*, 17> kCodeNames = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

}  // namespace

Metrics& Metrics::Get() {
  static Metrics* metrics = new Metrics();  // never destroyed: threads may record at exit
  return *metrics;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      grpc_started_(prometheus::BuildCounter()
                        .Name("grpc_server_started_total")
                        .Help("RPCs started on the server.")
                        .Register(*registry_)),
      grpc_handled_(prometheus::BuildCounter()
                        .Name("grpc_server_handled_total")
                        .Help("RPCs completed on the server, whatever their status.")
                        .Register(*registry_)),
      grpc_handling_(prometheus::BuildHistogram()
                         .Name("grpc_server_handling_seconds")
                         .Help("Time from an RPC's start to its status, in seconds.")
                         .Register(*registry_)),
      site_requests_(prometheus::BuildCounter()
                         .Name("credbroker_site_requests_total")
                         .Help("Token requests to ShotGrid sites, by site, grant and outcome "
                               "(granted, or the broker reason the request ended with).")
                         .Register(*registry_)),
      site_request_duration_(prometheus::BuildHistogram()
                                 .Name("credbroker_site_request_duration_seconds")
                                 .Help("Time a ShotGrid site took to answer, in seconds.")
                                 .Register(*registry_)),
      refusals_(prometheus::BuildCounter()
                    .Name("credbroker_refusals_total")
                    .Help("Calls the broker refused, by ErrorDetail reason.")
                    .Register(*registry_)),
      failure_budget_refusals_(
          prometheus::BuildCounter()
              .Name("credbroker_failure_budget_refusals_total")
              .Help("Logins refused because a failure budget was spent: limit=person (one "
                    "person's rolling window) or limit=address (one client address).")
              .Register(*registry_)),
      script_token_hits_(prometheus::BuildCounter()
                             .Name("credbroker_script_token_cache_hits_total")
                             .Help("Script sessions answered from a cached site token.")
                             .Register(*registry_)
                             .Add({})),
      script_token_misses_(prometheus::BuildCounter()
                               .Name("credbroker_script_token_cache_misses_total")
                               .Help("Script sessions that needed a new token from the site.")
                               .Register(*registry_)
                               .Add({})),
      script_token_renewals_(prometheus::BuildCounter()
                                 .Name("credbroker_script_token_renewals_total")
                                 .Help("Script tokens renewed ahead of their expiry.")
                                 .Register(*registry_)
                                 .Add({})),
      store_operations_(prometheus::BuildCounter()
                            .Name("credbroker_store_operations_total")
                            .Help("Operations on the state store, by store and outcome (ok, "
                                  "error: unreachable, timed out or refused).")
                            .Register(*registry_)),
      redis_ok_(store_operations_.Add({{"store", "redis"}, {"outcome", "ok"}})),
      redis_errors_(store_operations_.Add({{"store", "redis"}, {"outcome", "error"}})),
      memory_store_errors_(store_operations_.Add({{"store", "memory"}, {"outcome", "error"}})),
      redis_duration_(prometheus::BuildHistogram()
                          .Name("credbroker_store_operation_duration_seconds")
                          .Help("Time the shared store took to answer, in seconds.")
                          .Register(*registry_)
                          .Add({{"store", "redis"}},
                               prometheus::Histogram::BucketBoundaries{
                                   .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1})),
      store_reachable_(prometheus::BuildGauge()
                           .Name("credbroker_store_reachable")
                           .Help("1 while the state store answers (readiness follows it), else 0.")
                           .Register(*registry_)
                           .Add({})),
      challenges_held_(prometheus::BuildGauge()
                           .Name("credbroker_challenges_held")
                           .Help("Two-factor challenges open now, across every replica that "
                                 "shares the store.")
                           .Register(*registry_)
                           .Add({})),
      certificate_expiry_(prometheus::BuildGauge()
                              .Name("credbroker_certificate_expiry_seconds")
                              .Help("Seconds until a certificate expires (for a CA bundle, its "
                                    "first to expire); negative once expired.")
                              .Register(*registry_)) {
  store_reachable_.Set(1);
  prometheus::BuildGauge()
      .Name("credbroker_build_info")
      .Help("Always 1; its labels say which broker this is.")
      .Register(*registry_)
      .Add({{"version", CREDBROKER_VERSION}})
      .Set(1);
}

Metrics::Method::Method(Metrics& metrics, std::string service, std::string method, std::string type)
    : metrics_(metrics),
      service_(std::move(service)),
      method_(std::move(method)),
      type_(std::move(type)),
      started_(&metrics.grpc_started_.Add(
          {{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_type", type_}})),
      handling_(&metrics.grpc_handling_.Add(
          {{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_type", type_}},
          DurationBuckets())) {}

void Metrics::Method::Handled(int grpc_code, absl::Duration took) {
  if (grpc_code < 0 || grpc_code >= static_cast<int>(kCodeNames.size())) grpc_code = 2;  // Unknown
  std::atomic<prometheus::Counter*>& slot = handled_[grpc_code];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Add returns the same series to every thread that races here.
    counter = &metrics_.grpc_handled_.Add({{"grpc_service", service_},
                                           {"grpc_method", method_},
                                           {"grpc_type", type_},
                                           {"grpc_code", kCodeNames[grpc_code]}});
    slot.store(counter, std::memory_order_release);
  }
  counter->Increment();
  handling_->Observe(Seconds(took));
}

void Metrics::SiteRequest(const std::string& site, absl::string_view grant,
                          absl::string_view outcome, absl::Duration took) {
  site_requests_
      .Add({{"site", site}, {"grant", std::string(grant)}, {"outcome", std::string(outcome)}})
      .Increment();
  site_request_duration_.Add({{"site", site}, {"grant", std::string(grant)}}, DurationBuckets())
      .Observe(Seconds(took));
}

void Metrics::Refusal(absl::string_view reason) {
  refusals_.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::FailureBudgetRefusal(absl::string_view limit) {
  failure_budget_refusals_.Add({{"limit", std::string(limit)}}).Increment();
}

void Metrics::StoreOperation(bool ok, absl::Duration took) {
  (ok ? redis_ok_ : redis_errors_).Increment();
  redis_duration_.Observe(Seconds(took));
}

void Metrics::SetCertificateExpiry(const std::string& certificate, absl::Duration left) {
  certificate_expiry_.Add({{"certificate", certificate}}).Set(Seconds(left));
}

}  // namespace credbroker
