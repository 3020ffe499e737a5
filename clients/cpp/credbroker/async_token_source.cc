// The callback single flight: the first caller that finds the token stale
// starts one broker call; callers arriving meanwhile join its list of
// waiters, and its completion answers them all outside the lock. The call
// owns a reference to the shared state (not to the stub: a channel whose last
// reference went with a callback would be destroyed on gRPC's own callback
// thread), so a source may go away first while its caller keeps the stub.
// Freshness, merging and the rejected-token report follow the blocking
// TokenCache (token_source.cc), through the same detail functions.
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
namespace detail {

class AsyncTokenState {
 public:
  // What one fetch started from.
  struct Flight {
    v1::Session current;
    std::string rejected;
    uint64_t invalidations = 0;
  };

  explicit AsyncTokenState(TokenSourceOptions options) : options_(std::move(options)) {}

  std::chrono::milliseconds timeout() const { return options_.timeout; }

  void Set(v1::Session session) {
    std::lock_guard<std::mutex> lock(mutex_);
    session_ = std::move(session);
  }

  v1::Session Current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return session_;
  }

  void Invalidate() {
    std::lock_guard<std::mutex> lock(mutex_);
    DropLocked();
  }

  void Invalidate(const std::string& token) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (token.empty() || token != CredentialOf(session_)) return;
    rejected_ = token;
    DropLocked();
  }

  // Answers `done` at once (on this thread) from the cache, or makes it a
  // waiter of the fetch in flight. True when no fetch is in flight: the
  // caller starts one from `*flight` and ends it with Finish().
  bool Join(TokenCallback done, Flight* flight) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (IsFresh(session_, options_.margin)) {
      const std::string token = CredentialOf(session_);
      lock.unlock();
      done(token, nullptr);
      return false;
    }
    waiters_.push_back(std::move(done));
    if (waiters_.size() > 1) return false;
    *flight = Flight{session_, rejected_, invalidations_};
    return true;
  }

  void Finish(const grpc::Status& status, v1::Session answer, const Flight& flight) {
    std::vector<TokenCallback> waiters;
    v1::Session fetched;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waiters.swap(waiters_);
      if (status.ok()) {
        fetched = Merged(flight.current, std::move(answer));
        // Kept even when invalidated meanwhile: it may hold a rotated
        // refresh token, the only one that still works.
        session_ = fetched;
        if (rejected_ == flight.rejected) rejected_.clear();
        // A token asked for before an Invalidate() answers its callers but
        // is not kept.
        if (invalidations_ != flight.invalidations) ClearCredentialLocked();
      }
    }
    if (!status.ok()) {
      const BrokerError error(status);
      for (const TokenCallback& waiter : waiters) waiter("", &error);
      return;
    }
    if (options_.on_update) options_.on_update(fetched);
    const std::string& token = CredentialOf(fetched);
    for (const TokenCallback& waiter : waiters) waiter(token, nullptr);
  }

 private:
  void ClearCredentialLocked() {
    session_.clear_access_token();
    session_.clear_session_token();
  }
  void DropLocked() {
    ClearCredentialLocked();
    ++invalidations_;
  }

  const TokenSourceOptions options_;
  mutable std::mutex mutex_;
  v1::Session session_;
  std::string rejected_;
  std::vector<TokenCallback> waiters_;
  uint64_t invalidations_ = 0;
};

}  // namespace detail

