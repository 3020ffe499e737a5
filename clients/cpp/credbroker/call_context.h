// A grpc::ClientContext for one call to the broker, with its deadline set:
// every call the helpers make is bounded in time.
#pragma once

#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>

namespace credbroker::client::detail {

inline std::unique_ptr<grpc::ClientContext> NewCallContext(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

}  // namespace credbroker::client::detail
