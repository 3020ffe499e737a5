// Connect(): grpc::SslCredentials for TLS/mTLS; the service token as call
// credentials on TLS, or through a client interceptor on loopback plaintext;
// the shipped service config on every channel.
#include "credbroker/channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "credbroker/service_config_json.h"

namespace credbroker::client {
namespace {

std::string ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (in) content << in.rdbuf();
  if (!in || content.str().empty()) {
    throw std::invalid_argument(std::string("cannot read the ") + what + " file " + path);
  }
  return content.str();
}

// TLS: the token as call credentials, which gRPC attaches to every call.
class BearerTokenPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit BearerTokenPlugin(std::string header) : header_(std::move(header)) {}
  bool IsBlocking() const override { return false; }
  const char* GetType() const override { return "credbroker-bearer"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<std::string, std::string>* metadata) override {
    metadata->insert({"authorization", header_});
    return grpc::Status::OK;
  }
  // Never print the token.
  std::string DebugString() override { return "BearerTokenPlugin"; }

 private:
  const std::string header_;
};

// Loopback plaintext: the same header through an interceptor.
class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class BearerTokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(std::string header) : header_(std::move(header)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

}  // namespace

bool IsLoopbackTarget(const std::string& address) {
  std::string target = address;
  if (target.rfind("unix:", 0) == 0 || target.rfind("unix-abstract:", 0) == 0) return true;
  for (const char* scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (target.rfind(scheme, 0) == 0) {
      target = target.substr(std::string(scheme).size());
      break;
    }
  }
  std::string host;
  if (!target.empty() && target[0] == '[') {
    const size_t end = target.find(']');
    host = target.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  } else {
    host = target.substr(0, target.rfind(':'));
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string ServiceConfigJson() {
  // The shipped file puts each "timeout" first in its method config, so that
  // removing it with the comma after it leaves valid JSON.
  return std::regex_replace(std::string(detail::kShippedServiceConfig),
                            std::regex(R"re("timeout":\s*"[^"]*",\s*)re"), "");
}

std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

std::shared_ptr<grpc::Channel> Connect(const std::string& address, const ChannelOptions& options) {
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    throw std::invalid_argument("a client certificate needs its key, and a key its certificate");
  }
  const bool loopback = IsLoopbackTarget(address);
  // TLS unless the broker is on this machine or plaintext is asked for by name.
  const bool tls = options.use_tls || !options.ca_file.empty() ||
                   !options.client_cert_file.empty() || !(loopback || options.insecure);
  grpc::ChannelArguments args = options.arguments;
  args.SetServiceConfigJSON(options.service_config_json.empty() ? ServiceConfigJson()
                                                                : options.service_config_json);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, options.enable_retries ? 1 : 0);
  if (!tls) {
    if (options.service_token.empty()) {
      return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    }
    if (!loopback) {
      throw std::invalid_argument("refusing to send the service token in the clear to " + address +
                                  ": use TLS (a CA file) for a broker on another machine");
    }
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
    factories.push_back(
        std::make_unique<BearerTokenInterceptorFactory>("Bearer " + options.service_token));
    return grpc::experimental::CreateCustomChannelWithInterceptors(
        address, grpc::InsecureChannelCredentials(), args, std::move(factories));
  }

  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) ssl.pem_root_certs = ReadPem(options.ca_file, "CA");
  if (!options.client_cert_file.empty()) {
    ssl.pem_cert_chain = ReadPem(options.client_cert_file, "client certificate");
    ssl.pem_private_key = ReadPem(options.client_key_file, "client key");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  if (!options.service_token.empty()) {
    credentials = grpc::CompositeChannelCredentials(
        credentials, grpc::MetadataCredentialsFromPlugin(
                         std::make_unique<BearerTokenPlugin>("Bearer " + options.service_token)));
  }
  return grpc::CreateCustomChannel(address, credentials, args);
}

std::shared_ptr<v1::CredentialBroker::Stub> ConnectStub(const std::string& address,
                                                        const ChannelOptions& options) {
  return v1::CredentialBroker::NewStub(Connect(address, options));
}

}  // namespace credbroker::client
