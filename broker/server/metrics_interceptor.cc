// The call is counted as handled when the interceptor goes, which is when the
// call is done: a call cancelled before any status was sent (its deadline
// passed, the client went away) counts as Canceled.
#include "broker/server/metrics_interceptor.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace credbroker {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit MetricsInterceptor(Metrics::Method& method) : method_(method) { method_.Started(); }
  ~MetricsInterceptor() override { method_.Handled(code_, absl::Now() - started_); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = methods->GetSendStatus().error_code();
    }
    methods->Proceed();
  }

 private:
  Metrics::Method& method_;
  const absl::Time started_ = absl::Now();
  int code_ = grpc::StatusCode::CANCELLED;
};

const char* TypeOf(const google::protobuf::MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) return "bidi_stream";
  if (method.client_streaming()) return "client_stream";
  if (method.server_streaming()) return "server_stream";
  return "unary";
}

}  // namespace

MetricsInterceptorFactory::MetricsInterceptorFactory()
    : unknown_(Metrics::Get(), "unknown", "unknown", "unknown") {
  auto add = [this](const std::string& service, const std::string& method, const char* type) {
    methods_.emplace(absl::StrCat("/", service, "/", method),
                     std::make_unique<Metrics::Method>(Metrics::Get(), service, method, type));
  };
  const google::protobuf::ServiceDescriptor* broker =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          "credbroker.v1.CredentialBroker");
  for (int i = 0; broker != nullptr && i < broker->method_count(); ++i) {
    add(broker->full_name(), broker->method(i)->name(), TypeOf(*broker->method(i)));
  }
  add("grpc.health.v1.Health", "Check", "unary");
  add("grpc.health.v1.Health", "Watch", "server_stream");
  add("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", "bidi_stream");
}

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  auto it = methods_.find(info->method() == nullptr ? "" : info->method());
  return new MetricsInterceptor(it == methods_.end() ? unknown_ : *it->second);
}

}  // namespace credbroker
