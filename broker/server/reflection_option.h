// Server reflection on one gRPC server and not on another. gRPC registers its
// reflection plugin for every ServerBuilder in the process as soon as
// libgrpc++_reflection is loaded (a static initializer, the same thing
// InitProtoReflectionServerBuilderPlugin() does), which would put reflection
// on the plaintext health-only listener too. This option decides per builder.
#pragma once

#include <grpcpp/impl/server_builder_option.h>

#include <memory>

namespace credbroker {

// builder.SetOption(ReflectionOption(enabled)): the builder's server serves
// grpc.reflection.v1alpha exactly when `enabled`.
std::unique_ptr<grpc::ServerBuilderOption> ReflectionOption(bool enabled);

}  // namespace credbroker
