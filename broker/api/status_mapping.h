// The one place where a broker error becomes a gRPC status: the code from the
// error, a message a person can act on, and credbroker.v1.ErrorDetail packed
// the way gRPC's rich error model packs details (grpc-status-details-bin).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace credbroker {

// Errors without a broker reason are internal: they answer INTERNAL with a
// generic message, never the original text.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace credbroker
