// What the client library's tests share: the BrokerError a call throws, a
// stub on a channel that counts the calls it sends per method, the answer
// one async Token() call got, and the channels the async tests keep until
// the process exits.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "credbroker/client.h"

namespace credbroker::client_testing {

// Runs `call` and returns the BrokerError it throws (a test failure if none).
template <typename F>
client::BrokerError ErrorOf(F call) {
  try {
    call();
  } catch (const client::BrokerError& error) {
    return error;
  }
  ADD_FAILURE() << "no BrokerError thrown";
  return client::BrokerError(grpc::Status(grpc::StatusCode::UNKNOWN, "none"));
}

inline constexpr char kIssueScriptSession[] = "/credbroker.v1.CredentialBroker/IssueScriptSession";
inline constexpr char kRefreshSession[] = "/credbroker.v1.CredentialBroker/RefreshSession";
inline constexpr char kGetAccessToken[] = "/credbroker.v1.CredentialBroker/GetAccessToken";

// Counts the calls a channel sends, per method ("/credbroker.v1.../Name").
class CallCounter {
 public:
  int Count(const std::string& method) {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_[method];
  }
  void Add(const std::string& method) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[method];
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int> counts_;
};

// A plaintext stub to `address` whose every call is counted in `counter`.
std::shared_ptr<v1::CredentialBroker::Stub> CountingStub(const std::string& address,
                                                         CallCounter* counter);

// gRPC 1.51's callback API may still be finishing a call on its own thread
// after the completion callback returned; a channel destroyed in that window
// double-frees its callback queue (seen under AddressSanitizer). The async
// tests therefore keep their channel until the process exits.
std::shared_ptr<v1::CredentialBroker::Stub> KeptUntilExit(
    std::shared_ptr<v1::CredentialBroker::Stub> stub);

// What one async Token() callback was given.
struct Answer {
  std::string token;
  std::optional<std::string> reason;  // set on error
  std::thread::id thread;
};

template <typename AsyncSource>
std::future<Answer> AskToken(AsyncSource& source) {
  auto promise = std::make_shared<std::promise<Answer>>();
  std::future<Answer> answer = promise->get_future();
  source.Token([promise](const std::string& token, const client::BrokerError* error) {
    Answer a{token, std::nullopt, std::this_thread::get_id()};
    if (error != nullptr) a.reason = error->reason();
    promise->set_value(std::move(a));
  });
  return answer;
}

}  // namespace credbroker::client_testing
