// Builds the domain's CallContext from a gRPC call: its request id, the end
// user's address and the caller's deadline.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/strings/string_view.h"
#include "broker/common/call_context.h"
#include "credbroker/v1/broker.pb.h"

namespace credbroker {

// The x-request-id metadata when it is a sane id, else a fresh one.
CallContext MakeCallContext(const grpc::CallbackServerContext& context,
                            const v1::ClientInfo* client);

// "ipv4:10.0.0.7:5123" → "10.0.0.7", "ipv6:[::1]:5123" → "::1".
std::string PeerAddress(absl::string_view peer);

}  // namespace credbroker
