// Token endpoint and entity read behaviour over real HTTP, per shotgrid-auth.md.
#include <regex>

#include "jwt.h"
#include "random_id.h"
#include "test_support.h"

namespace fake_shotgrid::testing {
namespace {

namespace fx = fixtures;

void ExpectError(const httplib::Result& r, int status, int code, const std::string& title) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, status) << r->body;
  auto body = Json(r);
  ASSERT_EQ(body["errors"].size(), 1u) << r->body;
  const auto& e = body["errors"][0];
  EXPECT_EQ(e["status"], status);
  EXPECT_EQ(e["code"], code);
  EXPECT_EQ(e["title"], title);
  EXPECT_TRUE(std::regex_match(e["id"].get<std::string>(), std::regex("[0-9a-f]{32}")));
  EXPECT_TRUE(e.contains("source") && e.contains("detail") && e.contains("meta"));
  EXPECT_TRUE(e["meta"].is_null());
}

void ExpectToken(const httplib::Result& r, int64_t lifetime = 600) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  auto body = Json(r);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], lifetime);
  EXPECT_FALSE(body["access_token"].get<std::string>().empty());
  EXPECT_FALSE(body["refresh_token"].get<std::string>().empty());
}

nlohmann::json Claims(const std::string& jwt) {
  std::string payload;
  auto a = jwt.find('.'), b = jwt.rfind('.');
  EXPECT_TRUE(Base64UrlDecode(jwt.substr(a + 1, b - a - 1), &payload));
  return nlohmann::json::parse(payload);
}

Form PasswordForm(const fx::BuiltinUser& u) {
  return {{"grant_type", "password"}, {"username", u.login}, {"password", u.password}};
}

class TokenEndpointTest : public SiteTest {};

TEST_F(TokenEndpointTest, PasswordGrantWithout2fa) {
  auto r = Token(PasswordForm(fx::kAlice));
  ExpectToken(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json; charset=utf-8");
  EXPECT_TRUE(std::regex_match(r->get_header_value("x-request-id"), std::regex("[0-9a-f]{32}")));
  auto claims = Claims(Json(r)["access_token"]);
  EXPECT_EQ(claims["user"]["type"], "HumanUser");
  EXPECT_EQ(claims["user"]["id"], fx::kFirstUserId);
  EXPECT_EQ(claims["auth_type"], "password");
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 600);
  for (const char* k : {"iss", "aud", "jti", "sudo_as_login", "session_uuid"}) {
    EXPECT_TRUE(claims.contains(k)) << k;
  }
  // 2FA off: a stray auth_token is ignored.
  auto form = PasswordForm(fx::kAlice);
  form.push_back({"auth_token", "000000"});
  ExpectToken(Token(form, "v1.1"));
}

TEST_F(TokenEndpointTest, WrongPasswordIs102) {
  auto form = PasswordForm(fx::kBob);
  form[2].second = "nope";
  auto r = Token(form);
  ExpectError(r, 400, 102, "Can't authenticate user 'bob'.");
  ExpectError(Token({{"grant_type", "password"}, {"username", "nobody"}, {"password", "x"}}), 400,
              102, "Can't authenticate user 'nobody'.");
  EXPECT_EQ(Stats()["failed_logins"]["bob"], 1);
}

TEST_F(TokenEndpointTest, TwoFactorFlow) {
  site_->settings().ApplyJson({{"two_factor", true}}, nullptr);
  auto r = Token(PasswordForm(fx::kCarol));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  auto e = Json(r)["errors"][0];
  nlohmann::json expected = {{"status", 400},
                             {"code", 106},
                             {"title", "Missing argument for 2FA login"},
                             {"source", {{"auth_token", "missing for 2FA login"}}},
                             {"detail", nullptr},
                             {"meta", nullptr}};
  e.erase("id");
  EXPECT_EQ(e, expected);
  EXPECT_EQ(Stats()["failed_logins"]["carol"], 0);  // a 106 is not a failure

  auto form = PasswordForm(fx::kCarol);
  form.push_back({"auth_token", shotgrid_totp::TotpCode(fx::kCarol.totp_secret, SiteNow())});
  ExpectToken(Token(form));
  // Same code again inside its validity window: spent.
  ExpectError(Token(form), 400, 102, "Can't authenticate user 'carol'.");
  // A wrong code.
  form.back().second = "12345x";
  ExpectError(Token(form), 400, 102, "Can't authenticate user 'carol'.");
  // Backup codes work once.
  form.back().second = fx::kCarol.backup_code_1;
  ExpectToken(Token(form));
  ExpectError(Token(form), 400, 102, "Can't authenticate user 'carol'.");
  EXPECT_EQ(Stats()["failed_logins"]["carol"], 3);
  // Wrong password with a code: still "can't authenticate", checked before the code.
  auto bad = PasswordForm(fx::kCarol);
  bad[2].second = "wrong";
  ExpectError(Token(bad), 400, 102, "Can't authenticate user 'carol'.");
}

