// A ServerBuilderOption sees the builder's whole plugin list before the server
// is built: the reflection plugin registered process-wide is dropped there,
// and a fresh one added back only where reflection is wanted.
#include "broker/server/reflection_option.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include <algorithm>
#include <string>

namespace credbroker {
namespace {

class ReflectionBuilderOption : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionBuilderOption(bool enabled) : enabled_(enabled) {}

  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}

  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    auto reflection = std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>();
    const std::string name = reflection->name();
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [&name](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p != nullptr && p->name() == name;
                                  }),
                   plugins->end());
    if (enabled_) plugins->push_back(std::move(reflection));
  }

 private:
  const bool enabled_;
};

}  // namespace

std::unique_ptr<grpc::ServerBuilderOption> ReflectionOption(bool enabled) {
  return std::make_unique<ReflectionBuilderOption>(enabled);
}

}  // namespace credbroker
