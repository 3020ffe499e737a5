// Builds the built-in fixture set and reads the --fixtures JSON replacement.
#include "fixtures.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fake_shotgrid {

Fixtures BuiltinFixtures() {
  Fixtures f;
  int id = fixtures::kFirstUserId;
  for (const auto& u : fixtures::kUsers) {
    f.users.push_back(UserFixture{u.login,
                                  u.password,
                                  u.totp_secret,
                                  {u.backup_code_1, u.backup_code_2},
                                  u.active,
                                  u.session_token,
                                  id++});
  }
  f.scripts.push_back(
      {fixtures::kIngestBotName, fixtures::kIngestBotKey, fixtures::kFirstScriptId});
  f.scripts.push_back(
      {fixtures::kRenderFarmName, fixtures::kRenderFarmKey, fixtures::kFirstScriptId + 1});
  return f;
}

bool ParseFixturesJson(const std::string& text, Fixtures* out, std::string* error) {
  Fixtures f;
  try {
    auto doc = nlohmann::json::parse(text);
    int next_user = fixtures::kFirstUserId;
    for (const auto& u : doc.value("users", nlohmann::json::array())) {
      UserFixture user;
      user.login = u.at("login").get<std::string>();
      user.password = u.value("password", "");
      user.totp_secret = u.value("totp_secret", "");
      user.backup_codes = u.value("backup_codes", std::vector<std::string>{});
      user.active = u.value("active", true);
      user.session_token = u.value("session_token", "");
      user.id = u.value("id", next_user);
      next_user = user.id + 1;
      f.users.push_back(std::move(user));
    }
    int next_script = fixtures::kFirstScriptId;
    for (const auto& s : doc.value("scripts", nlohmann::json::array())) {
      ScriptFixture script;
      script.name = s.at("name").get<std::string>();
      script.key = s.at("key").get<std::string>();
      script.id = s.value("id", next_script);
      next_script = script.id + 1;
      f.scripts.push_back(std::move(script));
    }
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
  *out = std::move(f);
  return true;
}

bool LoadFixturesFile(const std::string& path, Fixtures* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseFixturesJson(buffer.str(), out, error);
}

}  // namespace fake_shotgrid
