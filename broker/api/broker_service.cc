// Handlers stay thin: validate (its own tested function), call the domain,
// convert the status in ToGrpcStatus. A catch-all answers INTERNAL without
// the exception's text.
#include "broker/api/broker_service.h"

#include <exception>

#include "broker/api/call_context_factory.h"
#include "broker/api/proto_conversion.h"
#include "broker/api/status_mapping.h"
#include "broker/api/validation.h"
#include "broker/common/errors.h"

namespace credbroker {
namespace {

// Runs `body` and makes sure the call is finished even if it throws.
template <typename Body>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, Logger& logger,
                                const char* method, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  try {
    body(reactor);
  } catch (const std::exception&) {
    logger.Log(LogLevel::kError, "handler_exception", {{"method", method}});
    reactor->Finish(ToGrpcStatus(absl::InternalError("")));
  }
  return reactor;
}

absl::Status NotImplemented(absl::string_view what) {
  return BrokerError(Reason::kNotImplemented,
                     std::string(what) + " is not available in this version of the broker");
}

}  // namespace

BrokerService::BrokerService(LoginFlow& login, CallerSessions& caller_sessions,
                             ScriptSessions& scripts, Logger& logger)
    : login_(login), caller_sessions_(caller_sessions), scripts_(scripts), logger_(logger) {}

grpc::ServerUnaryReactor* BrokerService::BeginLogin(grpc::CallbackServerContext* context,
                                                    const v1::BeginLoginRequest* request,
                                                    v1::LoginResult* response) {
  return Serve(context, logger_, "BeginLogin", [&](grpc::ServerUnaryReactor* reactor) {
    absl::Status valid = ValidateBeginLogin(*request);
    if (valid.ok() && request->custody() == v1::TOKEN_CUSTODY_BROKER) {
      valid = NotImplemented("broker custody (TOKEN_CUSTODY_BROKER)");
    }
    if (!valid.ok()) return reactor->Finish(ToGrpcStatus(valid));
    BeginLoginParams params{request->site(), request->username(), request->password(),
                            request->second_factor_code()};
    login_.BeginLogin(
        std::move(params),
        MakeCallContext(*context, request->has_client() ? &request->client() : nullptr),
        [reactor, response](absl::StatusOr<LoginOutcome> outcome) {
          if (outcome.ok()) ToProto(*outcome, response);
          reactor->Finish(ToGrpcStatus(outcome.status()));
        });
  });
}

grpc::ServerUnaryReactor* BrokerService::SubmitSecondFactor(
    grpc::CallbackServerContext* context, const v1::SubmitSecondFactorRequest* request,
    v1::LoginResult* response) {
  return Serve(context, logger_, "SubmitSecondFactor", [&](grpc::ServerUnaryReactor* reactor) {
    if (absl::Status valid = ValidateSubmitSecondFactor(*request); !valid.ok()) {
      return reactor->Finish(ToGrpcStatus(valid));
    }
    login_.SubmitSecondFactor(
        SubmitSecondFactorParams{request->challenge_id(), request->code()},
        MakeCallContext(*context, request->has_client() ? &request->client() : nullptr),
        [reactor, response](absl::StatusOr<LoginOutcome> outcome) {
          if (outcome.ok()) ToProto(*outcome, response);
          reactor->Finish(ToGrpcStatus(outcome.status()));
        });
  });
}

grpc::ServerUnaryReactor* BrokerService::RefreshSession(grpc::CallbackServerContext* context,
                                                        const v1::RefreshSessionRequest* request,
                                                        v1::Session* response) {
  return Serve(context, logger_, "RefreshSession", [&](grpc::ServerUnaryReactor* reactor) {
    absl::Status valid = ValidateRefreshSession(*request);
    if (valid.ok() && request->has_session_id())
      valid = NotImplemented("broker custody (session_id)");
    if (!valid.ok()) return reactor->Finish(ToGrpcStatus(valid));
    caller_sessions_.Refresh(request->site(), request->refresh_token(),
                             MakeCallContext(*context, nullptr),
                             [reactor, response](absl::StatusOr<SessionInfo> session) {
                               if (session.ok()) ToProto(*session, response);
                               reactor->Finish(ToGrpcStatus(session.status()));
                             });
  });
}

grpc::ServerUnaryReactor* BrokerService::IssueScriptSession(
    grpc::CallbackServerContext* context, const v1::IssueScriptSessionRequest* request,
    v1::Session* response) {
  return Serve(context, logger_, "IssueScriptSession", [&](grpc::ServerUnaryReactor* reactor) {
    if (absl::Status valid = ValidateIssueScriptSession(*request); !valid.ok()) {
      return reactor->Finish(ToGrpcStatus(valid));
    }
    scripts_.Issue(ScriptSessionParams{request->site(), request->script_name(),
                                       request->script_key(), request->sudo_as_login()},
                   MakeCallContext(*context, nullptr),
                   [reactor, response](absl::StatusOr<SessionInfo> session) {
                     if (session.ok()) ToProto(*session, response);
                     reactor->Finish(ToGrpcStatus(session.status()));
                   });
  });
}

grpc::ServerUnaryReactor* BrokerService::GetAccessToken(grpc::CallbackServerContext* context,
                                                        const v1::GetAccessTokenRequest* request,
                                                        v1::AccessToken* /*response*/) {
  return Serve(context, logger_, "GetAccessToken", [&](grpc::ServerUnaryReactor* reactor) {
    absl::Status valid = ValidateGetAccessToken(*request);
    if (valid.ok()) valid = NotImplemented("GetAccessToken (broker custody)");
    reactor->Finish(ToGrpcStatus(valid));
  });
}

grpc::ServerUnaryReactor* BrokerService::RevokeSession(grpc::CallbackServerContext* context,
                                                       const v1::RevokeSessionRequest* request,
                                                       v1::RevokeSessionResponse* /*response*/) {
  return Serve(context, logger_, "RevokeSession", [&](grpc::ServerUnaryReactor* reactor) {
    absl::Status valid = ValidateRevokeSession(*request);
    if (valid.ok() && request->has_session_id())
      valid = NotImplemented("broker custody (session_id)");
    if (!valid.ok()) return reactor->Finish(ToGrpcStatus(valid));
    caller_sessions_.Revoke(
        request->site(), request->refresh_token(), MakeCallContext(*context, nullptr),
        [reactor](absl::Status revoked) { reactor->Finish(ToGrpcStatus(revoked)); });
  });
}

}  // namespace credbroker
