// BrokerError: the typed exception every credbroker::client helper throws when
// a broker call fails, carrying the ErrorDetail (reason, attempts_left,
// retry_after) the broker put in the status details.
//
// Choice: exceptions rather than a StatusOr-like result. Login and the token
// sources are multi-call flows whose every step can fail; one catch site per
// flow reads better than checking each step, and the token sources hand the
// same failure to every thread that waited on a refresh.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>

namespace credbroker::client {

class BrokerError : public std::runtime_error {
 public:
  // From a failed call. A status without ErrorDetail (e.g. the broker could
  // not be reached) has reason "" and zero attempts_left / retry_after.
  explicit BrokerError(const grpc::Status& status);

  grpc::StatusCode code() const { return code_; }
  // "INVALID_SECOND_FACTOR", "TOO_MANY_ATTEMPTS", ... or "".
  const std::string& reason() const { return reason_; }
  // For INVALID_SECOND_FACTOR: code attempts left on the challenge (0 = gone).
  int attempts_left() const { return attempts_left_; }
  // For TOO_MANY_ATTEMPTS and UPSTREAM_UNAVAILABLE: when to try again (0 = not said).
  std::chrono::milliseconds retry_after() const { return retry_after_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The broker's message for a person (never contains secrets).
  const std::string& message() const { return message_; }

  bool Is(const std::string& reason) const { return reason_ == reason; }
  // Only UNAVAILABLE is safe to retry automatically.
  bool retryable() const { return code_ == grpc::StatusCode::UNAVAILABLE; }

 private:
  grpc::StatusCode code_;
  std::string reason_;
  std::string message_;
  int attempts_left_ = 0;
  std::chrono::milliseconds retry_after_{0};
  std::map<std::string, std::string> metadata_;
};

// Throws BrokerError unless `status` is OK.
void ThrowIfError(const grpc::Status& status);

}  // namespace credbroker::client
