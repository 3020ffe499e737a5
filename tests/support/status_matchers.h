// Assertions on a failed call: the exact gRPC code and ErrorDetail reason.
#pragma once

#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <string>

#include "credbroker/error_detail.h"

namespace credbroker::testing {

inline ::testing::AssertionResult HasCodeAndReason(const grpc::Status& status,
                                                   grpc::StatusCode code,
                                                   const std::string& reason) {
  const std::string got_reason = client::ReasonOf(status);
  if (status.error_code() == code && got_reason == reason) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected code " << code << " reason " << reason << ", got code " << status.error_code()
         << " reason '" << got_reason << "' message '" << status.error_message() << "'";
}

}  // namespace credbroker::testing

#define EXPECT_BROKER_ERROR(status, code, reason) \
  EXPECT_TRUE(::credbroker::testing::HasCodeAndReason((status), grpc::StatusCode::code, (reason)))

namespace credbroker::testing {

inline ::testing::AssertionResult IsOk(const grpc::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "code " << status.error_code() << " reason '" << client::ReasonOf(status)
         << "' message '" << status.error_message() << "'";
}

}  // namespace credbroker::testing

#define ASSERT_GRPC_OK(status) ASSERT_TRUE(::credbroker::testing::IsOk(status))
#define EXPECT_GRPC_OK(status) EXPECT_TRUE(::credbroker::testing::IsOk(status))
