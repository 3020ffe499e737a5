// Site-wide settings a ShotGrid admin would flip (2FA, SSO/Identity, token lifetime) and the
// site's clock, which tests shift to exercise TOTP skew and token expiry without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace fake_shotgrid {

enum class AuthMode { kPassword, kSso, kIdentity };

std::optional<AuthMode> ParseAuthMode(const std::string& name);
const char* AuthModeName(AuthMode mode);

struct SiteSettings {
  bool two_factor = false;
  AuthMode auth_mode = AuthMode::kPassword;
  int64_t token_lifetime = 600;  // seconds; what real sites were observed to use
  // Session tokens minted by /api3/json get_session_token and the app session launcher live
  // this long by the site clock (real sites tell clients nothing about it).
  int64_t session_token_lifetime = 86400;
};

class SettingsStore {
 public:
  explicit SettingsStore(SiteSettings initial) : initial_(initial), current_(initial) {}

  SiteSettings Get() const;
  // Applies any subset of {"two_factor","auth_mode","token_lifetime","session_token_lifetime"};
  // all-or-nothing.
  bool ApplyJson(const nlohmann::json& body, std::string* error);
  nlohmann::json ToJson() const;

  // Site clock: wall clock plus a test-controlled offset.
  int64_t Now() const;
  void SetClockOffset(int64_t seconds) { offset_.store(seconds); }
  int64_t ClockOffset() const { return offset_.load(); }

  // Back to the command-line settings and a true clock.
  void Reset();

 private:
  const SiteSettings initial_;
  mutable std::mutex mu_;
  SiteSettings current_;
  std::atomic<int64_t> offset_{0};
};

}  // namespace fake_shotgrid
