// The browser-login loop over BeginBrowserLogin / CompleteBrowserLogin, and
// its cancellation: the context of the call in flight is registered with the
// LoginCancellation, so that Cancel() from another thread ends that call at
// once instead of after its wait of up to 30 s.
#include "credbroker/browser_login.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "credbroker/call_context.h"
#include "credbroker/login.h"
#include "credbroker/reasons.h"

namespace credbroker::client {

void LoginCancellation::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (in_flight_ != nullptr) in_flight_->TryCancel();
  }
  changed_.notify_all();
}

bool LoginCancellation::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

// BrowserLogin()'s view of an optional LoginCancellation.
class CancellableWait {
 public:
  explicit CancellableWait(LoginCancellation* cancellation) : cancellation_(cancellation) {}

  // Registers the context of the call about to start; false when cancelled.
  bool Begin(grpc::ClientContext* context) {
    if (cancellation_ == nullptr) return true;
    std::lock_guard<std::mutex> lock(cancellation_->mutex_);
    if (cancellation_->cancelled_) return false;
    cancellation_->in_flight_ = context;
    return true;
  }

  void End() {
    if (cancellation_ == nullptr) return;
    std::lock_guard<std::mutex> lock(cancellation_->mutex_);
    cancellation_->in_flight_ = nullptr;
  }

  // Sleeps for `duration` unless cancelled first; false when cancelled.
  bool Sleep(std::chrono::milliseconds duration) {
    if (cancellation_ == nullptr) {
      std::this_thread::sleep_for(duration);
      return true;
    }
    std::unique_lock<std::mutex> lock(cancellation_->mutex_);
    return !cancellation_->changed_.wait_for(lock, duration,
                                             [&] { return cancellation_->cancelled_; });
  }

  bool cancelled() const { return cancellation_ != nullptr && cancellation_->cancelled(); }

 private:
  LoginCancellation* cancellation_;
};

namespace {

using detail::NewCallContext;
using Clock = std::chrono::system_clock;

// Each CompleteBrowserLogin waits as long as the broker does by default.
constexpr std::chrono::milliseconds kCompleteWait = std::chrono::seconds(30);

BrokerError Cancelled() {
  return BrokerError(grpc::Status(grpc::StatusCode::CANCELLED, "the browser login was cancelled"));
}

v1::CompleteBrowserLoginRequest CompleteRequest(const std::string& request_id,
                                                std::chrono::milliseconds wait) {
  v1::CompleteBrowserLoginRequest request;
  request.set_request_id(request_id);
  // Set even when zero: an explicit 0 means one poll, an unset wait 30 s.
  request.mutable_wait()->set_seconds(wait.count() / 1000);
  request.mutable_wait()->set_nanos(static_cast<int32_t>(wait.count() % 1000) * 1000000);
  return request;
}

}  // namespace

BrowserApproval BeginBrowserLogin(v1::CredentialBroker::StubInterface& stub,
                                  const BrowserLoginOptions& options) {
  v1::BeginBrowserLoginRequest request;
  request.set_site(options.site);
  request.set_app_name(options.app_name);
  request.set_machine_id(options.machine_id);
  request.set_kind(options.kind);
  request.set_custody(options.custody);
  v1::BrowserLoginChallenge challenge;
  ThrowIfError(stub.BeginBrowserLogin(NewCallContext(options.timeout).get(), request, &challenge));
  return BrowserApproval{challenge.request_id(), challenge.approval_url(),
                         ToTimePoint(challenge.expire_time())};
}

v1::Session CompleteBrowserLogin(v1::CredentialBroker::StubInterface& stub,
                                 const std::string& request_id, std::chrono::milliseconds wait,
                                 std::chrono::milliseconds timeout) {
  v1::Session session;
  ThrowIfError(stub.CompleteBrowserLogin(NewCallContext(wait + timeout).get(),
                                         CompleteRequest(request_id, wait), &session));
  return session;
}

v1::Session BrowserLogin(v1::CredentialBroker::StubInterface& stub,
                         const ApprovalPresenter& present, const BrowserLoginOptions& options) {
  CancellableWait cancellation(options.cancellation);
  if (cancellation.cancelled()) throw Cancelled();
  const BrowserApproval approval = BeginBrowserLogin(stub, options);
  if (present) present(approval);

  Clock::time_point give_up = approval.expire_time;
  if (options.max_wait.count() > 0) give_up = std::min(give_up, Clock::now() + options.max_wait);
  // At least one call, even when the request looks expired by this clock.
  std::optional<BrokerError> pending;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now());
    if (pending && left.count() <= 0) throw *pending;
    const std::chrono::milliseconds wait =
        std::clamp(left, std::chrono::milliseconds(0), kCompleteWait);
    const auto started = Clock::now();
    auto context = NewCallContext(wait + options.timeout);
    if (!cancellation.Begin(context.get())) throw Cancelled();
    v1::Session session;
    const grpc::Status status = stub.CompleteBrowserLogin(
        context.get(), CompleteRequest(approval.request_id, wait), &session);
    cancellation.End();
    if (status.ok()) return session;
    if (cancellation.cancelled()) throw Cancelled();
    pending.emplace(status);
    if (!pending->Is(reason::kApprovalPending)) throw *pending;
    // A broker that answered before its wait ended asks for a pause.
    const auto now = Clock::now();
    const auto pause =
        std::min(std::chrono::duration_cast<std::chrono::milliseconds>(give_up - now),
                 pending->retry_after() -
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - started));
    if (pause.count() > 0 && !cancellation.Sleep(pause)) throw Cancelled();
  }
}

}  // namespace credbroker::client
