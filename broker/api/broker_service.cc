// Handlers stay thin: validate (its own tested function), call the domain,
// convert the status in ToGrpcStatus. A catch-all answers INTERNAL without
// the exception's text.
#include "broker/api/broker_service.h"

#include <exception>

#include "broker/api/audit_clip.h"
#include "broker/api/call_context_factory.h"
#include "broker/api/caller_authorizer.h"
#include "broker/api/proto_conversion.h"
#include "broker/api/status_mapping.h"
#include "broker/api/validation.h"
#include "broker/common/errors.h"
#include "broker/telemetry/audit.h"

namespace credbroker {
namespace {

// Runs `body` and makes sure the call is answered even if it throws.
template <typename Body>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, Logger& logger,
                                const char* method, Body body) {
  auto* call = new UnaryCall(context);
  try {
    body(call);
  } catch (const std::exception&) {
    logger.Log(LogLevel::kError, "handler_exception", {{"method", method}});
    call->Answer(absl::InternalError(""));
  }
  return UnaryCall::Release(call);
}

// The audit event of a call refused before it reached a flow. Values from
// the request reach it only through ClipForAudit (audit_clip.h), so the line
// stays short and unforgeable whatever the caller sent; the client address
// and user agent have not been validated yet either.
AuditEvent Step(std::string step, const std::string& site, const CallContext& call) {
  AuditEvent event = AuditEventFor(std::move(step), call);
  event.site = ClipForAudit(site);
  event.client_address = ClipUnlessSane(event.client_address, kMaxNameBytes);
  event.user_agent = ClipUnlessSane(event.user_agent, kMaxUserAgentBytes);
  return event;
}

// Audits a request refused before it reached a flow, then answers it.
void Refuse(UnaryCall* reactor, const AuditEvent& event, const absl::Status& status,
            Logger& logger) {
  WriteAudit(logger, event, status);
  reactor->Answer(status);
}

const v1::ClientInfo* ClientOf(bool has_client, const v1::ClientInfo& client) {
  return has_client ? &client : nullptr;
}

// The proto's CredentialKind as the domain's.
TokenKind KindOf(int kind) {
  return kind == v1::CREDENTIAL_KIND_SESSION_TOKEN ? TokenKind::kSessionToken : TokenKind::kRest;
}

}  // namespace

BrokerService::BrokerService(const CallerAuthorizer& authorizer, CallerInFlight& in_flight,
                             Flows flows, Logger& logger)
    : authorizer_(authorizer), in_flight_(in_flight), flows_(flows), logger_(logger) {}

std::function<void(absl::StatusOr<SessionInfo>)> BrokerService::SessionAnswer(
    UnaryCall* reactor, v1::Session* response) const {
  return [this, reactor, response](absl::StatusOr<SessionInfo> session) {
    if (session.ok()) {
      ToProto(*session, response);
      response->set_site_url(flows_.sites.SiteUrl(session->site));
    }
    reactor->Answer(session.status());
  };
}

std::function<void(absl::StatusOr<LoginOutcome>)> BrokerService::LoginAnswer(
    UnaryCall* reactor, v1::LoginResult* response) const {
  return [this, reactor, response](absl::StatusOr<LoginOutcome> outcome) {
    if (outcome.ok()) {
      ToProto(*outcome, response);
      if (outcome->has_session) {
        response->mutable_session()->set_site_url(flows_.sites.SiteUrl(outcome->session.site));
      }
    }
    reactor->Answer(outcome.status());
  };
}

std::optional<CallContext> BrokerService::Admit(grpc::CallbackServerContext* context,
                                                UnaryCall* reactor, const v1::ClientInfo* client,
                                                const char* method, const char* step) {
  CallContext call = MakeCallContext(*context, client);
  absl::StatusOr<std::string> caller = authorizer_.Authorize(*context, method);
  if (!caller.ok()) {
    call.caller = "";  // unknown
    Refuse(reactor, Step(step, "", call), caller.status(), logger_);
    return std::nullopt;
  }
  call.caller = *caller;
  std::shared_ptr<void> place = in_flight_.TryEnter(call.caller);
  if (!place) {
    Refuse(reactor, Step(step, "", call),
           WithRetryAfter(BrokerError(Reason::kTooManyRequests,
                                      "this caller has too many calls in flight; wait for some "
                                      "to finish"),
                          absl::Seconds(1)),
           logger_);
    return std::nullopt;
  }
  reactor->Hold(std::move(place));
  call.cancel = reactor->cancel_signal();
  return call;
}

