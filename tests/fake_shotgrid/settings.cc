// Thread-safe holder for the site's settings and clock offset.
#include "settings.h"

#include <chrono>

namespace fake_shotgrid {

std::optional<AuthMode> ParseAuthMode(const std::string& name) {
  if (name == "password") return AuthMode::kPassword;
  if (name == "sso") return AuthMode::kSso;
  if (name == "identity") return AuthMode::kIdentity;
  return std::nullopt;
}

const char* AuthModeName(AuthMode mode) {
  switch (mode) {
    case AuthMode::kSso:
      return "sso";
    case AuthMode::kIdentity:
      return "identity";
    default:
      return "password";
  }
}

SiteSettings SettingsStore::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

bool SettingsStore::ApplyJson(const nlohmann::json& body, std::string* error) {
  if (!body.is_object()) {
    *error = "settings must be a JSON object";
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  SiteSettings next = current_;
  if (body.contains("two_factor")) {
    if (!body["two_factor"].is_boolean()) {
      *error = "two_factor must be a boolean";
      return false;
    }
    next.two_factor = body["two_factor"].get<bool>();
  }
  if (body.contains("auth_mode")) {
    auto mode = body["auth_mode"].is_string() ? ParseAuthMode(body["auth_mode"].get<std::string>())
                                              : std::nullopt;
    if (!mode) {
      *error = "auth_mode must be password, sso or identity";
      return false;
    }
    next.auth_mode = *mode;
  }
  if (body.contains("token_lifetime")) {
    if (!body["token_lifetime"].is_number_integer() || body["token_lifetime"].get<int64_t>() <= 0) {
      *error = "token_lifetime must be a positive integer";
      return false;
    }
    next.token_lifetime = body["token_lifetime"].get<int64_t>();
  }
  if (body.contains("session_token_lifetime")) {
    const auto& v = body["session_token_lifetime"];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
      *error = "session_token_lifetime must be a positive integer";
      return false;
    }
    next.session_token_lifetime = v.get<int64_t>();
  }
  current_ = next;
  return true;
}

nlohmann::json SettingsStore::ToJson() const {
  SiteSettings s = Get();
  return {{"two_factor", s.two_factor},
          {"auth_mode", AuthModeName(s.auth_mode)},
          {"token_lifetime", s.token_lifetime},
          {"session_token_lifetime", s.session_token_lifetime},
          {"clock_offset_seconds", ClockOffset()},
          {"now", Now()}};
}

int64_t SettingsStore::Now() const {
  auto wall = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  return wall + offset_.load();
}

void SettingsStore::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  current_ = initial_;
  offset_.store(0);
}

}  // namespace fake_shotgrid