namespace {

using detail::AsyncTokenState;

// One unary call's request, answer and context, alive until its callback ran.
template <typename Request, typename Response>
struct Call {
  std::unique_ptr<grpc::ClientContext> context;
  Request request;
  Response response;
};

// Starts the fetch of a flight: `send(context, request, response, on_done)`
// makes the async() call, `to_session(current, response)` reads its answer.
template <typename Response, typename Request, typename Send, typename ToSession>
void StartFetch(const std::shared_ptr<AsyncTokenState>& state, Request request,
                AsyncTokenState::Flight flight, const Send& send, ToSession to_session) {
  auto call = std::make_shared<Call<Request, Response>>();
  call->context = detail::NewCallContext(state->timeout());
  call->request = std::move(request);
  send(call->context.get(), &call->request, &call->response,
       [state, call, flight = std::move(flight),
        to_session = std::move(to_session)](grpc::Status status) {
         state->Finish(status,
                       status.ok() ? to_session(flight.current, call->response) : v1::Session(),
                       flight);
       });
}

// RevokeSession through the callback API; `drop_token` for a session that
// ends with it.
void StartRevoke(v1::CredentialBroker::StubInterface& stub,
                 const std::shared_ptr<AsyncTokenState>& state, v1::RevokeSessionRequest request,
                 RevokeCallback done, bool drop_token) {
  auto call = std::make_shared<Call<v1::RevokeSessionRequest, v1::RevokeSessionResponse>>();
  call->context = detail::NewCallContext(state->timeout());
  call->request = std::move(request);
  stub.async()->RevokeSession(
      call->context.get(), &call->request, &call->response,
      [state, call, done = std::move(done), drop_token](grpc::Status status) {
        if (drop_token) state->Invalidate();
        if (status.ok()) {
          done(nullptr);
        } else {
          const BrokerError error(status);
          done(&error);
        }
      });
}

void RequireAsyncStub(const std::shared_ptr<v1::CredentialBroker::StubInterface>& stub,
                      const char* source) {
  if (!stub || stub->async() == nullptr) {
    throw std::invalid_argument(std::string(source) + " needs a stub with async()");
  }
}

}  // namespace

AsyncSessionTokenSource::AsyncSessionTokenSource(
    std::shared_ptr<v1::CredentialBroker::StubInterface> stub, v1::Session session,
    TokenSourceOptions options)
    : stub_(std::move(stub)), state_(std::make_shared<AsyncTokenState>(std::move(options))) {
  RequireAsyncStub(stub_, "AsyncSessionTokenSource");
  if (session.refresh_token().empty()) {
    throw std::invalid_argument("AsyncSessionTokenSource needs a session with a refresh token");
  }
  state_->Set(std::move(session));
}

AsyncSessionTokenSource::~AsyncSessionTokenSource() = default;

void AsyncSessionTokenSource::Token(Done done) {
  AsyncTokenState::Flight flight;
  if (!state_->Join(std::move(done), &flight)) return;
  v1::RefreshSessionRequest request;
  request.set_site(flight.current.site());
  request.set_refresh_token(flight.current.refresh_token());
  StartFetch<v1::Session>(
      state_, std::move(request), std::move(flight),
      [stub = stub_.get()](grpc::ClientContext* context, const v1::RefreshSessionRequest* request,
                           v1::Session* response, std::function<void(grpc::Status)> on_done) {
        stub->async()->RefreshSession(context, request, response, std::move(on_done));
      },
      [](const v1::Session&, const v1::Session& answer) { return answer; });
}

void AsyncSessionTokenSource::Invalidate(const std::string& token) { state_->Invalidate(token); }

std::string AsyncSessionTokenSource::RefreshToken() const {
  return state_->Current().refresh_token();
}

v1::Session AsyncSessionTokenSource::CurrentSession() const { return state_->Current(); }

void AsyncSessionTokenSource::Revoke(RevokeCallback done) {
  const v1::Session current = state_->Current();
  v1::RevokeSessionRequest request;
  request.set_site(current.site());
  request.set_refresh_token(current.refresh_token());
  StartRevoke(*stub_, state_, std::move(request), std::move(done), /*drop_token=*/false);
}

AsyncScriptTokenSource::AsyncScriptTokenSource(
    std::shared_ptr<v1::CredentialBroker::StubInterface> stub, std::string script_name,
    std::string script_key, ScriptOptions script, TokenSourceOptions options)
    : script_name_(std::move(script_name)),
      script_key_(std::move(script_key)),
      script_(std::move(script)),
      stub_(std::move(stub)),
      state_(std::make_shared<AsyncTokenState>(std::move(options))) {
  RequireAsyncStub(stub_, "AsyncScriptTokenSource");
}

AsyncScriptTokenSource::~AsyncScriptTokenSource() = default;

