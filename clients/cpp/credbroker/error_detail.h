// Reads credbroker.v1.ErrorDetail out of a failed call's status details
// (grpc-status-details-bin), where the broker puts the machine-readable reason.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "credbroker/v1/broker.pb.h"

namespace credbroker::client {

// The detail the broker attached, or nullopt for a status without one (for
// example a transport failure that never reached the broker).
std::optional<v1::ErrorDetail> ErrorDetailOf(const grpc::Status& status);

// The reason ("INVALID_SECOND_FACTOR", ...), or "" when there is none.
std::string ReasonOf(const grpc::Status& status);

}  // namespace credbroker::client
