// Who is calling: a service proves itself with a client certificate (mTLS)
// or a service bearer token; the config holds only SHA-256 digests of the
// tokens. With no caller identity configured, every caller is "anonymous".
//
// An identity carries its source, so that one kind of credential can never
// claim a name that belongs to another:
//   service token       token:NAME   (NAME as in callers.service_tokens)
//   certificate URI SAN the URI as is, e.g. spiffe://studio.example/ns/a/sa/b
//   certificate DNS SAN dns:NAME
//   certificate CN      cn:NAME      (only with callers.allow_common_name)
//   no credential       anonymous
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace credbroker {

// The identity of callers that presented no credential.
inline constexpr absl::string_view kAnonymousCaller = "anonymous";
inline constexpr absl::string_view kServiceTokenPrefix = "token:";
inline constexpr absl::string_view kDnsSanPrefix = "dns:";
inline constexpr absl::string_view kCommonNamePrefix = "cn:";

struct ServiceTokenEntry {
  // The bare name; callers presenting the token are "token:" + identity.
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
  // A certificate with neither a URI nor a DNS SAN is named by its CN. Off by
  // default: a CN is free text any CA-issued certificate may carry.
  bool allow_common_name = false;

  bool enabled() const { return !client_ca_file.empty() || !service_tokens.empty(); }
};

// What the transport and the call's metadata say about the caller.
struct PeerCredentials {
  // The token of an `authorization: Bearer …` header, if there is one.
  std::optional<std::string> bearer_token;
  // An authorization header that is not `Bearer <token>`.
  bool malformed_authorization = false;
  // The TLS handshake verified a client certificate.
  bool verified_certificate = false;
  // From that certificate.
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::string common_name;
};

// The caller's identity (see the top of this file), or UNAUTHENTICATED /
// CALLER_UNAUTHENTICATED. A presented token must match; otherwise the
// certificate names the caller: its URI SAN (a SPIFFE ID preferred), else its
// DNS SAN, else its CN when allowed. A certificate whose URI SAN uses one of
// the reserved schemes (token, dns, cn) or has no scheme is refused, as is a
// certificate that names no usable identity.
absl::StatusOr<std::string> IdentifyCaller(const PeerCredentials& peer,
                                           const CallerAuthSettings& settings);

// Whether `name` may be a service token's identity in the config: not empty,
// not "anonymous" and without ':' (the prefix "token:" is added by the broker).
inline bool IsServiceTokenName(absl::string_view name) {
  return !name.empty() && name != kAnonymousCaller && name.find(':') == absl::string_view::npos;
}

}  // namespace credbroker