void AsyncScriptTokenSource::Token(Done done) {
  AsyncTokenState::Flight flight;
  if (!state_->Join(std::move(done), &flight)) return;
  v1::IssueScriptSessionRequest request =
      detail::ScriptSessionRequest(script_name_, script_key_, script_, flight.rejected);
  StartFetch<v1::Session>(
      state_, std::move(request), std::move(flight),
      [stub = stub_.get()](grpc::ClientContext* context,
                           const v1::IssueScriptSessionRequest* request, v1::Session* response,
                           std::function<void(grpc::Status)> on_done) {
        stub->async()->IssueScriptSession(context, request, response, std::move(on_done));
      },
      [](const v1::Session&, const v1::Session& answer) { return answer; });
}

void AsyncScriptTokenSource::Invalidate(const std::string& token) { state_->Invalidate(token); }

v1::Session AsyncScriptTokenSource::CurrentSession() const { return state_->Current(); }

namespace {

TokenSourceOptions HeldOptions(std::chrono::seconds min_validity,
                               std::chrono::milliseconds timeout) {
  TokenSourceOptions options;
  // Above the broker's cap every cached token would look stale.
  options.margin = std::min(min_validity, kMaxMinValidity);
  options.timeout = timeout;
  return options;
}

}  // namespace

AsyncHeldSessionTokenSource::AsyncHeldSessionTokenSource(
    std::shared_ptr<v1::CredentialBroker::StubInterface> stub, std::string session_id,
    std::chrono::seconds min_validity, std::chrono::milliseconds timeout)
    : session_id_(std::move(session_id)),
      min_validity_(std::min(min_validity, kMaxMinValidity)),
      stub_(std::move(stub)),
      state_(std::make_shared<AsyncTokenState>(HeldOptions(min_validity, timeout))) {
  RequireAsyncStub(stub_, "AsyncHeldSessionTokenSource");
  if (session_id_.empty()) {
    throw std::invalid_argument("AsyncHeldSessionTokenSource needs a session id");
  }
  v1::Session held;
  held.set_session_id(session_id_);
  state_->Set(std::move(held));
}

AsyncHeldSessionTokenSource::~AsyncHeldSessionTokenSource() = default;

void AsyncHeldSessionTokenSource::Token(Done done) {
  AsyncTokenState::Flight flight;
  if (!state_->Join(std::move(done), &flight)) return;
  if (!flight.rejected.empty()) {
    // The site refused the token: a refresh now, not the one the broker holds.
    StartFetch<v1::Session>(
        state_, detail::HeldRefreshRequest(session_id_), std::move(flight),
        [stub = stub_.get()](grpc::ClientContext* context, const v1::RefreshSessionRequest* request,
                             v1::Session* response, std::function<void(grpc::Status)> on_done) {
          stub->async()->RefreshSession(context, request, response, std::move(on_done));
        },
        [](const v1::Session& current, const v1::Session& answer) {
          return detail::WithRefreshedToken(current, answer);
        });
    return;
  }
  StartFetch<v1::AccessToken>(
      state_, detail::HeldTokenRequest(session_id_, min_validity_), std::move(flight),
      [stub = stub_.get()](grpc::ClientContext* context, const v1::GetAccessTokenRequest* request,
                           v1::AccessToken* response, std::function<void(grpc::Status)> on_done) {
        stub->async()->GetAccessToken(context, request, response, std::move(on_done));
      },
      [](const v1::Session& current, const v1::AccessToken& answer) {
        return detail::WithAccessToken(current, answer);
      });
}

void AsyncHeldSessionTokenSource::Invalidate() { state_->Invalidate(); }

void AsyncHeldSessionTokenSource::Invalidate(const std::string& token) {
  state_->Invalidate(token);
}

void AsyncHeldSessionTokenSource::Revoke(RevokeCallback done) {
  v1::RevokeSessionRequest request;
  request.set_session_id(session_id_);
  StartRevoke(*stub_, state_, std::move(request), std::move(done), /*drop_token=*/true);
}

}  // namespace credbroker::client
