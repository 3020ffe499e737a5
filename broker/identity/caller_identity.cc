// Token digests are compared in constant time, so timing does not reveal how
// much of a guess was right. Certificate names are prefixed by their source
// (dns:, cn:) and URI SANs may not use those prefixes or token:, so a
// certificate cannot pass for a service token or for another kind of name.
#include "broker/identity/caller_identity.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/crypto/digest.h"
#include "broker/crypto/same_secret.h"

namespace credbroker {
namespace {

absl::Status Unauthenticated(absl::string_view why) {
  return BrokerError(Reason::kCallerUnauthenticated, why);
}

// The URI's scheme (RFC 3986: a letter, then letters, digits, '+', '-' or
// '.', then ':'), lowercased; empty when the text has none.
std::string UriScheme(absl::string_view uri) {
  const std::size_t colon = uri.find(':');
  if (colon == absl::string_view::npos || colon == 0) return "";
  const absl::string_view scheme = uri.substr(0, colon);
  if (!absl::ascii_isalpha(static_cast<unsigned char>(scheme[0]))) return "";
  for (char c : scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return "";
    }
  }
  return absl::AsciiStrToLower(scheme);
}

// The schemes of identities the broker makes itself from other sources.
bool IsReservedScheme(absl::string_view scheme) {
  return scheme == "token" || scheme == "dns" || scheme == "cn";
}

absl::StatusOr<std::string> IdentifyByCertificate(const PeerCredentials& peer,
                                                  const CallerAuthSettings& settings) {
  for (const std::string& uri : peer.uri_sans) {
    const std::string scheme = UriScheme(uri);
    if (scheme.empty() || IsReservedScheme(scheme)) {
      return Unauthenticated(
          "the client certificate has a URI SAN without a scheme or with a reserved one "
          "(token:, dns:, cn:); ask for a certificate with a SPIFFE ID or another URI");
    }
  }
  // Prefer a SPIFFE ID among several URI SANs.
  for (const std::string& uri : peer.uri_sans) {
    if (absl::StartsWith(uri, "spiffe://")) return uri;
  }
  if (!peer.uri_sans.empty()) return peer.uri_sans.front();
  for (const std::string& dns : peer.dns_sans) {
    if (!dns.empty()) return absl::StrCat(kDnsSanPrefix, dns);
  }
  if (!peer.common_name.empty() && settings.allow_common_name) {
    return absl::StrCat(kCommonNamePrefix, peer.common_name);
  }
  return Unauthenticated(
      "the client certificate has neither a URI nor a DNS SAN (its CN is not accepted unless "
      "callers.allow_common_name is set)");
}

}  // namespace

absl::StatusOr<std::string> IdentifyCaller(const PeerCredentials& peer,
                                           const CallerAuthSettings& settings) {
  if (!settings.enabled()) return std::string(kAnonymousCaller);
  if (peer.malformed_authorization) {
    return Unauthenticated("the authorization header must be 'Bearer <service token>'");
  }
  if (peer.bearer_token) {
    const std::string digest = Sha256Hex(*peer.bearer_token);
    const ServiceTokenEntry* match = nullptr;
    for (const ServiceTokenEntry& entry : settings.service_tokens) {
      if (SameSecret(digest, entry.sha256)) match = &entry;
    }
    if (match == nullptr) return Unauthenticated("the service token is not recognised");
    return absl::StrCat(kServiceTokenPrefix, match->identity);
  }
  const bool presented_certificate = peer.verified_certificate || !peer.uri_sans.empty() ||
                                     !peer.dns_sans.empty() || !peer.common_name.empty();
  if (!settings.client_ca_file.empty() && presented_certificate) {
    return IdentifyByCertificate(peer, settings);
  }
  // "anonymous" is only for callers that presented no credential at all.
  if (settings.allow_anonymous && !presented_certificate) return std::string(kAnonymousCaller);
  return Unauthenticated(
      "this broker needs callers to identify themselves with a client certificate or a service "
      "token");
}

}  // namespace credbroker
