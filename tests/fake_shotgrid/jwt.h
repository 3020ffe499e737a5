// HS256 JSON Web Tokens for the site's access tokens. The key is random per process, so tokens
// from one run of the fake never validate in another (as with a real site's key rotation).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace fake_shotgrid {

class JwtSigner {
 public:
  JwtSigner();  // fresh random 32-byte key
  explicit JwtSigner(std::string key);

  std::string Sign(const nlohmann::json& claims) const;

  // Claims if the token is a well-formed HS256 JWT with a valid signature; expiry is the
  // caller's business because it depends on the site's (shiftable) clock.
  std::optional<nlohmann::json> Verify(const std::string& token) const;

 private:
  std::string Mac(const std::string& signing_input) const;
  std::string key_;
};

}  // namespace fake_shotgrid
