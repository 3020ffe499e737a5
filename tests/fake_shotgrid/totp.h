// RFC 6238 TOTP (HMAC-SHA1, 30 s step, 6 digits) as Google Authenticator and Duo compute it.
// Shared by the fake site (to check codes) and the broker's tests (to produce them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shotgrid_totp {

inline constexpr int64_t kStepSeconds = 30;
inline constexpr int kDigits = 6;

// RFC 4648 base32 (A-Z2-7). Case, spaces, dashes and '=' padding are tolerated because
// authenticator apps show secrets in groups; returns nullopt on any other character.
std::optional<std::string> Base32Decode(std::string_view text);

// Code for the step that contains unix_seconds, from raw key bytes.
std::string TotpCodeFromKey(std::string_view key, int64_t unix_seconds);

// Code for a base32 secret; empty string if the secret is not valid base32.
std::string TotpCode(std::string_view base32_secret, int64_t unix_seconds);

// The step number (T) that contains unix_seconds.
int64_t TotpStep(int64_t unix_seconds);

// Code for an explicit step number (lets a verifier walk neighbouring steps).
std::string TotpCodeForStep(std::string_view key, int64_t step);

}  // namespace shotgrid_totp
