// Channel set-up for talking to the broker under the clients' connection
// policy: plaintext only on loopback (unless `insecure`), TLS with a CA bundle
// or the system roots, mutual TLS with a client certificate, a service bearer
// token sent as `authorization: Bearer <token>` on every call but never in
// the clear off this machine, and the shipped service config (retries of
// UNAVAILABLE for the calls that are safe to repeat).
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <memory>
#include <string>

#include "credbroker/v1/broker.grpc.pb.h"

namespace credbroker::client {

struct ChannelOptions {
  // PEM CA bundle that signed the broker's certificate. Setting it (or any
  // of the fields below up to use_tls) makes the channel TLS.
  std::string ca_file;
  // PEM client certificate and its key, for mutual TLS (both or neither).
  std::string client_cert_file;
  std::string client_key_file;
  // TLS with the system's roots even without ca_file (a loopback broker is
  // otherwise reached in plaintext; any other address always gets TLS).
  bool use_tls = false;
  // Plaintext to a broker on another machine. Never with a service token.
  bool insecure = false;
  // The service bearer token. On a TLS channel it travels as call
  // credentials (a grpc::MetadataCredentialsPlugin composed with the channel
  // credentials). gRPC refuses call credentials on plaintext channels, so on
  // a plaintext channel a client interceptor adds the same header to every
  // call instead, and only for loopback addresses (127.x, ::1, localhost,
  // unix:): a bearer token is never sent in the clear over a network.
  std::string service_token;
  // Retries of UNAVAILABLE as the service config says. Turn off for a
  // channel that sends BeginLogin with the code up front (LoginOptions).
  bool enable_retries = true;
  // The gRPC service config (JSON). Empty: the one every client ships
  // (ServiceConfigJson()).
  std::string service_config_json;
  // Extra channel arguments (keepalive, target-name override, ...). The
  // service config and the retry switch above are set after these.
  grpc::ChannelArguments arguments;
};

// The deadline the helpers (Login, the token sources) give each call unless
// told otherwise.
inline constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::seconds(10);

// The service config every client ships (clients/service_config.json),
// without its per-method timeouts: gRPC C++ 1.51 starts a service-config
// timeout from a shifted clock, cutting calls short by a process-dependent
// second or more. Deadlines come from the ClientContext instead.
std::string ServiceConfigJson();

// A ClientContext whose deadline is `timeout` from now, for calls made on the
// raw stub: give every call one.
std::unique_ptr<grpc::ClientContext> NewContext(
    std::chrono::milliseconds timeout = kDefaultTimeout);

// A channel to `address` ("host:port" or any gRPC target). Throws
// std::invalid_argument when a file cannot be read, a certificate comes
// without its key, or a token would go in the clear to a non-loopback host.
std::shared_ptr<grpc::Channel> Connect(const std::string& address,
                                       const ChannelOptions& options = {});

// Connect() and a stub on it.
std::shared_ptr<v1::CredentialBroker::Stub> ConnectStub(const std::string& address,
                                                        const ChannelOptions& options = {});

// Whether a gRPC target names this machine (what Connect() checks before
// sending a token over plaintext).
bool IsLoopbackTarget(const std::string& address);

}  // namespace credbroker::client
