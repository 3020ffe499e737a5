// /api3/json over real HTTP, as shotgun_api3 3.10 speaks it: info, get_session_token and reads,
// user/script/session-token AUTH, 2FA, SSO/Identity refusals, session-token expiry and the REST
// session_token grant for minted tokens, with exact counters.
#include "test_support.h"

namespace fake_shotgrid::testing {
namespace {

namespace fx = fixtures;

class Api3Test : public SiteTest {
 protected:
  // params as shotgun_api3 sends them: [AUTH, PARAMS?], or [] for info.
  httplib::Result Call(const std::string& method, const std::vector<nlohmann::json>& params) {
    nlohmann::json body = {{"method_name", method}, {"params", nlohmann::json(params)}};
    return client_->Post("/api3/json", body.dump(), "application/json; charset=utf-8");
  }
  // The "results" of a successful call.
  nlohmann::json Results(const httplib::Result& r) {
    EXPECT_TRUE(r) << httplib::to_string(r.error());
    if (!r) return nullptr;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json; charset=utf-8");
    auto body = Json(r);
    EXPECT_FALSE(body.contains("exception")) << r->body;
    return body["results"];
  }
  // A failure: HTTP 200 with the exception body shotgun_api3 reads.
  void ExpectFault(const httplib::Result& r, int code, const std::string& message) {
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
    auto body = Json(r);
    EXPECT_EQ(body["exception"], true) << r->body;
    EXPECT_EQ(body["error_code"], code) << r->body;
    EXPECT_EQ(body["message"], message);
    EXPECT_FALSE(body.contains("results"));
  }
  nlohmann::json UserAuth(const fx::BuiltinUser& u, const std::string& code = "") {
    nlohmann::json auth = {{"user_login", u.login}, {"user_password", u.password}};
    if (!code.empty()) auth["auth_token"] = code;
    return auth;
  }
  nlohmann::json ScriptAuth() {
    return {{"script_name", fx::kIngestBotName}, {"script_key", fx::kIngestBotKey}};
  }
  nlohmann::json SessionAuth(const std::string& token) {
    return {{"session_token", token}, {"reject_if_expired", true}};
  }
  nlohmann::json ReadProjects(const nlohmann::json& fields = {"name"}) {
    return {{"type", "Project"},
            {"return_fields", fields},
            {"filters", {{"logical_operator", "and"}, {"conditions", nlohmann::json::array()}}},
            {"return_only", "active"},
            {"paging", {{"entities_per_page", 500}, {"current_page", 1}}},
            {"return_paging_info_without_counts", true}};
  }
  std::string SessionToken(const nlohmann::json& auth) {
    auto results = Results(Call("get_session_token", {auth}));
    return results.is_object() ? results.value("session_id", "") : "";
  }
};

TEST_F(Api3Test, InfoNeedsNoAuthAndNamesTheAuthMethod) {
  auto info = Results(Call("info", {}));
  EXPECT_EQ(info["version"], nlohmann::json({8, 0, 0}));
  EXPECT_EQ(info["full_version"], nlohmann::json({8, 0, 0, 0}));
  EXPECT_EQ(info["user_authentication_method"], "default");
  ASSERT_EQ(Control("/_fake/settings", {{"auth_mode", "sso"}})->status, 200);
  EXPECT_EQ(Results(Call("info", {}))["user_authentication_method"], "saml2");
  ASSERT_EQ(Control("/_fake/settings", {{"auth_mode", "identity"}})->status, 200);
  EXPECT_EQ(Results(Call("info", {}))["user_authentication_method"], "oxygen");
  auto stats = Stats()["api3"];
  EXPECT_EQ(stats["info"], 3);
  EXPECT_EQ(stats["by_auth"]["none"], 3);
  EXPECT_EQ(stats["by_method_and_auth"], nlohmann::json({{"info.none", 3}}));
}

TEST_F(Api3Test, ReadProjectsLikeTheRestEndpoint) {
  auto results = Results(Call("read", {ScriptAuth(), ReadProjects()}));
  EXPECT_EQ(results["entities"],
            nlohmann::json::parse(R"([{"type":"Project","id":1,"name":"Feature Film A"},
                                      {"type":"Project","id":2,"name":"Commercial B"}])"));
  EXPECT_EQ(results["paging_info"]["has_next_page"], false);
  // Default fields are type and id only; an "is" filter on id narrows the answer.
  auto params = ReadProjects({"id"});
  params["filters"]["conditions"] = {{{"path", "id"}, {"relation", "is"}, {"values", {2}}}};
  EXPECT_EQ(Results(Call("read", {ScriptAuth(), params}))["entities"],
            nlohmann::json::parse(R"([{"type":"Project","id":2}])"));
  // Paging: one per page, second page, then past the end.
  params = ReadProjects();
  params["paging"] = {{"entities_per_page", 1}, {"current_page", 2}};
  results = Results(Call("read", {ScriptAuth(), params}));
  EXPECT_EQ(results["entities"].size(), 1u);
  EXPECT_EQ(results["entities"][0]["id"], 2);
  EXPECT_EQ(results["paging_info"]["has_next_page"], false);
  params["paging"]["current_page"] = 1;
  EXPECT_EQ(Results(Call("read", {ScriptAuth(), params}))["paging_info"]["has_next_page"], true);
  // Other entity types are not served.
  params["type"] = "Shot";
  ExpectFault(Call("read", {ScriptAuth(), params}), 103,
              "API read() only Project entities are served by this site");
  auto stats = Stats()["api3"];
  EXPECT_EQ(stats["read"], 5);
  EXPECT_EQ(stats["by_method_and_auth"], nlohmann::json({{"read.script", 5}}));
}

TEST_F(Api3Test, BadCredentials) {
  auto auth = UserAuth(fx::kBob);
  auth["user_password"] = "wrong";
  ExpectFault(Call("read", {auth, ReadProjects()}), 102, "Can't authenticate user 'bob'.");
  ExpectFault(Call("read", {UserAuth(fx::kMallory), ReadProjects()}), 102,
              "Can't authenticate user 'mallory'.");
  ExpectFault(
      Call("read", {{{"script_name", fx::kIngestBotName}, {"script_key", "nope"}}, ReadProjects()}),
      102, "Can't authenticate script 'ingest-bot'");
  ExpectFault(Call("read", {SessionAuth("made-up-token-9z9z"), ReadProjects()}), 102,
              "Can't authenticate session token ending with '9z9z': unknown or expired session");
  ExpectFault(Call("read", {{{"user_login", "alice"}}, ReadProjects()}), 102,
              "Missing or invalid authentication arguments");
  ExpectFault(Call("read", {}), 102, "Missing or invalid authentication arguments");
  ExpectFault(Call("frobnicate", {ScriptAuth()}), 103, "Unknown method 'frobnicate'");
  auto r = client_->Post("/api3/json", "{not json", "application/json");
  ExpectFault(r, 103, "Invalid JSON body");
  // Wrong passwords here count toward the same lockout as REST logins.
  EXPECT_EQ(Stats()["failed_logins"]["bob"], 1);
  auto stats = Stats()["api3"];
  EXPECT_EQ(stats["by_auth"],
            nlohmann::json(
                {{"none", 0}, {"user", 3}, {"script", 2}, {"session_token", 1}, {"invalid", 2}}));
  EXPECT_EQ(stats["read"], 6);
  EXPECT_EQ(stats["other"], 2);
}

TEST_F(Api3Test, SessionTokensForPeopleAndScripts) {
  std::string person = SessionToken(UserAuth(fx::kAlice));
  std::string script = SessionToken(ScriptAuth());
  EXPECT_EQ(person.size(), 32u);
  EXPECT_NE(person, script);
  // A session token works as AUTH, again and again.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Results(Call("read", {SessionAuth(person), ReadProjects()}))["entities"].size(), 2u);
  }
  EXPECT_EQ(Results(Call("read", {SessionAuth(script), ReadProjects()}))["entities"].size(), 2u);
  // The fixture users' own session tokens too.
  EXPECT_EQ(Results(Call("read", {SessionAuth(fx::kBob.session_token), ReadProjects()}))["entities"]
                .size(),
            2u);
  // And for the REST session_token grant, which does not consume them.
  for (const auto& [token, type] : {std::pair{person, "HumanUser"}, {script, "ApiUser"}}) {
    auto r = Token({{"grant_type", "session_token"}, {"session_token", token}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_FALSE(Json(r)["refresh_token"].get<std::string>().empty());
    auto claims = site_->endpoint().VerifyAccessToken(Json(r)["access_token"]);
    ASSERT_TRUE(claims);
    EXPECT_EQ((*claims)["user"]["type"], type);
    EXPECT_EQ((*claims)["auth_type"], "session_token");
  }
  EXPECT_EQ(Results(Call("read", {SessionAuth(person), ReadProjects()}))["entities"].size(), 2u);
  auto stats = Stats();
  EXPECT_EQ(stats["api3"]["by_method_and_auth"], nlohmann::json({{"get_session_token.user", 1},
                                                                 {"get_session_token.script", 1},
                                                                 {"read.session_token", 5}}));
  EXPECT_EQ(stats["requests"]["session_token"], 2);
}

TEST_F(Api3Test, SessionTokensExpireBySiteClock) {
  ASSERT_EQ(Control("/_fake/settings", {{"session_token_lifetime", 120}})->status, 200);
  std::string token = SessionToken(UserAuth(fx::kCarol));
  site_->settings().SetClockOffset(100);
  EXPECT_EQ(Results(Call("read", {SessionAuth(token), ReadProjects()}))["entities"].size(), 2u);
  site_->settings().SetClockOffset(120);
  ExpectFault(Call("read", {SessionAuth(token), ReadProjects()}), 102,
              "Can't authenticate session token ending with '" + token.substr(28) +
                  "': unknown or expired session");
  auto r = Token({{"grant_type", "session_token"}, {"session_token", token}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json(r)["errors"][0]["code"], 102);
  EXPECT_EQ(Json(r)["errors"][0]["title"],
            "Can't authenticate session token ending with '" + token.substr(28) + "'");
  // The default lifetime is a day.
  EXPECT_EQ(SiteSettings{}.session_token_lifetime, 86400);
}

TEST_F(Api3Test, TwoFactor) {
  site_->settings().ApplyJson({{"two_factor", true}}, nullptr);
  // No code: 106, and not a failure (the password was right).
  ExpectFault(Call("get_session_token", {UserAuth(fx::kDave)}), 106,
              "Missing argument for 2FA login");
  EXPECT_EQ(Stats()["failed_logins"]["dave"], 0);
  // Wrong code: 106 too on this door (REST says 102), and it is a failure.
  ExpectFault(Call("get_session_token", {UserAuth(fx::kDave, "000000x")}), 106,
              "Invalid or already used 2FA code for user 'dave'.");
  EXPECT_EQ(Stats()["failed_logins"]["dave"], 1);
  // Wrong password with a code: 102, checked before the code.
  auto bad = UserAuth(fx::kDave, "123456");
  bad["user_password"] = "wrong";
  ExpectFault(Call("get_session_token", {bad}), 102, "Can't authenticate user 'dave'.");
  // Right TOTP code once; spent afterwards, also for REST.
  std::string code = shotgrid_totp::TotpCode(fx::kDave.totp_secret, SiteNow());
  std::string token = SessionToken(UserAuth(fx::kDave, code));
  EXPECT_EQ(token.size(), 32u);
  ExpectFault(Call("get_session_token", {UserAuth(fx::kDave, code)}), 106,
              "Invalid or already used 2FA code for user 'dave'.");
  auto r = Token({{"grant_type", "password"},
                  {"username", fx::kDave.login},
                  {"password", fx::kDave.password},
                  {"auth_token", code}});
  ASSERT_TRUE(r);
  EXPECT_EQ(Json(r)["errors"][0]["code"], 102);
  // Backup codes: single use, shared with REST.
  EXPECT_EQ(SessionToken(UserAuth(fx::kDave, fx::kDave.backup_code_1)).size(), 32u);
  ExpectFault(Call("get_session_token", {UserAuth(fx::kDave, fx::kDave.backup_code_1)}), 106,
              "Invalid or already used 2FA code for user 'dave'.");
  // The session token carries the login on, with no code.
  EXPECT_EQ(Results(Call("read", {SessionAuth(token), ReadProjects()}))["entities"].size(), 2u);
  // Scripts are unaffected by 2FA.
  EXPECT_EQ(SessionToken(ScriptAuth()).size(), 32u);
  EXPECT_EQ(Stats()["failed_logins"]["dave"], 5);
  EXPECT_EQ(Stats()["api3"]["get_session_token"], 8);
}

TEST_F(Api3Test, SsoAndIdentitySitesRefusePasswords) {
  ASSERT_EQ(Control("/_fake/settings", {{"auth_mode", "sso"}})->status, 200);
  ExpectFault(Call("get_session_token", {UserAuth(fx::kErin)}), 108,
              "Authentication using username/password is not allowed for an SSO-enabled site");
  ASSERT_EQ(Control("/_fake/settings", {{"auth_mode", "identity"}})->status, 200);
  ExpectFault(Call("get_session_token", {UserAuth(fx::kErin)}), 110,
              "Authentication using username/password is not allowed for an Autodesk Identity "
              "enabled site");
  // Scripts and session tokens still work.
  std::string token = SessionToken(ScriptAuth());
  EXPECT_EQ(Results(Call("read", {SessionAuth(token), ReadProjects()}))["entities"].size(), 2u);
  EXPECT_EQ(
      Results(Call("read", {SessionAuth(fx::kErin.session_token), ReadProjects()}))["entities"]
          .size(),
      2u);
}

TEST_F(Api3Test, SudoAsAndSessionUuid) {
  auto auth = ScriptAuth();
  auth["sudo_as_login"] = "frank";
  auth["session_uuid"] = "3f1c0a4e-1111-2222-3333-444455556666";
  EXPECT_EQ(Results(Call("read", {auth, ReadProjects()}))["entities"].size(), 2u);
  auth["sudo_as_login"] = "mallory";
  ExpectFault(Call("read", {auth, ReadProjects()}), 102,
              "Cannot 'sudo' - user 'mallory' is not active");
  auth["sudo_as_login"] = "nobody";
  ExpectFault(Call("read", {auth, ReadProjects()}), 102,
              "Cannot 'sudo' - user 'nobody' does not exist");
}

TEST_F(Api3Test, ControlApiMintsSessionTokens) {
  auto r = Control("/_fake/session_token", {{"login", "grace"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::string token = Json(r)["session_token"];
  const int64_t expires_at = Json(r)["expires_at"];
  EXPECT_LE(expires_at, SiteNow() + 86400);
  EXPECT_GE(expires_at, SiteNow() + 86400 - 1);
  EXPECT_EQ(Results(Call("read", {SessionAuth(token), ReadProjects()}))["entities"].size(), 2u);
  r = Control("/_fake/session_token", {{"script", fx::kRenderFarmName}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Control("/_fake/session_token", {{"login", "mallory"}})->status, 400);
  EXPECT_EQ(Control("/_fake/session_token", {{"script", "nope"}})->status, 400);
  EXPECT_EQ(Control("/_fake/session_token", nlohmann::json::object())->status, 400);
  // Control calls are not site traffic.
  EXPECT_EQ(Stats()["api3"]["get_session_token"], 0);
}

TEST_F(Api3Test, ResetZeroesCounters) {
  Call("info", {});
  Call("read", {ScriptAuth(), ReadProjects()});
  ASSERT_EQ(client_->Post("/_fake/reset")->status, 200);
  auto api3 = Stats()["api3"];
  EXPECT_EQ(api3["info"], 0);
  EXPECT_EQ(api3["read"], 0);
  EXPECT_EQ(api3["by_method_and_auth"], nlohmann::json::object());
}

}  // namespace
}  // namespace fake_shotgrid::testing
