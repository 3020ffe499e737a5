// Token digests are compared in constant time, so timing does not reveal how
// much of a guess was right.
#include "broker/identity/caller_identity.h"

#include <openssl/crypto.h>

#include "absl/strings/match.h"
#include "broker/common/errors.h"
#include "broker/crypto/digest.h"
#include "broker/identity/policy.h"

namespace credbroker {
namespace {

bool SameDigest(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::Status Unauthenticated(absl::string_view why) {
  return BrokerError(Reason::kCallerUnauthenticated, why);
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
      if (SameDigest(digest, entry.sha256)) match = &entry;
    }
    if (match == nullptr) return Unauthenticated("the service token is not recognised");
    return match->identity;
  }
  if (!settings.client_ca_file.empty()) {
    // Prefer a SPIFFE ID among several URI SANs.
    for (const std::string& uri : peer.uri_sans) {
      if (absl::StartsWith(uri, "spiffe://")) return uri;
    }
    if (!peer.uri_sans.empty()) return peer.uri_sans.front();
    if (!peer.dns_sans.empty()) return peer.dns_sans.front();
    if (!peer.common_name.empty()) return peer.common_name;
  }
  if (settings.allow_anonymous) return std::string(kAnonymousCaller);
  return Unauthenticated(
      "this broker needs callers to identify themselves with a client certificate or a service "
      "token");
}

}  // namespace credbroker
