// Token endpoint rules. Check order matters because the broker infers meaning from it: the
// password is checked before the 2FA code is asked for, so a 106 proves the password was right.
#include "token_endpoint.h"

#include "random_id.h"
#include "totp.h"

namespace fake_shotgrid {

namespace {

std::string Param(const TokenParams& p, const char* name) {
  auto it = p.find(name);
  return it == p.end() ? std::string() : it->second;
}

ApiReply MissingArguments() {
  return ErrorReply(400, 102, "Missing or invalid authentication arguments");
}

ApiReply CantAuthenticateUser(const std::string& login) {
  return ErrorReply(400, 102, "Can't authenticate user '" + login + "'.");
}

}  // namespace

TokenEndpoint::TokenEndpoint(Fixtures fixtures, SettingsStore& settings)
    : fixtures_(std::move(fixtures)), settings_(settings) {
  for (const auto& u : fixtures_.users) users_by_login_[u.login] = &u;
  for (const auto& s : fixtures_.scripts) scripts_by_name_[s.name] = &s;
  Reset();
}

void TokenEndpoint::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  user_state_.clear();
  for (const auto& u : fixtures_.users) {
    user_state_[u.login].backup_codes_left =
        std::set<std::string>(u.backup_codes.begin(), u.backup_codes.end());
  }
}

ApiReply TokenEndpoint::Handle(const TokenParams& params) {
  std::string grant = Param(params, "grant_type");
  if (grant == "password") return PasswordGrant(params);
  if (grant == "client_credentials") return ClientCredentialsGrant(params);
  if (grant == "refresh_token" || grant == "refresh") return RefreshGrant(params);
  if (grant == "session_token") return SessionTokenGrant(params);
  return ErrorReply(400, 103, "Unsupported grant_type");
}

bool TokenEndpoint::ResolveSudo(const TokenParams& p, std::string* sudo_login,
                                ApiReply* reply) const {
  sudo_login->clear();
  std::string scope = Param(p, "scope");
  if (scope.empty()) return true;
  static const std::string kPrefix = "sudo_as_login:";
  if (scope.compare(0, kPrefix.size(), kPrefix) != 0 || scope.size() == kPrefix.size()) {
    *reply = MissingArguments();
    return false;
  }
  std::string login = scope.substr(kPrefix.size());
  auto it = users_by_login_.find(login);
  if (it == users_by_login_.end()) {
    *reply = ErrorReply(400, 102, "Cannot 'sudo' - user '" + login + "' does not exist");
    return false;
  }
  if (!it->second->active) {
    *reply = ErrorReply(400, 102, "Cannot 'sudo' - user '" + login + "' is not active");
    return false;
  }
  *sudo_login = login;
  return true;
}

UserCheck TokenEndpoint::CheckUser(const std::string& login, const std::string& password,
                                   const std::string& code, const UserFixture** user) {
  SiteSettings settings = settings_.Get();
  if (settings.auth_mode == AuthMode::kSso) return UserCheck::kSsoSite;
  if (settings.auth_mode == AuthMode::kIdentity) return UserCheck::kIdentitySite;
  if (login.empty() || password.empty()) return UserCheck::kMissingArgument;

  const int64_t now = settings_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  // A locked account answers exactly like a wrong password, so callers cannot tell.
  if (IsLockedLocked(login, now)) {
    RecordFailureLocked(login, now);
    return UserCheck::kBadCredentials;
  }
  auto it = users_by_login_.find(login);
  if (it == users_by_login_.end() || !it->second->active || it->second->password != password) {
    RecordFailureLocked(login, now);
    return UserCheck::kBadCredentials;
  }
  if (settings.two_factor) {
    if (code.empty()) return UserCheck::kCodeMissing;
    if (!CheckSecondFactorLocked(*it->second, code, now)) {
      RecordFailureLocked(login, now);
      return UserCheck::kBadCode;
    }
  }
  *user = it->second;
  return UserCheck::kOk;
}

const ScriptFixture* TokenEndpoint::CheckScript(const std::string& name,
                                                const std::string& key) const {
  auto it = scripts_by_name_.find(name);
  if (it == scripts_by_name_.end() || key.empty() || it->second->key != key) return nullptr;
  return it->second;
}