grpc::ServerUnaryReactor* BrokerService::BeginLogin(grpc::CallbackServerContext* context,
                                                    const v1::BeginLoginRequest* request,
                                                    v1::LoginResult* response) {
  return Serve(context, logger_, "BeginLogin", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, ClientOf(request->has_client(), request->client()), "BeginLogin",
              "begin_login");
    if (!call) return;
    absl::Status valid = ValidateBeginLogin(*request);
    if (!valid.ok()) {
      AuditEvent event = Step("begin_login", request->site(), *call);
      event.username = ClipForAudit(request->username());
      return Refuse(reactor, event, valid, logger_);
    }
    BeginLoginParams params;
    params.site = request->site();
    params.username = request->username();
    params.password = request->password();
    params.second_factor_code = request->second_factor_code();
    params.custody = request->custody();
    params.kind = KindOf(request->kind());
    flows_.login.BeginLogin(std::move(params), *std::move(call), LoginAnswer(reactor, response));
  });
}

grpc::ServerUnaryReactor* BrokerService::SubmitSecondFactor(
    grpc::CallbackServerContext* context, const v1::SubmitSecondFactorRequest* request,
    v1::LoginResult* response) {
  return Serve(context, logger_, "SubmitSecondFactor", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, ClientOf(request->has_client(), request->client()),
              "SubmitSecondFactor", "submit_second_factor");
    if (!call) return;
    if (absl::Status valid = ValidateSubmitSecondFactor(*request); !valid.ok()) {
      return Refuse(reactor, Step("submit_second_factor", "", *call), valid, logger_);
    }
    flows_.login.SubmitSecondFactor(
        SubmitSecondFactorParams{request->challenge_id(), request->code()}, *std::move(call),
        LoginAnswer(reactor, response));
  });
}

grpc::ServerUnaryReactor* BrokerService::RefreshSession(grpc::CallbackServerContext* context,
                                                        const v1::RefreshSessionRequest* request,
                                                        v1::Session* response) {
  return Serve(context, logger_, "RefreshSession", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, nullptr, "RefreshSession", "refresh_session");
    if (!call) return;
    absl::Status valid = ValidateRefreshSession(*request);
    if (!valid.ok()) {
      return Refuse(reactor, Step("refresh_session", request->site(), *call), valid, logger_);
    }
    if (request->has_session_id()) {
      return flows_.held_sessions.Refresh(request->session_id(), *std::move(call),
                                          SessionAnswer(reactor, response));
    }
    flows_.caller_sessions.Refresh(request->site(), request->refresh_token(), *std::move(call),
                                   SessionAnswer(reactor, response));
  });
}

grpc::ServerUnaryReactor* BrokerService::IssueScriptSession(
    grpc::CallbackServerContext* context, const v1::IssueScriptSessionRequest* request,
    v1::Session* response) {
  return Serve(context, logger_, "IssueScriptSession", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, nullptr, "IssueScriptSession", "issue_script_session");
    if (!call) return;
    if (absl::Status valid = ValidateIssueScriptSession(*request); !valid.ok()) {
      AuditEvent event = Step("issue_script_session", request->site(), *call);
      event.script_name = ClipForAudit(request->script_name());
      event.sudo_as_login = ClipForAudit(request->sudo_as_login());
      return Refuse(reactor, event, valid, logger_);
    }
    flows_.scripts.Issue(ScriptSessionParams{request->site(), request->script_name(),
                                             request->script_key(), request->sudo_as_login(),
                                             KindOf(request->kind()), request->rejected_token()},
                         *std::move(call), SessionAnswer(reactor, response));
  });
}

grpc::ServerUnaryReactor* BrokerService::GetAccessToken(grpc::CallbackServerContext* context,
                                                        const v1::GetAccessTokenRequest* request,
                                                        v1::AccessToken* response) {
  return Serve(context, logger_, "GetAccessToken", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, nullptr, "GetAccessToken", "get_access_token");
    if (!call) return;
    if (absl::Status valid = ValidateGetAccessToken(*request); !valid.ok()) {
      return Refuse(reactor, Step("get_access_token", "", *call), valid, logger_);
    }
    const absl::Duration min_validity = absl::Seconds(request->min_validity().seconds()) +
                                        absl::Nanoseconds(request->min_validity().nanos());
    flows_.held_sessions.GetAccessToken(request->session_id(), min_validity, *std::move(call),
                                        [reactor, response](absl::StatusOr<SessionInfo> session) {
                                          if (session.ok()) ToProto(*session, response);
                                          reactor->Answer(session.status());
                                        });
  });
}