TEST_F(TokenEndpointTest, TotpSkewOfOneStepAndSiteClock) {
  site_->settings().ApplyJson({{"two_factor", true}}, nullptr);
  auto form = PasswordForm(fx::kDave);
  form.push_back({"auth_token", shotgrid_totp::TotpCode(fx::kDave.totp_secret, SiteNow() - 30)});
  ExpectToken(Token(form));
  form.back().second = shotgrid_totp::TotpCode(fx::kDave.totp_secret, SiteNow() + 30);
  ExpectToken(Token(form));
  // Two steps off is rejected; shift the site clock instead of waiting.
  ASSERT_EQ(Control("/_fake/clock", {{"offset_seconds", 3600}})->status, 200);
  form.back().second = shotgrid_totp::TotpCode(fx::kDave.totp_secret, SiteNow() - 3600);
  ExpectError(Token(form), 400, 102, "Can't authenticate user 'dave'.");
  form.back().second = shotgrid_totp::TotpCode(fx::kDave.totp_secret, SiteNow());
  ExpectToken(Token(form));
}

TEST_F(TokenEndpointTest, SsoAndIdentitySites) {
  ASSERT_EQ(Control("/_fake/settings", {{"auth_mode", "sso"}})->status, 200);
  ExpectError(Token(PasswordForm(fx::kAlice)), 400, 108,
              "User credentials not allowed for an SSO-enabled site");
  ASSERT_EQ(Control("/_fake/settings", {{"auth_mode", "identity"}})->status, 200);
  ExpectError(Token(PasswordForm(fx::kAlice)), 400, 110,
              "User credentials not allowed for an Autodesk Identity site");
  // Scripts and session tokens are unaffected.
  ExpectToken(Token({{"grant_type", "client_credentials"},
                     {"client_id", fx::kIngestBotName},
                     {"client_secret", fx::kIngestBotKey}}));
  ExpectToken(
      Token({{"grant_type", "session_token"}, {"session_token", fx::kAlice.session_token}}));
}

TEST_F(TokenEndpointTest, ClientCredentials) {
  site_->settings().ApplyJson({{"two_factor", true}, {"token_lifetime", 3600}}, nullptr);
  auto r = Token({{"grant_type", "client_credentials"},
                  {"client_id", fx::kRenderFarmName},
                  {"client_secret", fx::kRenderFarmKey},
                  {"session_uuid", "abc-123"}});
  ExpectToken(r, 3600);
  auto claims = Claims(Json(r)["access_token"]);
  EXPECT_EQ(claims["user"]["type"], "ApiUser");
  EXPECT_EQ(claims["session_uuid"], "abc-123");
  ExpectError(Token({{"grant_type", "client_credentials"},
                     {"client_id", fx::kRenderFarmName},
                     {"client_secret", "wrong"}}),
              400, 102, "Can't authenticate script 'render-farm'");
  ExpectError(Token({{"grant_type", "client_credentials"}, {"client_id", fx::kRenderFarmName}}),
              400, 102, "Missing or invalid authentication arguments");
}

TEST_F(TokenEndpointTest, RefreshRotatesAndKeepsPrincipal) {
  auto first = Token({{"grant_type", "client_credentials"},
                      {"client_id", fx::kIngestBotName},
                      {"client_secret", fx::kIngestBotKey},
                      {"scope", "sudo_as_login:erin"}});
  ExpectToken(first);
  std::string rt1 = Json(first)["refresh_token"];
  auto second = Token({{"grant_type", "refresh_token"}, {"refresh_token", rt1}});
  ExpectToken(second);
  std::string rt2 = Json(second)["refresh_token"];
  EXPECT_NE(rt1, rt2);
  auto claims = Claims(Json(second)["access_token"]);
  EXPECT_EQ(claims["user"]["type"], "ApiUser");
  EXPECT_EQ(claims["sudo_as_login"], "erin");
  EXPECT_EQ(claims["auth_type"], "client_credentials");

  auto reused = Token({{"grant_type", "refresh_token"}, {"refresh_token", rt1}});
  ExpectError(reused, 401, 102, "Unauthorized");
  EXPECT_EQ(Json(reused)["errors"][0]["detail"], "Token invalid");
  ExpectError(Token({{"grant_type", "refresh_token"}, {"refresh_token", "made-up"}}), 401, 102,
              "Unauthorized");

  // The alias official clients send.
  auto third = Token({{"grant_type", "refresh"}, {"refresh_token", rt2}});
  ExpectToken(third);
  EXPECT_EQ(Stats()["requests"]["refresh_token"], 4);

  // Expiry follows the site clock.
  ASSERT_EQ(Control("/_fake/clock", {{"offset_seconds", 2 * 24 * 3600}})->status, 200);
  ExpectError(Token({{"grant_type", "refresh"}, {"refresh_token", Json(third)["refresh_token"]}}),
              401, 102, "Unauthorized");
}