const UserFixture* TokenEndpoint::ActiveUser(const std::string& login) const {
  auto it = users_by_login_.find(login);
  return it == users_by_login_.end() || !it->second->active ? nullptr : it->second;
}

std::string TokenEndpoint::SudoRefusal(const std::string& login) const {
  auto it = users_by_login_.find(login);
  if (it == users_by_login_.end()) return "Cannot 'sudo' - user '" + login + "' does not exist";
  if (!it->second->active) return "Cannot 'sudo' - user '" + login + "' is not active";
  return "";
}

std::string TokenEndpoint::MintSessionToken(const SessionHolder& holder, int64_t* expires_at) {
  const int64_t expiry = settings_.Now() + settings_.Get().session_token_lifetime;
  // 32 hex characters, like the tokens real sites hand out.
  std::string token = RandomHex(16);
  {
    std::lock_guard<std::mutex> lock(mu_);
    session_tokens_[token] = {holder, expiry};
  }
  if (expires_at != nullptr) *expires_at = expiry;
  return token;
}

std::optional<SessionHolder> TokenEndpoint::ResolveSessionToken(const std::string& token) const {
  if (token.empty()) return std::nullopt;
  for (const auto& u : fixtures_.users) {
    if (u.active && !u.session_token.empty() && u.session_token == token) {
      return SessionHolder{"HumanUser", u.id, u.login};
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = session_tokens_.find(token);
  if (it == session_tokens_.end() || it->second.expires_at <= settings_.Now()) return std::nullopt;
  if (it->second.holder.type == "HumanUser" && ActiveUser(it->second.holder.login) == nullptr) {
    return std::nullopt;
  }
  return it->second.holder;
}

ApiReply TokenEndpoint::PasswordGrant(const TokenParams& p) {
  std::string login = Param(p, "username");
  const UserFixture* user = nullptr;
  switch (CheckUser(login, Param(p, "password"), Param(p, "auth_token"), &user)) {
    case UserCheck::kOk:
      break;
    case UserCheck::kSsoSite:
      return ErrorReply(400, 108, "User credentials not allowed for an SSO-enabled site");
    case UserCheck::kIdentitySite:
      return ErrorReply(400, 110, "User credentials not allowed for an Autodesk Identity site");
    case UserCheck::kMissingArgument:
      return MissingArguments();
    case UserCheck::kCodeMissing:
      return ErrorReply(400, 106, "Missing argument for 2FA login",
                        {{"auth_token", "missing for 2FA login"}});
    case UserCheck::kBadCredentials:
    case UserCheck::kBadCode:
      return CantAuthenticateUser(login);
  }
  std::string sudo;
  ApiReply error;
  if (!ResolveSudo(p, &sudo, &error)) return error;
  return Issue({"HumanUser", user->id, "password", sudo, Param(p, "session_uuid")});
}

ApiReply TokenEndpoint::ClientCredentialsGrant(const TokenParams& p) {
  std::string name = Param(p, "client_id");
  std::string key = Param(p, "client_secret");
  if (name.empty() || key.empty()) return MissingArguments();
  auto it = scripts_by_name_.find(name);
  if (it == scripts_by_name_.end() || it->second->key != key) {
    return ErrorReply(400, 102, "Can't authenticate script '" + name + "'");
  }
  std::string sudo;
  ApiReply error;
  if (!ResolveSudo(p, &sudo, &error)) return error;
  return Issue({"ApiUser", it->second->id, "client_credentials", sudo, Param(p, "session_uuid")});
}

ApiReply TokenEndpoint::SessionTokenGrant(const TokenParams& p) {
  std::string token = Param(p, "session_token");
  if (token.empty()) return MissingArguments();
  if (auto holder = ResolveSessionToken(token)) {
    return Issue({holder->type, holder->id, "session_token", "", Param(p, "session_uuid")});
  }
  std::string tail = token.size() > 4 ? token.substr(token.size() - 4) : token;
  return ErrorReply(400, 102, "Can't authenticate session token ending with '" + tail + "'");
}

ApiReply TokenEndpoint::RefreshGrant(const TokenParams& p) {
  std::string token = Param(p, "refresh_token");
  if (token.empty()) return MissingArguments();
  Principal principal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = refresh_tokens_.find(token);
    bool valid = it != refresh_tokens_.end() && it->second.expires_at > settings_.Now();
    if (it != refresh_tokens_.end()) {
      principal = it->second.principal;
      // Spent on first presentation, valid or not: concurrent reuse gets exactly one winner.
      refresh_tokens_.erase(it);
    }
    if (!valid) return ErrorReply(401, 102, "Unauthorized", nullptr, "Token invalid");
  }
  return Issue(principal);
}

ApiReply TokenEndpoint::Issue(const Principal& principal) {
  const int64_t now = settings_.Now();
  const int64_t lifetime = settings_.Get().token_lifetime;
  nlohmann::json claims = {
      {"iss", "fake-shotgrid"},
      {"aud", "shotgrid-api"},
      {"iat", now},
      {"exp", now + lifetime},
      {"jti", RandomHex(16)},
      {"user", {{"type", principal.type}, {"id", principal.id}}},
      {"auth_type", principal.auth_type},
      {"sudo_as_login", principal.sudo_as_login.empty() ? nlohmann::json(nullptr)
                                                        : nlohmann::json(principal.sudo_as_login)},
      {"session_uuid", principal.session_uuid.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(principal.session_uuid)},
  };
  std::string refresh = Base64UrlEncode(RandomBytes(32));
  {
    std::lock_guard<std::mutex> lock(mu_);
    refresh_tokens_[refresh] = {principal, now + kRefreshTokenLifetimeSeconds};
  }
  return {200,
          {{"token_type", "Bearer"},
           {"access_token", signer_.Sign(claims)},
           {"expires_in", lifetime},
           {"refresh_token", refresh}}};
}

std::optional<nlohmann::json> TokenEndpoint::VerifyAccessToken(const std::string& token) const {
  auto claims = signer_.Verify(token);
  if (!claims) return std::nullopt;
  auto exp = claims->find("exp");
  if (exp == claims->end() || !exp->is_number_integer() || exp->get<int64_t>() <= settings_.Now()) {
    return std::nullopt;
  }
  if (claims->value("aud", "") != "shotgrid-api") return std::nullopt;
  return claims;
}

void TokenEndpoint::RecordFailureLocked(const std::string& login, int64_t now) {
  // Only real accounts can be locked; unknown names are not tracked (keeps the map bounded).
  if (users_by_login_.count(login) == 0) return;
  UserState& st = user_state_[login];
  ++st.failed_total;
  if (st.locked_until > now) return;  // failures while locked do not extend the lock
  st.failures.push_back(now);
  while (!st.failures.empty() && st.failures.front() <= now - kLockoutWindowSeconds) {
    st.failures.pop_front();
  }
  if (static_cast<int>(st.failures.size()) >= kLockoutFailures) {
    st.locked_until = now + kLockoutSeconds;
    st.failures.clear();
  }
}

bool TokenEndpoint::IsLockedLocked(const std::string& login, int64_t now) const {
  auto it = user_state_.find(login);
  return it != user_state_.end() && it->second.locked_until > now;
}

bool TokenEndpoint::CheckSecondFactorLocked(const UserFixture& user, const std::string& code,
                                            int64_t now) {
  UserState& st = user_state_[user.login];
  auto backup = st.backup_codes_left.find(code);
  if (backup != st.backup_codes_left.end()) {
    st.backup_codes_left.erase(backup);
    return true;
  }
  auto key = shotgrid_totp::Base32Decode(user.totp_secret);
  if (!key || key->empty() || code.size() != shotgrid_totp::kDigits) return false;
  const int64_t step = shotgrid_totp::TotpStep(now);
  for (int64_t s : {step, step - 1, step + 1}) {
    if (shotgrid_totp::TotpCodeForStep(*key, s) == code) {
      // A code is spent for its step, so replaying it inside the skew window fails.
      return st.used_steps.insert(s).second;
    }
  }
  return false;
}

nlohmann::json TokenEndpoint::FailedLoginsJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& u : fixtures_.users) {
    auto it = user_state_.find(u.login);
    out[u.login] = it == user_state_.end() ? 0 : it->second.failed_total;
  }
  return out;
}

nlohmann::json TokenEndpoint::LockedJson() const {
  const int64_t now = settings_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& u : fixtures_.users) {
    if (IsLockedLocked(u.login, now)) out.push_back(u.login);
  }
  return out;
}

}  // namespace fake_shotgrid
