// gRPC exposes a verified certificate's names as auth context properties;
// without a verified certificate they are absent.
#include "broker/api/peer_credentials.h"

#include <grpc/grpc_security_constants.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace credbroker {
namespace {

std::vector<std::string> Property(const grpc::AuthContext& auth, const char* name) {
  std::vector<std::string> out;
  for (const grpc::string_ref& value : auth.FindPropertyValues(name)) {
    out.emplace_back(value.data(), value.size());
  }
  return out;
}

}  // namespace

PeerCredentials ReadPeerCredentials(const grpc::CallbackServerContext& context) {
  PeerCredentials peer;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it != metadata.end()) {
    const std::string value(it->second.data(), it->second.size());
    constexpr absl::string_view kBearer = "bearer ";
    if (value.size() > kBearer.size() &&
        absl::EqualsIgnoreCase(absl::string_view(value).substr(0, kBearer.size()), kBearer)) {
      peer.bearer_token = std::string(absl::StripAsciiWhitespace(value.substr(kBearer.size())));
    } else {
      peer.malformed_authorization = true;
    }
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth && auth->IsPeerAuthenticated()) {
    peer.verified_certificate = true;
    peer.uri_sans = Property(*auth, GRPC_PEER_URI_PROPERTY_NAME);
    peer.dns_sans = Property(*auth, GRPC_PEER_DNS_PROPERTY_NAME);
    const std::vector<std::string> cn = Property(*auth, GRPC_X509_CN_PROPERTY_NAME);
    if (!cn.empty()) peer.common_name = cn.front();
  }
  return peer;
}

}  // namespace credbroker
