// The details are a google.rpc.Status on the wire; the broker's proto declares
// the wire-compatible credbroker.v1.RichStatus so no google/rpc protos are needed.
#include "credbroker/error_detail.h"

namespace credbroker::client {

std::optional<v1::ErrorDetail> ErrorDetailOf(const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) return std::nullopt;
  v1::RichStatus rich;
  if (!rich.ParseFromString(status.error_details())) return std::nullopt;
  for (const google::protobuf::Any& any : rich.details()) {
    v1::ErrorDetail detail;
    if (any.UnpackTo(&detail)) return detail;
  }
  return std::nullopt;
}

std::string ReasonOf(const grpc::Status& status) {
  std::optional<v1::ErrorDetail> detail = ErrorDetailOf(status);
  return detail ? detail->reason() : "";
}

}  // namespace credbroker::client
