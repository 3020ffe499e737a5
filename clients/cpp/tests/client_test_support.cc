// The counting channel: a client interceptor factory that only counts.
#include "client_test_support.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/client_interceptor.h>

#include <vector>

namespace credbroker::client_testing {
namespace {

class CountingFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit CountingFactory(CallCounter* counter) : counter_(counter) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    counter_->Add(info->method());
    return nullptr;
  }

 private:
  CallCounter* counter_;
};

}  // namespace

std::shared_ptr<v1::CredentialBroker::Stub> CountingStub(const std::string& address,
                                                         CallCounter* counter) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<CountingFactory>(counter));
  return v1::CredentialBroker::NewStub(grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(factories)));
}

std::shared_ptr<v1::CredentialBroker::Stub> KeptUntilExit(
    std::shared_ptr<v1::CredentialBroker::Stub> stub) {
  static auto* kept = new std::vector<std::shared_ptr<v1::CredentialBroker::Stub>>();
  kept->push_back(stub);
  return stub;
}

}  // namespace credbroker::client_testing