TEST_F(TokenEndpointTest, SessionTokenNotConsumed) {
  Form form = {{"grant_type", "session_token"}, {"session_token", fx::kFrank.session_token}};
  ExpectToken(Token(form));
  ExpectToken(Token(form));
  EXPECT_EQ(Claims(Json(Token(form))["access_token"])["auth_type"], "session_token");
  ExpectError(Token({{"grant_type", "session_token"}, {"session_token", "bogus-abcd"}}), 400, 102,
              "Can't authenticate session token ending with 'abcd'");
}

TEST_F(TokenEndpointTest, QueryStringParameters) {
  std::string q = "/api/v1/auth/access_token?" + EncodeForm(PasswordForm(fx::kGrace));
  auto r = client_->Post(q.c_str(), "", "application/x-www-form-urlencoded");
  ExpectToken(r);
  r = client_->Post(q.c_str());
  ExpectToken(r);
  EXPECT_EQ(Stats()["requests"]["password"], 2);
}

TEST_F(TokenEndpointTest, ContentTypes) {
  auto body = EncodeForm(PasswordForm(fx::kAlice));
  ExpectToken(client_->Post("/api/v1/auth/access_token", body,
                            "application/x-www-form-urlencoded; charset=UTF-8"));
  ExpectError(client_->Post("/api/v1/auth/access_token", body, "text/plain"), 415, 103,
              "Unsupported Content-Type 'text/plain'");
}

TEST_F(TokenEndpointTest, UnsupportedGrantAndRoutes) {
  ExpectError(Token({{"grant_type", "implicit"}}), 400, 103, "Unsupported grant_type");
  ExpectError(Token({{"username", "alice"}}), 400, 103, "Unsupported grant_type");
  auto r = client_->Post("/api/v2/auth/access_token", "grant_type=password",
                         "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(Json(r)["errors"][0]["code"], 103);
  r = client_->Get("/nowhere");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->get_header_value("x-request-id").empty());
  ExpectError(Token({{"grant_type", "password"}, {"username", "alice"}}), 400, 102,
              "Missing or invalid authentication arguments");
  EXPECT_EQ(Stats()["requests"]["other"], 2);
}

TEST_F(TokenEndpointTest, SudoAs) {
  auto form = PasswordForm(fx::kHeidi);
  form.push_back({"scope", "sudo_as_login:mallory"});
  ExpectError(Token(form), 400, 102, "Cannot 'sudo' - user 'mallory' is not active");
  form.back().second = "sudo_as_login:nobody";
  ExpectError(Token(form), 400, 102, "Cannot 'sudo' - user 'nobody' does not exist");
  form.back().second = "sudo_as_login:alice";
  auto r = Token(form);
  ExpectToken(r);
  EXPECT_EQ(Claims(Json(r)["access_token"])["sudo_as_login"], "alice");
  // Mallory herself cannot log in.
  ExpectError(Token(PasswordForm(fx::kMallory)), 400, 102, "Can't authenticate user 'mallory'.");
}

TEST_F(TokenEndpointTest, LockoutAfterTenFailures) {
  auto bad = PasswordForm(fx::kErin);
  bad[2].second = "wrong";
  for (int i = 0; i < 9; ++i) ExpectError(Token(bad), 400, 102, "Can't authenticate user 'erin'.");
  EXPECT_TRUE(Stats()["locked"].empty());
  ExpectError(Token(bad), 400, 102, "Can't authenticate user 'erin'.");
  auto stats = Stats();
  EXPECT_EQ(stats["locked"], nlohmann::json::array({"erin"}));
  EXPECT_EQ(stats["failed_logins"]["erin"], 10);
  // Right password, still refused, and indistinguishable.
  ExpectError(Token(PasswordForm(fx::kErin)), 400, 102, "Can't authenticate user 'erin'.");
  // The lock lasts an hour of site time.
  ASSERT_EQ(Control("/_fake/clock", {{"offset_seconds", 3601}})->status, 200);
  ExpectToken(Token(PasswordForm(fx::kErin)));
  // Reset clears lockouts too.
  ASSERT_EQ(Control("/_fake/clock", {{"offset_seconds", 0}})->status, 200);
  for (int i = 0; i < 10; ++i) Token(bad);
  EXPECT_EQ(Stats()["locked"].size(), 1u);
  ASSERT_EQ(client_->Post("/_fake/reset")->status, 200);
  EXPECT_TRUE(Stats()["locked"].empty());
  ExpectToken(Token(PasswordForm(fx::kErin)));
}