grpc::ServerUnaryReactor* BrokerService::RevokeSession(grpc::CallbackServerContext* context,
                                                       const v1::RevokeSessionRequest* request,
                                                       v1::RevokeSessionResponse* /*response*/) {
  return Serve(context, logger_, "RevokeSession", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, nullptr, "RevokeSession", "revoke_session");
    if (!call) return;
    absl::Status valid = ValidateRevokeSession(*request);
    if (!valid.ok()) {
      return Refuse(reactor, Step("revoke_session", request->site(), *call), valid, logger_);
    }
    if (request->has_session_id()) {
      return flows_.held_sessions.Revoke(
          request->session_id(), *std::move(call),
          [reactor](absl::Status revoked) { reactor->Answer(revoked); });
    }
    flows_.caller_sessions.Revoke(request->site(), request->refresh_token(), *std::move(call),
                                  [reactor](absl::Status revoked) { reactor->Answer(revoked); });
  });
}

grpc::ServerUnaryReactor* BrokerService::ExchangeSessionToken(
    grpc::CallbackServerContext* context, const v1::ExchangeSessionTokenRequest* request,
    v1::Session* response) {
  return Serve(context, logger_, "ExchangeSessionToken", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, nullptr, "ExchangeSessionToken", "exchange_session_token");
    if (!call) return;
    if (absl::Status valid = ValidateExchangeSessionToken(*request); !valid.ok()) {
      return Refuse(reactor, Step("exchange_session_token", request->site(), *call), valid,
                    logger_);
    }
    flows_.exchange.Exchange(request->site(), request->session_token(), request->custody(),
                             *std::move(call), SessionAnswer(reactor, response));
  });
}

grpc::ServerUnaryReactor* BrokerService::BeginBrowserLogin(
    grpc::CallbackServerContext* context, const v1::BeginBrowserLoginRequest* request,
    v1::BrowserLoginChallenge* response) {
  return Serve(context, logger_, "BeginBrowserLogin", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, nullptr, "BeginBrowserLogin", "begin_browser_login");
    if (!call) return;
    if (absl::Status valid = ValidateBeginBrowserLogin(*request); !valid.ok()) {
      return Refuse(reactor, Step("begin_browser_login", request->site(), *call), valid, logger_);
    }
    BeginBrowserLoginParams params{request->site(), request->app_name(), request->machine_id(),
                                   KindOf(request->kind()), request->custody()};
    flows_.browser_login.Begin(std::move(params), *std::move(call),
                               [reactor, response](absl::StatusOr<BrowserLoginInfo> started) {
                                 if (started.ok()) {
                                   response->set_request_id(started->request_id);
                                   response->set_approval_url(started->approval_url);
                                   ToTimestamp(started->expire_time,
                                               response->mutable_expire_time());
                                 }
                                 reactor->Answer(started.status());
                               });
  });
}

grpc::ServerUnaryReactor* BrokerService::CompleteBrowserLogin(
    grpc::CallbackServerContext* context, const v1::CompleteBrowserLoginRequest* request,
    v1::Session* response) {
  return Serve(context, logger_, "CompleteBrowserLogin", [&](UnaryCall* reactor) {
    std::optional<CallContext> call =
        Admit(context, reactor, nullptr, "CompleteBrowserLogin", "complete_browser_login");
    if (!call) return;
    if (absl::Status valid = ValidateCompleteBrowserLogin(*request); !valid.ok()) {
      return Refuse(reactor, Step("complete_browser_login", "", *call), valid, logger_);
    }
    std::optional<absl::Duration> wait;
    if (request->has_wait()) {
      wait = absl::Seconds(request->wait().seconds()) + absl::Nanoseconds(request->wait().nanos());
    }
    flows_.browser_login.Complete(request->request_id(), wait, *std::move(call),
                                  SessionAnswer(reactor, response));
  });
}

}  // namespace credbroker
