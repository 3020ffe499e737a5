// The logic of POST /api/v1/auth/access_token, independent of HTTP: grants, 2FA, lockout,
// refresh-token rotation and access-token (JWT) issue/verification, per shotgrid-auth.md.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "errors.h"
#include "fixtures.h"
#include "jwt.h"
#include "settings.h"

namespace fake_shotgrid {

// Request parameters after merging body and query string (first value wins).
using TokenParams = std::map<std::string, std::string>;

inline constexpr int kLockoutFailures = 10;
inline constexpr int64_t kLockoutWindowSeconds = 3600;
inline constexpr int64_t kLockoutSeconds = 3600;
inline constexpr int64_t kRefreshTokenLifetimeSeconds = 24 * 3600;

class TokenEndpoint {
 public:
  TokenEndpoint(Fixtures fixtures, SettingsStore& settings);

  ApiReply Handle(const TokenParams& params);

  // Claims of a valid, unexpired (by the site clock) access token.
  std::optional<nlohmann::json> VerifyAccessToken(const std::string& token) const;

  nlohmann::json FailedLoginsJson() const;  // {"alice":N,...} for every fixture user
  nlohmann::json LockedJson() const;        // ["alice",...] locked right now

  // Forget failures, lockouts and used 2FA codes; restore backup codes. Issued tokens survive.
  void Reset();

 private:
  struct Principal {
    std::string type;  // "HumanUser" or "ApiUser"
    int id = 0;
    std::string auth_type;  // "password", "client_credentials" or "session_token"
    std::string sudo_as_login;
    std::string session_uuid;
  };
  struct RefreshEntry {
    Principal principal;
    int64_t expires_at = 0;
  };
  struct UserState {
    std::deque<int64_t> failures;  // site-clock times within the lockout window
    int64_t failed_total = 0;      // since last reset, for /_fake/stats
    int64_t locked_until = 0;
    std::set<int64_t> used_steps;
    std::set<std::string> backup_codes_left;
  };

  ApiReply PasswordGrant(const TokenParams& p);
  ApiReply ClientCredentialsGrant(const TokenParams& p);
  ApiReply RefreshGrant(const TokenParams& p);
  ApiReply SessionTokenGrant(const TokenParams& p);

  // Parses `scope`; on error fills *reply. Empty result means no sudo.
  bool ResolveSudo(const TokenParams& p, std::string* sudo_login, ApiReply* reply) const;
  ApiReply Issue(const Principal& principal);

  // Caller holds mu_.
  void RecordFailureLocked(const std::string& login, int64_t now);
  bool IsLockedLocked(const std::string& login, int64_t now) const;
  bool CheckSecondFactorLocked(const UserFixture& user, const std::string& code, int64_t now);

  const Fixtures fixtures_;
  std::unordered_map<std::string, const UserFixture*> users_by_login_;
  std::unordered_map<std::string, const ScriptFixture*> scripts_by_name_;
  SettingsStore& settings_;
  const JwtSigner signer_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, UserState> user_state_;
  std::unordered_map<std::string, RefreshEntry> refresh_tokens_;
};

}  // namespace fake_shotgrid
