// A server interceptor that counts every RPC of the API listener into the
// grpc_server_* metrics (started, handled by code, handling time). Installed
// only when metrics are served, so a broker without them pays nothing.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Knows every method of the services the broker serves; any other method
  // name (a client may send any) counts as "unknown", so label values stay
  // a fixed set.
  MetricsInterceptorFactory();

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  // By full name ("/package.Service/Method"); read without a lock.
  absl::flat_hash_map<std::string, std::unique_ptr<Metrics::Method>> methods_;
  Metrics::Method unknown_;
};

}  // namespace credbroker
