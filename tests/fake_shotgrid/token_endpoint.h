// The logic of POST /api/v1/auth/access_token, independent of HTTP: grants, 2FA, lockout,
// refresh-token rotation and access-token (JWT) issue/verification, per shotgrid-auth.md. It also
// owns the credential checks and session tokens that /api3/json and the app session launcher share
// with it, so every door into the site sees the same people, codes, lockouts and sessions.
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

// Outcome of checking a person's login, password and 2FA code, in the order the site checks them.
enum class UserCheck {
  kOk,
  kSsoSite,          // passwords refused: the site uses SSO
  kIdentitySite,     // passwords refused: the site uses Autodesk Identity
  kMissingArgument,  // login or password empty
  kBadCredentials,   // unknown, inactive, locked, or wrong password
  kCodeMissing,      // password right, 2FA on, no code
  kBadCode,          // password right, code wrong or already used
};

// Whom a session token stands for.
struct SessionHolder {
  std::string type;  // "HumanUser" or "ApiUser"
  int id = 0;
  std::string login;  // HumanUser login or ApiUser (script) name
};

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

  // Checks a person's credentials; failures count toward the lockout exactly as a REST password
  // grant's do. `code` empty means no 2FA code was sent. On kOk, *user is the person.
  UserCheck CheckUser(const std::string& login, const std::string& password,
                      const std::string& code, const UserFixture** user);
  // The script with this name and key, or null.
  const ScriptFixture* CheckScript(const std::string& name, const std::string& key) const;
  // An active fixture user, or null.
  const UserFixture* ActiveUser(const std::string& login) const;
  // Empty when sudo to `login` is allowed, otherwise the site's "Cannot 'sudo' - ..." message.
  std::string SudoRefusal(const std::string& login) const;

  // Mints a session token for `holder` that expires after the site's session_token_lifetime.
  // Returns the token and its expiry (site clock) in *expires_at.
  std::string MintSessionToken(const SessionHolder& holder, int64_t* expires_at = nullptr);
  // Whom a session token stands for: a fixture user's (never expires while the user is active)
  // or a minted one that has not expired by the site clock.
  std::optional<SessionHolder> ResolveSessionToken(const std::string& token) const;

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
  struct MintedSession {
    SessionHolder holder;
    int64_t expires_at = 0;
  };
  std::unordered_map<std::string, MintedSession> session_tokens_;
};

}  // namespace fake_shotgrid
