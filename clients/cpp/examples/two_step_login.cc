// A person's two-step login through the broker, narrated: BeginLogin, the
// site's 2FA challenge, SubmitSecondFactor with the code read from standard
// input, a token refresh, and a script-key session on the same 2FA site.
//
// usage: two-step-login-example BROKER_ADDRESS USERNAME [SCRIPT_NAME]
// The password comes from $CREDBROKER_PASSWORD and a script key, if a script
// is named, from $CREDBROKER_SCRIPT_KEY: never from the command line, where
// other users of the machine could read them.
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "credbroker/error_detail.h"
#include "credbroker/v1/broker.grpc.pb.h"

namespace {

namespace v1 = credbroker::v1;

// Tokens are secrets: show only enough to tell them apart.
std::string Redact(const std::string& token) {
  if (token.empty()) return "(none)";
  return token.substr(0, 6) + "... (" + std::to_string(token.size()) + " characters)";
}

int Fail(const char* step, const grpc::Status& status) {
  std::cout << "  " << step << " failed: " << status.error_message() << " [reason "
            << credbroker::client::ReasonOf(status) << "]\n";
  return 1;
}

void PrintSession(const v1::Session& session) {
  const v1::Principal& who = session.principal();
  std::cout << "  site:          " << session.site() << "\n";
  // A refresh answer does not say whose tokens they are, so neither does the broker.
  if (!who.user_login().empty() || !who.script_name().empty()) {
    std::cout << "  logged in as:  "
              << (who.user_login().empty() ? who.script_name() : who.user_login()) << "\n";
  }
  std::cout << "  token type:    " << session.token_type() << "\n"
            << "  access token:  " << Redact(session.access_token()) << "\n"
            << "  refresh token: " << Redact(session.refresh_token()) << "\n"
            << "  expires at:    " << session.expire_time().seconds() << " (unix seconds)\n";
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::getenv("CREDBROKER_PASSWORD") == nullptr) {
    std::cerr << "usage: CREDBROKER_PASSWORD=... two-step-login-example BROKER_ADDRESS USERNAME "
                 "[SCRIPT_NAME]\n";
    return 2;
  }
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  auto broker = v1::CredentialBroker::NewStub(channel);

  std::cout << "Step 1: BeginLogin as '" << argv[2] << "' (username and password only)\n";
  v1::BeginLoginRequest begin;
  begin.set_username(argv[2]);
  begin.set_password(std::getenv("CREDBROKER_PASSWORD"));
  v1::LoginResult result;
  grpc::Status status = broker->BeginLogin(Context().get(), begin, &result);
  if (!status.ok()) return Fail("BeginLogin", status);

  if (result.has_challenge()) {
    const v1::SecondFactorChallenge& challenge = result.challenge();
    std::cout << "  the site has two-factor authentication on: it answered code 106\n"
              << "  the broker holds the password (sealed) and issued challenge "
              << challenge.challenge_id().substr(0, 8) << "...\n"
              << "  attempts left: " << challenge.attempts_left() << ", expires at "
              << challenge.expire_time().seconds() << " (unix seconds)\n\n"
              << "Step 2: SubmitSecondFactor with the code from the authenticator app\n"
              << "  code: " << std::flush;
    std::string code;
    std::getline(std::cin, code);
    std::cout << "(read " << code.size() << " characters)\n";
    v1::SubmitSecondFactorRequest submit;
    submit.set_challenge_id(challenge.challenge_id());
    submit.set_code(code);
    result.Clear();
    status = broker->SubmitSecondFactor(Context().get(), submit, &result);
    if (!status.ok()) return Fail("SubmitSecondFactor", status);
  }
  if (!result.has_session()) {
    std::cout << "  unexpected: no session after the second factor\n";
    return 1;
  }
  std::cout << "  logged in:\n";
  PrintSession(result.session());

  std::cout << "\nStep 3: RefreshSession with the refresh token (refresh tokens are single use)\n";
  v1::RefreshSessionRequest refresh;
  refresh.set_refresh_token(result.session().refresh_token());
  v1::Session refreshed;
  status = broker->RefreshSession(Context().get(), refresh, &refreshed);
  if (!status.ok()) return Fail("RefreshSession", status);
  std::cout << "  new tokens:\n";
  PrintSession(refreshed);
  v1::Session again;
  status = broker->RefreshSession(Context().get(), refresh, &again);
  std::cout << "  the spent refresh token, sent again: "
            << (status.ok() ? "accepted (unexpected!)" : credbroker::client::ReasonOf(status))
            << "\n";

  if (argc > 3 && std::getenv("CREDBROKER_SCRIPT_KEY") != nullptr) {
    std::cout << "\nStep 4: IssueScriptSession for script '" << argv[3]
              << "': script keys are unaffected by 2FA\n";
    v1::IssueScriptSessionRequest script;
    script.set_script_name(argv[3]);
    script.set_script_key(std::getenv("CREDBROKER_SCRIPT_KEY"));
    v1::Session script_session;
    status = broker->IssueScriptSession(Context().get(), script, &script_session);
    if (!status.ok()) return Fail("IssueScriptSession", status);
    PrintSession(script_session);
  }
  std::cout << "\nDone.\n";
  return 0;
}
