// RFC 6238 / RFC 4226 arithmetic; HMAC comes from OpenSSL so nothing cryptographic is hand-rolled.
#include "totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdio>

namespace shotgrid_totp {

std::optional<std::string> Base32Decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char raw : text) {
    if (raw == ' ' || raw == '-' || raw == '=') continue;
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(raw)));
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= '2' && c <= '7') {
      value = c - '2' + 26;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

int64_t TotpStep(int64_t unix_seconds) {
  // Floor division so times before the epoch still map to a well-defined step.
  int64_t q = unix_seconds / kStepSeconds;
  if (unix_seconds % kStepSeconds < 0) --q;
  return q;
}

std::string TotpCodeForStep(std::string_view key, int64_t step) {
  unsigned char counter[8];
  uint64_t c = static_cast<uint64_t>(step);
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(c & 0xff);
    c >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), counter, sizeof(counter), mac,
       &mac_len);
  int offset = mac[mac_len - 1] & 0x0f;
  uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                    (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                    (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                    static_cast<uint32_t>(mac[offset + 3]);
  char digits[16];
  std::snprintf(digits, sizeof(digits), "%06u", binary % 1000000u);
  return digits;
}

std::string TotpCodeFromKey(std::string_view key, int64_t unix_seconds) {
  return TotpCodeForStep(key, TotpStep(unix_seconds));
}

std::string TotpCode(std::string_view base32_secret, int64_t unix_seconds) {
  auto key = Base32Decode(base32_secret);
  if (!key) return {};
  return TotpCodeFromKey(*key, unix_seconds);
}

}  // namespace shotgrid_totp
