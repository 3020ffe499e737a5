// The two-step login loop over the broker's BeginLogin / SubmitSecondFactor.
#include "credbroker/login.h"

#include <memory>
#include <optional>
#include <stdexcept>

#include "credbroker/call_context.h"

namespace credbroker::client {
namespace {

using detail::NewCallContext;

}  // namespace

std::chrono::system_clock::time_point ToTimePoint(const google::protobuf::Timestamp& timestamp) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(timestamp.seconds()) + std::chrono::nanoseconds(timestamp.nanos())));
}

v1::Session Login(v1::CredentialBroker::StubInterface& stub, const std::string& username,
                  const std::string& password, const CodeProvider& codes,
                  const LoginOptions& options) {
  v1::BeginLoginRequest begin;
  begin.set_site(options.site);
  begin.set_username(username);
  begin.set_password(password);
  begin.set_custody(options.custody);
  begin.set_kind(options.kind);
  begin.set_second_factor_code(options.code);
  v1::CredentialBroker::StubInterface& begin_stub =
      !options.code.empty() && options.no_retry_stub != nullptr ? *options.no_retry_stub : stub;
  v1::LoginResult result;
  ThrowIfError(begin_stub.BeginLogin(NewCallContext(options.timeout).get(), begin, &result));
  if (result.has_session()) return result.session();
  if (!result.has_challenge()) {
    throw std::runtime_error("the broker answered neither a session nor a challenge");
  }
  if (!codes) {
    throw std::invalid_argument(
        "the site asks for a two-factor code but no CodeProvider was given");
  }

  Challenge challenge;
  challenge.challenge_id = result.challenge().challenge_id();
  challenge.attempts_left = result.challenge().attempts_left();
  challenge.expire_time = ToTimePoint(result.challenge().expire_time());
  std::optional<BrokerError> previous;
  for (;;) {
    challenge.previous_error = previous ? &*previous : nullptr;
    v1::SubmitSecondFactorRequest submit;
    submit.set_challenge_id(challenge.challenge_id);
    submit.set_code(codes(challenge));
    result.Clear();
    const grpc::Status status =
        stub.SubmitSecondFactor(NewCallContext(options.timeout).get(), submit, &result);
    if (status.ok()) {
      if (result.has_session()) return result.session();
      throw std::runtime_error("the broker answered no session after the second factor");
    }
    BrokerError error(status);
    if (!error.Is("INVALID_SECOND_FACTOR") || error.attempts_left() <= 0) throw error;
    challenge.attempts_left = error.attempts_left();
    previous.emplace(std::move(error));
  }
}

v1::Session ExchangeSessionToken(v1::CredentialBroker::StubInterface& stub,
                                 const std::string& session_token, const ExchangeOptions& options) {
  v1::ExchangeSessionTokenRequest request;
  request.set_site(options.site);
  request.set_session_token(session_token);
  request.set_custody(options.custody);
  v1::Session session;
  ThrowIfError(stub.ExchangeSessionToken(NewCallContext(options.timeout).get(), request, &session));
  return session;
}

}  // namespace credbroker::client
