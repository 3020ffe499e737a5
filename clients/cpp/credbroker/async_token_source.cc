// The callback single flight: the first caller that finds the token stale
// starts one GetAccessToken; callers arriving meanwhile join its list of
// waiters, and its completion answers them all outside the lock. The call
// owns a reference to the shared state (not to the stub: a channel whose last
// reference went with a callback would be destroyed on gRPC's own callback
// thread), so the source may go away first while its caller keeps the stub.
#include "credbroker/async_token_source.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "credbroker/call_context.h"
#include "credbroker/login.h"

namespace credbroker::client {

struct AsyncHeldSessionTokenSource::State {
  std::string session_id;
  std::chrono::seconds min_validity;
  std::chrono::milliseconds timeout;

  std::mutex mutex;
  std::string token;
  std::chrono::system_clock::time_point expires;
  std::vector<Done> waiters;
  uint64_t invalidations = 0;

  bool FreshLocked() const {
    return !token.empty() && expires - std::chrono::system_clock::now() > min_validity;
  }
};

namespace {

// One unary call's request, answer and context, alive until its callback ran.
template <typename Request, typename Response>
struct Call {
  std::unique_ptr<grpc::ClientContext> context;
  Request request;
  Response response;
};

}  // namespace

AsyncHeldSessionTokenSource::AsyncHeldSessionTokenSource(
    std::shared_ptr<v1::CredentialBroker::StubInterface> stub, std::string session_id,
    std::chrono::seconds min_validity, std::chrono::milliseconds timeout)
    : session_id_(std::move(session_id)),
      stub_(std::move(stub)),
      state_(std::make_shared<State>()) {
  if (!stub_ || stub_->async() == nullptr) {
    throw std::invalid_argument("AsyncHeldSessionTokenSource needs a stub with async()");
  }
  if (session_id_.empty()) {
    throw std::invalid_argument("AsyncHeldSessionTokenSource needs a session id");
  }
  state_->session_id = session_id_;
  // Above the broker's cap every cached token would look stale.
  state_->min_validity = std::min(min_validity, kMaxMinValidity);
  state_->timeout = timeout;
}

AsyncHeldSessionTokenSource::~AsyncHeldSessionTokenSource() = default;

void AsyncHeldSessionTokenSource::Token(Done done) {
  std::shared_ptr<State> state = state_;
  uint64_t invalidations_at_start;
  {
    std::unique_lock<std::mutex> lock(state->mutex);
    if (state->FreshLocked()) {
      const std::string token = state->token;
      lock.unlock();
      done(token, nullptr);
      return;
    }
    state->waiters.push_back(std::move(done));
    if (state->waiters.size() > 1) return;  // the call in flight answers this caller too
    invalidations_at_start = state->invalidations;
  }
  auto call = std::make_shared<Call<v1::GetAccessTokenRequest, v1::AccessToken>>();
  call->context = detail::NewCallContext(state->timeout);
  call->request.set_session_id(state->session_id);
  call->request.mutable_min_validity()->set_seconds(state->min_validity.count());
  stub_->async()->GetAccessToken(
      call->context.get(), &call->request, &call->response,
      [state, call, invalidations_at_start](grpc::Status status) {
        std::vector<Done> waiters;
        {
          std::lock_guard<std::mutex> lock(state->mutex);
          waiters.swap(state->waiters);
          // A token asked for before an Invalidate() answers its callers
          // but is not kept.
          if (status.ok() && state->invalidations == invalidations_at_start) {
            state->token = call->response.access_token();
            state->expires = ToTimePoint(call->response.expire_time());
          }
        }
        if (status.ok()) {
          for (const Done& waiter : waiters) waiter(call->response.access_token(), nullptr);
        } else {
          const BrokerError error(status);
          for (const Done& waiter : waiters) waiter("", &error);
        }
      });
}

void AsyncHeldSessionTokenSource::Invalidate() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->token.clear();
  ++state_->invalidations;
}

void AsyncHeldSessionTokenSource::Revoke(std::function<void(const BrokerError* error)> done) {
  std::shared_ptr<State> state = state_;
  auto call = std::make_shared<Call<v1::RevokeSessionRequest, v1::RevokeSessionResponse>>();
  call->context = detail::NewCallContext(state->timeout);
  call->request.set_session_id(state->session_id);
  stub_->async()->RevokeSession(call->context.get(), &call->request, &call->response,
                                [state, call, done = std::move(done)](grpc::Status status) {
                                  {
                                    std::lock_guard<std::mutex> lock(state->mutex);
                                    state->token.clear();
                                    ++state->invalidations;
                                  }
                                  if (status.ok()) {
                                    done(nullptr);
                                  } else {
                                    const BrokerError error(status);
                                    done(&error);
                                  }
                                });
}

}  // namespace credbroker::client