TEST_F(TokenEndpointTest, EntityRead) {
  auto r = Token(PasswordForm(fx::kAlice));
  ExpectToken(r);
  std::string token = Json(r)["access_token"];
  httplib::Headers good = {{"Authorization", "Bearer " + token}};
  auto read = client_->Get("/api/v1/entity/projects", good);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->status, 200);
  EXPECT_EQ(Json(read)["data"][1]["attributes"]["name"], "Commercial B");

  // A signature character away from the end: the last base64url character
  // carries unused bits, so changing it may leave the signature intact.
  std::string tampered = token;
  char& inside = tampered[tampered.size() - 5];
  inside = inside == 'A' ? 'B' : 'A';
  ExpectError(client_->Get("/api/v1/entity/projects", {{"Authorization", "Bearer " + tampered}}),
              401, 102, "Unauthorized");
  ExpectError(client_->Get("/api/v1/entity/projects"), 401, 102, "Unauthorized");
  // A token signed by another key (another run of the site) is refused.
  JwtSigner other;
  ExpectError(client_->Get("/api/v1/entity/projects",
                           {{"Authorization", "Bearer " + other.Sign(Claims(token))}}),
              401, 102, "Unauthorized");
  // Expired by the site clock.
  site_->settings().SetClockOffset(601);
  ExpectError(client_->Get("/api/v1/entity/projects", good), 401, 102, "Unauthorized");
  EXPECT_EQ(Stats()["entity_reads"], 5);
}

TEST_F(TokenEndpointTest, StatsCountByGrant) {
  Token(PasswordForm(fx::kAlice));
  Token({{"grant_type", "client_credentials"}, {"client_id", "x"}, {"client_secret", "y"}});
  Token({{"grant_type", "refresh"}, {"refresh_token", "x"}});
  Token({{"grant_type", "refresh_token"}, {"refresh_token", "x"}});
  Token({{"grant_type", "session_token"}, {"session_token", "x"}});
  Token({{"grant_type", "bogus"}});
  auto s = Stats();
  EXPECT_EQ(s["requests"], nlohmann::json({{"password", 1},
                                           {"client_credentials", 1},
                                           {"refresh_token", 2},
                                           {"session_token", 1},
                                           {"other", 1}}));
  EXPECT_EQ(s["in_flight"], 0);
  EXPECT_EQ(s["max_in_flight"], 1);
  EXPECT_EQ(s["failed_logins"].size(), 9u);
  client_->Post("/_fake/reset");
  EXPECT_EQ(Stats()["requests"]["refresh_token"], 0);
}

TEST_F(TokenEndpointTest, StatsExactUnderConcurrency) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this] {
      httplib::Client c("127.0.0.1", site_->port());
      for (int i = 0; i < 25; ++i) {
        auto r = c.Post("/api/v1/auth/access_token",
                        EncodeForm({{"grant_type", "client_credentials"},
                                    {"client_id", fx::kIngestBotName},
                                    {"client_secret", fx::kIngestBotKey}}),
                        "application/x-www-form-urlencoded");
        EXPECT_TRUE(r && r->status == 200);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Stats()["requests"]["client_credentials"], 200);
}

TEST(FixturesFile, ReplacesBuiltins) {
  Fixtures f;
  std::string error;
  ASSERT_TRUE(ParseFixturesJson(
      R"({"users":[{"login":"zed","password":"p","totp_secret":"JBSWY3DPEHPK3PXP",
         "backup_codes":["1"],"active":true,"session_token":"s"}],
         "scripts":[{"name":"bot","key":"k"}]})",
      &f, &error))
      << error;
  ASSERT_EQ(f.users.size(), 1u);
  EXPECT_EQ(f.users[0].id, fx::kFirstUserId);
  EXPECT_EQ(f.scripts[0].key, "k");
  EXPECT_FALSE(ParseFixturesJson("{\"users\":[{}]}", &f, &error));
}

}  // namespace
}  // namespace fake_shotgrid::testing
