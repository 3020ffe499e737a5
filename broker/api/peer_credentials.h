// Reads what a gRPC call says about its caller: the authorization metadata
// and the names in a client certificate the TLS handshake verified.
#pragma once

#include <grpcpp/grpcpp.h>

#include "broker/identity/caller_identity.h"

namespace credbroker {

PeerCredentials ReadPeerCredentials(const grpc::CallbackServerContext& context);

}  // namespace credbroker
