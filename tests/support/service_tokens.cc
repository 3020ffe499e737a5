// Only digests go into configs; the tokens stay in the test.
#include "service_tokens.h"

#include <openssl/evp.h>

#include <chrono>

namespace credbroker::testing {

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string ServiceTokensYaml(const std::map<std::string, std::string>& tokens) {
  std::string yaml = "callers:\n  service_tokens:\n";
  for (const auto& [identity, token] : tokens) {
    yaml += "    - identity: " + identity + "\n      sha256: " + Sha256Hex(token) + "\n";
  }
  return yaml;
}

std::string AllowEveryMethodPolicy(const std::map<std::string, std::string>& tokens) {
  std::string yaml = "callers:\n";
  for (const auto& entry : tokens) {
    yaml += "  - identity: " + entry.first + "\n    methods: [\"*\"]\n";
  }
  return yaml;
}

std::unique_ptr<grpc::ClientContext> ContextAs(const std::string& token, int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

}  // namespace credbroker::testing
