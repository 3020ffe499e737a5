// Who is calling: a service proves itself with a client certificate (mTLS)
// or a service bearer token; the config holds only SHA-256 digests of the
// tokens. With no caller identity configured, every caller is "anonymous".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace credbroker {

struct ServiceTokenEntry {
  std::string identity;
  // Lowercase hex SHA-256 of the token.
  std::string sha256;
};

struct CallerAuthSettings {
  // Verify client certificates against this CA bundle (mTLS).
  std::string client_ca_file;
  std::vector<ServiceTokenEntry> service_tokens;
  // Callers with neither a certificate nor a token are "anonymous" instead
  // of being refused.
  bool allow_anonymous = false;

  bool enabled() const { return !client_ca_file.empty() || !service_tokens.empty(); }
};

// What the transport and the call's metadata say about the caller.
struct PeerCredentials {
  // The token of an `authorization: Bearer …` header, if there is one.
  std::optional<std::string> bearer_token;
  // An authorization header that is not `Bearer <token>`.
  bool malformed_authorization = false;
  // From a client certificate the TLS handshake verified.
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::string common_name;
};

// The caller's identity, or UNAUTHENTICATED / CALLER_UNAUTHENTICATED. A
// presented token must match; otherwise the certificate names the caller: its
// URI SAN (e.g. a SPIFFE ID), else its DNS SAN, else its CN.
absl::StatusOr<std::string> IdentifyCaller(const PeerCredentials& peer,
                                           const CallerAuthSettings& settings);

}  // namespace credbroker
