// Unpredictable identifiers (request ids, refresh tokens, JWT ids and keys) from OpenSSL's CSPRNG,
// so nothing a test sees can be guessed or collide across concurrent requests.
#pragma once

#include <cstddef>
#include <string>

namespace fake_shotgrid {

std::string RandomBytes(size_t n);
std::string RandomHex(size_t bytes);                   // 2*bytes lowercase hex characters
std::string Base64UrlEncode(const std::string& data);  // no padding
bool Base64UrlDecode(const std::string& text, std::string* out);

}  // namespace fake_shotgrid
