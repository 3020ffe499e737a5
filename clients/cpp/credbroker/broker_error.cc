// BrokerError built from a failed grpc::Status and its ErrorDetail.
#include "credbroker/broker_error.h"

#include <optional>

#include "credbroker/error_detail.h"

namespace credbroker::client {
namespace {

std::string Describe(const grpc::Status& status) {
  std::optional<v1::ErrorDetail> detail = ErrorDetailOf(status);
  std::string text = status.error_message();
  if (detail && !detail->reason().empty()) text += " [" + detail->reason() + "]";
  return text;
}

}  // namespace

BrokerError::BrokerError(const grpc::Status& status)
    : std::runtime_error(Describe(status)),
      code_(status.error_code()),
      message_(status.error_message()) {
  if (std::optional<v1::ErrorDetail> detail = ErrorDetailOf(status)) {
    reason_ = detail->reason();
    attempts_left_ = detail->attempts_left();
    retry_after_ = std::chrono::milliseconds(detail->retry_after().seconds() * 1000 +
                                             detail->retry_after().nanos() / 1000000);
    metadata_.insert(detail->metadata().begin(), detail->metadata().end());
  }
}

void ThrowIfError(const grpc::Status& status) {
  if (!status.ok()) throw BrokerError(status);
}

}  // namespace credbroker::client
