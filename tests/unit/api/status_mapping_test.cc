// ToGrpcStatus: the code and message of a broker error, and its ErrorDetail
// packed in a RichStatus in error_details(), readable by standard tooling as a
// google.rpc.Status.
#include "broker/api/status_mapping.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>

#include <memory>
#include <string>

#include "broker/common/errors.h"
#include "credbroker/v1/broker.pb.h"
#include "gtest/gtest.h"

namespace credbroker {
namespace {

// Unpacks the single ErrorDetail from the status details.
v1::ErrorDetail DetailOf(const grpc::Status& status) {
  v1::RichStatus rich;
  EXPECT_TRUE(rich.ParseFromString(status.error_details()));
  EXPECT_EQ(rich.code(), static_cast<int>(status.error_code()));
  EXPECT_EQ(rich.message(), status.error_message());
  EXPECT_EQ(rich.details_size(), 1);
  v1::ErrorDetail detail;
  if (rich.details_size() >= 1) {
    EXPECT_EQ(rich.details(0).type_url(), "type.googleapis.com/credbroker.v1.ErrorDetail");
    EXPECT_TRUE(rich.details(0).UnpackTo(&detail));
  }
  return detail;
}

TEST(ToGrpcStatusTest, OkIsOk) {
  const grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_TRUE(status.error_details().empty());
}

TEST(ToGrpcStatusTest, CodeMessageAndReason) {
  const grpc::Status status =
      ToGrpcStatus(BrokerError(Reason::kUnknownSite, "no ShotGrid site named 'x' is configured"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no ShotGrid site named 'x' is configured");
  const v1::ErrorDetail detail = DetailOf(status);
  EXPECT_EQ(detail.reason(), "UNKNOWN_SITE");
  EXPECT_EQ(detail.attempts_left(), 0);
  EXPECT_FALSE(detail.has_retry_after());
}

TEST(ToGrpcStatusTest, AttemptsLeftRoundTrips) {
  const grpc::Status status =
      ToGrpcStatus(WithAttemptsLeft(BrokerError(Reason::kInvalidSecondFactor, "wrong code"), 3));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const v1::ErrorDetail detail = DetailOf(status);
  EXPECT_EQ(detail.reason(), "INVALID_SECOND_FACTOR");
  EXPECT_EQ(detail.attempts_left(), 3);
}

TEST(ToGrpcStatusTest, RetryAfterRoundTrips) {
  const grpc::Status status = ToGrpcStatus(
      WithRetryAfter(BrokerError(Reason::kTooManyAttempts, "too many"), absl::Seconds(7)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const v1::ErrorDetail detail = DetailOf(status);
  EXPECT_EQ(detail.reason(), "TOO_MANY_ATTEMPTS");
  ASSERT_TRUE(detail.has_retry_after());
  EXPECT_EQ(detail.retry_after().seconds(), 7);
  EXPECT_EQ(detail.retry_after().nanos(), 0);
}

TEST(ToGrpcStatusTest, RetryAfterKeepsMilliseconds) {
  const grpc::Status status = ToGrpcStatus(
      WithRetryAfter(BrokerError(Reason::kUpstreamUnavailable, "busy"), absl::Milliseconds(1500)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const v1::ErrorDetail detail = DetailOf(status);
  EXPECT_EQ(detail.reason(), "UPSTREAM_UNAVAILABLE");
  EXPECT_EQ(detail.retry_after().seconds(), 1);
  EXPECT_EQ(detail.retry_after().nanos(), 500'000'000);
}

TEST(ToGrpcStatusTest, EveryPublicReasonKeepsItsCode) {
  const struct {
    Reason reason;
    grpc::StatusCode code;
    const char* name;
  } rows[] = {
      {Reason::kInvalidRequest, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST"},
      {Reason::kUnknownSite, grpc::StatusCode::NOT_FOUND, "UNKNOWN_SITE"},
      {Reason::kInvalidCredentials, grpc::StatusCode::UNAUTHENTICATED, "INVALID_CREDENTIALS"},
      {Reason::kInvalidSecondFactor, grpc::StatusCode::UNAUTHENTICATED, "INVALID_SECOND_FACTOR"},
      {Reason::kChallengeNotFound, grpc::StatusCode::FAILED_PRECONDITION, "CHALLENGE_NOT_FOUND"},
      {Reason::kChallengeBusy, grpc::StatusCode::ABORTED, "CHALLENGE_BUSY"},
      {Reason::kSsoRequired, grpc::StatusCode::FAILED_PRECONDITION, "SSO_REQUIRED"},
      {Reason::kRefreshTokenInvalid, grpc::StatusCode::UNAUTHENTICATED, "REFRESH_TOKEN_INVALID"},
      {Reason::kSessionNotFound, grpc::StatusCode::NOT_FOUND, "SESSION_NOT_FOUND"},
      {Reason::kInvalidScriptKey, grpc::StatusCode::UNAUTHENTICATED, "INVALID_SCRIPT_KEY"},
      {Reason::kCallerUnauthenticated, grpc::StatusCode::UNAUTHENTICATED, "CALLER_UNAUTHENTICATED"},
      {Reason::kCallerNotAllowed, grpc::StatusCode::PERMISSION_DENIED, "CALLER_NOT_ALLOWED"},
      {Reason::kTooManyAttempts, grpc::StatusCode::RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS"},
      {Reason::kUpstreamUnavailable, grpc::StatusCode::UNAVAILABLE, "UPSTREAM_UNAVAILABLE"},
      {Reason::kUpstreamProtocolError, grpc::StatusCode::UNAVAILABLE, "UPSTREAM_PROTOCOL_ERROR"},
      {Reason::kStoreUnavailable, grpc::StatusCode::UNAVAILABLE, "STORE_UNAVAILABLE"},
      {Reason::kNotImplemented, grpc::StatusCode::UNIMPLEMENTED, "NOT_IMPLEMENTED"},
  };
  for (const auto& row : rows) {
    const grpc::Status status = ToGrpcStatus(BrokerError(row.reason, "m"));
    EXPECT_EQ(status.error_code(), row.code) << row.name;
    EXPECT_EQ(DetailOf(status).reason(), row.name);
  }
}

TEST(ToGrpcStatusTest, StatusWithoutReasonIsInternalAndGeneric) {
  const std::string secret_internals = "redis at 10.1.2.3:6379 said NOAUTH; key challenge/abc";
  const grpc::Status status = ToGrpcStatus(absl::UnavailableError(secret_internals));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message().find("redis"), std::string::npos) << status.error_message();
  EXPECT_EQ(status.error_message().find("10.1.2.3"), std::string::npos);
  EXPECT_FALSE(status.error_message().empty());
  EXPECT_EQ(status.error_details().find("redis"), std::string::npos);
  EXPECT_EQ(DetailOf(status).reason(), "INTERNAL");
}

TEST(ToGrpcStatusTest, InternalOnlyReasonNeverReachesCallers) {
  const grpc::Status status = ToGrpcStatus(
      BrokerError(Reason::kSecondFactorRequired, "the site asks for a two-factor code"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(DetailOf(status).reason(), "INTERNAL");
  EXPECT_EQ(status.error_message().find("two-factor"), std::string::npos);
}

// The Debian packages ship no generated google/rpc/status.pb.h. Build the
// google.rpc.Status descriptor from its definition at run time and parse the
// details with it, as any standard tool holding the real one would.
TEST(ToGrpcStatusTest, DetailsParseAsGoogleRpcStatus) {
  namespace pb = google::protobuf;
  pb::DescriptorPool pool;
  pb::FileDescriptorProto any_file;
  pb::Any::descriptor()->file()->CopyTo(&any_file);
  ASSERT_NE(pool.BuildFile(any_file), nullptr);

  pb::FileDescriptorProto status_file;
  status_file.set_name("google/rpc/status.proto");
  status_file.set_package("google.rpc");
  status_file.set_syntax("proto3");
  status_file.add_dependency("google/protobuf/any.proto");
  pb::DescriptorProto* message = status_file.add_message_type();
  message->set_name("Status");
  auto add_field = [&](const char* name, int number, pb::FieldDescriptorProto::Type type,
                       pb::FieldDescriptorProto::Label label, const char* type_name) {
    pb::FieldDescriptorProto* field = message->add_field();
    field->set_name(name);
    field->set_number(number);
    field->set_type(type);
    field->set_label(label);
    if (type_name != nullptr) field->set_type_name(type_name);
  };
  add_field("code", 1, pb::FieldDescriptorProto::TYPE_INT32,
            pb::FieldDescriptorProto::LABEL_OPTIONAL, nullptr);
  add_field("message", 2, pb::FieldDescriptorProto::TYPE_STRING,
            pb::FieldDescriptorProto::LABEL_OPTIONAL, nullptr);
  add_field("details", 3, pb::FieldDescriptorProto::TYPE_MESSAGE,
            pb::FieldDescriptorProto::LABEL_REPEATED, ".google.protobuf.Any");
  ASSERT_NE(pool.BuildFile(status_file), nullptr);
  const pb::Descriptor* descriptor = pool.FindMessageTypeByName("google.rpc.Status");
  ASSERT_NE(descriptor, nullptr);

  const grpc::Status status = ToGrpcStatus(WithAttemptsLeft(
      BrokerError(Reason::kInvalidSecondFactor, "the two-factor code is wrong"), 2));

  pb::DynamicMessageFactory factory(&pool);
  std::unique_ptr<pb::Message> rpc_status(factory.GetPrototype(descriptor)->New());
  ASSERT_TRUE(rpc_status->ParseFromString(status.error_details()));
  const pb::Reflection* reflection = rpc_status->GetReflection();
  EXPECT_EQ(reflection->GetInt32(*rpc_status, descriptor->FindFieldByName("code")),
            static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(reflection->GetString(*rpc_status, descriptor->FindFieldByName("message")),
            "the two-factor code is wrong");
  const pb::FieldDescriptor* details = descriptor->FindFieldByName("details");
  ASSERT_EQ(reflection->FieldSize(*rpc_status, details), 1);
  // The Any's bytes are an ErrorDetail under the standard type URL.
  pb::Any any;
  ASSERT_TRUE(any.ParseFromString(
      reflection->GetRepeatedMessage(*rpc_status, details, 0).SerializeAsString()));
  EXPECT_EQ(any.type_url(), "type.googleapis.com/credbroker.v1.ErrorDetail");
  v1::ErrorDetail detail;
  ASSERT_TRUE(detail.ParseFromString(any.value()));
  EXPECT_EQ(detail.reason(), "INVALID_SECOND_FACTOR");
  EXPECT_EQ(detail.attempts_left(), 2);
}

}  // namespace
}  // namespace credbroker
