// Domain results to credbroker.v1 messages.
#pragma once

#include "absl/time/time.h"
#include "broker/common/session.h"
#include "credbroker/v1/broker.pb.h"

namespace credbroker {

void ToTimestamp(absl::Time time, google::protobuf::Timestamp* out);
void ToProto(const SessionInfo& session, v1::Session* out);
void ToProto(const SessionInfo& session, v1::AccessToken* out);
void ToProto(const LoginOutcome& outcome, v1::LoginResult* out);

}  // namespace credbroker
