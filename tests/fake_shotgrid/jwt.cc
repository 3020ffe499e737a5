// HS256 signing/verification with OpenSSL HMAC-SHA256 and a constant-time compare.
#include "jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "random_id.h"

namespace fake_shotgrid {

JwtSigner::JwtSigner() : key_(RandomBytes(32)) {}
JwtSigner::JwtSigner(std::string key) : key_(std::move(key)) {}

std::string JwtSigner::Mac(const std::string& signing_input) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string JwtSigner::Sign(const nlohmann::json& claims) const {
  static const std::string kHeader = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  std::string input = kHeader + "." + Base64UrlEncode(claims.dump());
  return input + "." + Base64UrlEncode(Mac(input));
}

std::optional<nlohmann::json> JwtSigner::Verify(const std::string& token) const {
  size_t dot1 = token.find('.');
  if (dot1 == std::string::npos) return std::nullopt;
  size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) {
    return std::nullopt;
  }
  std::string header, payload, signature;
  if (!Base64UrlDecode(token.substr(0, dot1), &header) ||
      !Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &payload) ||
      !Base64UrlDecode(token.substr(dot2 + 1), &signature)) {
    return std::nullopt;
  }
  std::string expected = Mac(token.substr(0, dot2));
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  try {
    // Refuse alg=none and friends even with a matching MAC: only HS256 is ever issued.
    auto h = nlohmann::json::parse(header);
    if (h.value("alg", "") != "HS256") return std::nullopt;
    auto claims = nlohmann::json::parse(payload);
    if (!claims.is_object()) return std::nullopt;
    return claims;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace fake_shotgrid
