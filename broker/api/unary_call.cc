// Answer and Release race when a site or store answers on another thread
// just as the handler returns; the mutex decides which of the two finishes
// the call, and nothing touches the call after handing it to gRPC's Finish.
#include "broker/api/unary_call.h"

#include <algorithm>
#include <string>

#include "broker/api/status_mapping.h"
#include "broker/common/errors.h"

namespace credbroker {

// The reactor of a call still waiting when its handler returned. Owns the
// call; gRPC deletes it (OnDone) once the answer has gone.
class UnaryCall::Waiting final : public grpc::ServerUnaryReactor {
 public:
  explicit Waiting(UnaryCall* call) : call_(call) {}

  void OnCancel() override { call_->cancel_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  std::unique_ptr<UnaryCall> call_;
};

void UnaryCall::Answer(const absl::Status& status) {
  Waiting* waiting = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (answered_) return;
    answered_ = true;
    place_.reset();
    if (std::optional<absl::Duration> after = RetryAfterOf(status)) {
      context_->AddTrailingMetadata(
          "grpc-retry-pushback-ms",
          std::to_string(std::max<int64_t>(0, absl::ToInt64Milliseconds(*after))));
    }
    if (waiting_ == nullptr) {
      inline_answer_ = ToGrpcStatus(status);
      return;
    }
    waiting = waiting_;
  }
  // The call belongs to `waiting`, which gRPC may delete before Finish
  // returns: nothing of this object is used from here on.
  waiting->Finish(ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* UnaryCall::Release(UnaryCall* call) {
  std::unique_lock<std::mutex> lock(call->mu_);
  if (call->inline_answer_) {
    grpc::ServerUnaryReactor* reactor = call->context_->DefaultReactor();
    const grpc::Status status = *std::move(call->inline_answer_);
    lock.unlock();
    delete call;
    reactor->Finish(status);
    return reactor;
  }
  auto* waiting = new Waiting(call);
  call->waiting_ = waiting;
  return waiting;
}

}  // namespace credbroker
