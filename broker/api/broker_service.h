// The credbroker.v1.CredentialBroker gRPC service on the callback API: each
// handler validates, hands the call to the domain and returns at once; the
// domain's callback finishes the call, so no gRPC thread waits on the site.
#pragma once

#include <grpcpp/grpcpp.h>

#include <optional>

#include "broker/api/caller_authorizer.h"
#include "broker/api/unary_call.h"
#include "broker/limits/caller_in_flight.h"
#include "broker/login/browser_login.h"
#include "broker/login/login_flow.h"
#include "broker/scripts/script_sessions.h"
#include "broker/sessions/caller_sessions.h"
#include "broker/sessions/held_sessions.h"
#include "broker/sessions/session_token_exchange.h"
#include "broker/telemetry/logger.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace credbroker {

class BrokerService final : public v1::CredentialBroker::CallbackService {
 public:
  // The domain parts each method hands its calls to.
  struct Flows {
    LoginFlow& login;
    CallerSessions& caller_sessions;
    HeldSessions& held_sessions;
    ScriptSessions& scripts;
    SessionTokenExchange& exchange;
    BrowserLogin& browser_login;
    // Names each session's site_url.
    const SiteClient& sites;
  };

  BrokerService(const CallerAuthorizer& authorizer, CallerInFlight& in_flight, Flows flows,
                Logger& logger);

  grpc::ServerUnaryReactor* BeginLogin(grpc::CallbackServerContext* context,
                                       const v1::BeginLoginRequest* request,
                                       v1::LoginResult* response) override;
  grpc::ServerUnaryReactor* SubmitSecondFactor(grpc::CallbackServerContext* context,
                                               const v1::SubmitSecondFactorRequest* request,
                                               v1::LoginResult* response) override;
  grpc::ServerUnaryReactor* RefreshSession(grpc::CallbackServerContext* context,
                                           const v1::RefreshSessionRequest* request,
                                           v1::Session* response) override;
  grpc::ServerUnaryReactor* IssueScriptSession(grpc::CallbackServerContext* context,
                                               const v1::IssueScriptSessionRequest* request,
                                               v1::Session* response) override;
  grpc::ServerUnaryReactor* GetAccessToken(grpc::CallbackServerContext* context,
                                           const v1::GetAccessTokenRequest* request,
                                           v1::AccessToken* response) override;
  grpc::ServerUnaryReactor* RevokeSession(grpc::CallbackServerContext* context,
                                          const v1::RevokeSessionRequest* request,
                                          v1::RevokeSessionResponse* response) override;
  grpc::ServerUnaryReactor* ExchangeSessionToken(grpc::CallbackServerContext* context,
                                                 const v1::ExchangeSessionTokenRequest* request,
                                                 v1::Session* response) override;
  grpc::ServerUnaryReactor* BeginBrowserLogin(grpc::CallbackServerContext* context,
                                              const v1::BeginBrowserLoginRequest* request,
                                              v1::BrowserLoginChallenge* response) override;
  grpc::ServerUnaryReactor* CompleteBrowserLogin(grpc::CallbackServerContext* context,
                                                 const v1::CompleteBrowserLoginRequest* request,
                                                 v1::Session* response) override;

 private:
  // Identifies the caller, checks it may call `method` and has a free
  // in-flight place, before anything else; refuses the call (audited) when
  // not. The context carries the caller and the call's cancel signal.
  std::optional<CallContext> Admit(grpc::CallbackServerContext* context, UnaryCall* reactor,
                                   const v1::ClientInfo* client, const char* method,
                                   const char* step);
  // Answers the call with `session` (plus its site's URL) or its error.
  std::function<void(absl::StatusOr<SessionInfo>)> SessionAnswer(UnaryCall* reactor,
                                                                 v1::Session* response) const;
  std::function<void(absl::StatusOr<LoginOutcome>)> LoginAnswer(UnaryCall* reactor,
                                                                v1::LoginResult* response) const;

  const CallerAuthorizer& authorizer_;
  CallerInFlight& in_flight_;
  const Flows flows_;
  Logger& logger_;
};

}  // namespace credbroker
