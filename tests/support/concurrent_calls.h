// Starts `count` calls on threads of their own and releases them together,
// so that they really overlap at the broker: the way limits, leases and
// single flights must be tested. Answers every call's status and token.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace credbroker::testing {

struct CallAnswer {
  grpc::Status status;
  std::string token;
};

// `call(i)` runs the i-th call and answers its status and the token it got.
inline std::vector<CallAnswer> RunTogether(int count, const std::function<CallAnswer(int)>& call) {
  std::atomic<bool> go{false};
  std::vector<std::future<CallAnswer>> calls;
  calls.reserve(count);
  for (int i = 0; i < count; ++i) {
    calls.push_back(std::async(std::launch::async, [&go, &call, i] {
      while (!go) std::this_thread::yield();
      return call(i);
    }));
  }
  go = true;
  std::vector<CallAnswer> answers;
  for (auto& pending : calls) answers.push_back(pending.get());
  return answers;
}

// The distinct tokens of calls that succeeded; counts the failures in `failed`.
inline std::set<std::string> DistinctTokens(const std::vector<CallAnswer>& answers, int* failed) {
  std::set<std::string> tokens;
  *failed = 0;
  for (const CallAnswer& answer : answers) {
    if (answer.status.ok()) {
      tokens.insert(answer.token);
    } else {
      ++*failed;
    }
  }
  return tokens;
}

}  // namespace credbroker::testing
