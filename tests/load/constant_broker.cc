// The baseline for load runs: a gRPC callback-API server of the same
// credbroker.v1.CredentialBroker service that answers every method at once
// with a constant message (a Session with a fixed token for
// IssueScriptSession, a challenge for BeginLogin, ...). It does nothing the
// broker does (no caller identity, policy, cache or audit line), so its
// throughput is the physical limit of gRPC itself for these calls on this
// machine. tests/load/run_hot_path.sh runs it alternately with the broker.
//
// usage: constant_broker [--listen 127.0.0.1:0] [--port-file FILE]
//        Stops on SIGINT or SIGTERM.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace {

namespace v1 = credbroker::v1;

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

// The answers, built once. The Session looks like a cache-hit script session.
struct Answers {
  v1::Session session;
  v1::LoginResult challenge;
  v1::AccessToken access_token;

  Answers() {
    session.set_access_token("constant-access-token-0123456789abcdef0123456789abcdef");
    session.set_token_type("Bearer");
    session.mutable_expire_time()->set_seconds(4102444800);  // 2100-01-01
    session.mutable_principal()->set_script_name("ingest-bot");
    session.set_site("main");
    v1::SecondFactorChallenge* c = challenge.mutable_challenge();
    c->set_challenge_id("constant-challenge-0123456789abcdef");
    c->mutable_expire_time()->set_seconds(4102444800);
    c->set_attempts_left(5);
    access_token.set_access_token(session.access_token());
    access_token.set_token_type("Bearer");
    *access_token.mutable_expire_time() = session.expire_time();
  }
};

class ConstantBroker final : public v1::CredentialBroker::CallbackService {
 public:
  explicit ConstantBroker(const Answers& answers) : answers_(answers) {}

  grpc::ServerUnaryReactor* BeginLogin(grpc::CallbackServerContext* context,
                                       const v1::BeginLoginRequest* /*request*/,
                                       v1::LoginResult* response) override {
    *response = answers_.challenge;
    return Done(context);
  }
  grpc::ServerUnaryReactor* SubmitSecondFactor(grpc::CallbackServerContext* context,
                                               const v1::SubmitSecondFactorRequest* /*request*/,
                                               v1::LoginResult* response) override {
    *response->mutable_session() = answers_.session;
    return Done(context);
  }
  grpc::ServerUnaryReactor* RefreshSession(grpc::CallbackServerContext* context,
                                           const v1::RefreshSessionRequest* /*request*/,
                                           v1::Session* response) override {
    *response = answers_.session;
    return Done(context);
  }
  grpc::ServerUnaryReactor* IssueScriptSession(grpc::CallbackServerContext* context,
                                               const v1::IssueScriptSessionRequest* /*request*/,
                                               v1::Session* response) override {
    *response = answers_.session;
    return Done(context);
  }
  grpc::ServerUnaryReactor* GetAccessToken(grpc::CallbackServerContext* context,
                                           const v1::GetAccessTokenRequest* /*request*/,
                                           v1::AccessToken* response) override {
    *response = answers_.access_token;
    return Done(context);
  }
  grpc::ServerUnaryReactor* RevokeSession(grpc::CallbackServerContext* context,
                                          const v1::RevokeSessionRequest* /*request*/,
                                          v1::RevokeSessionResponse* /*response*/) override {
    return Done(context);
  }

 private:
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  const Answers& answers_;
};

}  // namespace

int main(int argc, char** argv) {
  // As the broker does (broker/main.cc), so that the two compare like with like.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string listen = Flag(argc, argv, "--listen", "127.0.0.1:0");
  const std::string port_file = Flag(argc, argv, "--port-file", "");

  // Signals are taken by sigwait below, on the main thread, so block them
  // before gRPC starts its threads (which inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  static const Answers answers;
  ConstantBroker service(answers);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "constant_broker: cannot listen on " << listen << "\n";
    return 1;
  }
  if (!port_file.empty()) {
    // Written whole then renamed, so a reader never sees half a number.
    const std::string partial = port_file + ".partial";
    std::ofstream(partial) << port << "\n";
    if (std::rename(partial.c_str(), port_file.c_str()) != 0) return 1;
  }
  std::cerr << "constant_broker: listening on port " << port << "\n";

  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown();
  return 0;
}
