// Channel set-up for talking to the broker: plaintext on loopback, TLS with a
// CA bundle, mutual TLS with a client certificate, and a service bearer token
// sent as `authorization: Bearer <token>` on every call.
#pragma once

#include <grpcpp/channel.h>

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
  // TLS with the system's roots even without ca_file.
  bool use_tls = false;
  // The service bearer token. On a TLS channel it travels as call
  // credentials (a grpc::MetadataCredentialsPlugin composed with the channel
  // credentials). gRPC refuses call credentials on plaintext channels, so on
  // a plaintext channel a client interceptor adds the same header to every
  // call instead, and only for loopback addresses (127.x, ::1, localhost,
  // unix:): a bearer token is never sent in the clear over a network.
  std::string service_token;
};

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
