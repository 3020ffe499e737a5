// Details are a credbroker.v1.RichStatus, wire-identical to google.rpc.Status.
#include "broker/api/status_mapping.h"

#include "broker/common/errors.h"
#include "credbroker/v1/broker.pb.h"

namespace credbroker {
namespace {

grpc::Status WithDetail(grpc::StatusCode code, const std::string& message,
                        const v1::ErrorDetail& detail) {
  v1::RichStatus rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(message);
  rich.add_details()->PackFrom(detail);
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  v1::ErrorDetail detail;
  const std::optional<Reason> reason = ReasonOf(status);
  if (!reason || *reason == Reason::kSecondFactorRequired) {
    detail.set_reason("INTERNAL");
    return WithDetail(grpc::StatusCode::INTERNAL, "internal error in the credential broker",
                      detail);
  }
  detail.set_reason(std::string(ReasonName(*reason)));
  if (std::optional<int> attempts = AttemptsLeftOf(status)) detail.set_attempts_left(*attempts);
  if (std::optional<absl::Duration> retry = RetryAfterOf(status)) {
    const int64_t millis = absl::ToInt64Milliseconds(*retry);
    detail.mutable_retry_after()->set_seconds(millis / 1000);
    detail.mutable_retry_after()->set_nanos(static_cast<int32_t>(millis % 1000) * 1000000);
  }
  return WithDetail(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                    detail);
}

}  // namespace credbroker
