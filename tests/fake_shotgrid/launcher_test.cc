// The app session launcher over real HTTP, as tk-core drives it: create a request, poll with PUT,
// approve or reject through the control API or the approval page, expiry after 180 s by the site
// clock, and the approved session token working on both doors.
#include <regex>

#include "test_support.h"

namespace fake_shotgrid::testing {
namespace {

namespace fx = fixtures;

class LauncherTest : public SiteTest {
 protected:
  // POST /internal_api/app_session_request; returns the site's request id.
  std::string Create(const std::string& app = "tk-desktop", const std::string& machine = "ws-042") {
    auto r = client_->Post("/internal_api/app_session_request",
                           EncodeForm({{"appName", app}, {"machineId", machine}}),
                           "application/x-www-form-urlencoded");
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 200) << r->body;
    auto body = Json(r);
    std::string id = body.value("sessionRequestId", "");
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{32}"))) << r->body;
    EXPECT_EQ(body["url"], site_->base_url() + "/app_session_request/" + id);
    return id;
  }
  httplib::Result Poll(const std::string& id) {
    return client_->Put(("/internal_api/app_session_request/" + id).c_str(), "", "text/plain");
  }
  void ExpectPending(const std::string& id) {
    auto r = Poll(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(Json(r), nlohmann::json({{"approved", false}}));
  }
  void ExpectGone(const std::string& id) {
    auto r = Poll(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    // tk-core only says "rejected or expired" when the 404 carries JSON.
    EXPECT_EQ(Json(r)["message"], "The request has been rejected or has expired.");
  }
  httplib::Result Decide(const std::string& id, const nlohmann::json& body) {
    return Control("/_fake/app_session_request/" + id, body);
  }
  nlohmann::json Api3Read(const std::string& session_token) {
    nlohmann::json body = {{"method_name", "read"},
                           {"params",
                            {{{"session_token", session_token}, {"reject_if_expired", true}},
                             {{"type", "Project"},
                              {"return_fields", {"name"}},
                              {"filters", nlohmann::json::object()}}}}};
    return Json(client_->Post("/api3/json", body.dump(), "application/json"));
  }
};

TEST_F(LauncherTest, ApprovedThroughControlApi) {
  site_->settings().ApplyJson({{"auth_mode", "sso"}}, nullptr);
  std::string id = Create();
  ExpectPending(id);
  ExpectPending(id);
  auto d = Decide(id, {{"approve_as", "alice"}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(Json(d), nlohmann::json({{"state", "approved"}}));
  auto r = Poll(id);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  auto body = Json(r);
  EXPECT_EQ(body["approved"], true);
  EXPECT_EQ(body["userLogin"], "alice");
  std::string token = body["sessionToken"];
  EXPECT_EQ(token.size(), 32u);
  // Polling again gives the same answer until the request expires.
  EXPECT_EQ(Json(Poll(id)), body);
  // The token works on /api3/json and for the REST session_token grant.
  EXPECT_EQ(Api3Read(token)["results"]["entities"].size(), 2u);
  auto t = Token({{"grant_type", "session_token"}, {"session_token", token}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 200) << t->body;
  // A decided request cannot be decided again.
  EXPECT_EQ(Decide(id, {{"reject", true}})->status, 404);
  auto stats = Stats()["launcher"];
  EXPECT_EQ(stats, nlohmann::json({{"create", 1}, {"poll", 4}, {"approve", 1}, {"reject", 0}}));
  auto list = Json(client_->Get("/_fake/app_session_request"))["requests"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["state"], "approved");
  EXPECT_EQ(list[0]["user_login"], "alice");
  EXPECT_EQ(list[0]["app_name"], "tk-desktop");
  EXPECT_EQ(list[0]["machine_id"], "ws-042");
  EXPECT_FALSE(list[0].contains("session_token"));
}

TEST_F(LauncherTest, RejectedUnknownAndExpired) {
  std::string rejected = Create();
  ASSERT_EQ(Decide(rejected, {{"reject", true}})->status, 200);
  ExpectGone(rejected);
  ExpectGone("0123456789abcdef0123456789abcdef");
  EXPECT_EQ(Decide("0123456789abcdef0123456789abcdef", {{"reject", true}})->status, 404);

  std::string old = Create();
  site_->settings().SetClockOffset(170);
  ExpectPending(old);
  site_->settings().SetClockOffset(180);
  ExpectGone(old);
  EXPECT_EQ(Decide(old, {{"approve_as", "bob"}})->status, 404);
  EXPECT_EQ(Json(client_->Get("/_fake/app_session_request"))["requests"][1]["state"], "expired");

  // Bad knob bodies and users.
  std::string id = Create();
  EXPECT_EQ(Decide(id, {{"approve_as", "mallory"}})->status, 400);
  EXPECT_EQ(Decide(id, {{"approve_as", "nobody"}})->status, 400);
  EXPECT_EQ(Decide(id, nlohmann::json::object())->status, 400);
  EXPECT_EQ(Decide(id, {{"approve_as", "bob"}, {"reject", true}})->status, 400);
  ExpectPending(id);

  // Both form fields are required.
  auto r = client_->Post("/internal_api/app_session_request", "appName=tk-desktop",
                         "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Stats()["launcher"],
            nlohmann::json({{"create", 4}, {"poll", 5}, {"approve", 0}, {"reject", 1}}));
}

TEST_F(LauncherTest, ApprovalPage) {
  std::string id = Create("tk-maya <3", "ws-7");
  auto page = client_->Get(("/app_session_request/" + id).c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("tk-maya &lt;3"), std::string::npos);
  EXPECT_NE(page->body.find("action=\"/app_session_request/" + id + "\""), std::string::npos);
  EXPECT_NE(page->body.find(">Approve</button>"), std::string::npos);

  const std::string path = "/app_session_request/" + id;
  // A wrong password shows the form again and decides nothing.
  auto r = client_->Post(
      path.c_str(), EncodeForm({{"login", "heidi"}, {"password", "x"}, {"decision", "approve"}}),
      "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("Wrong login or password."), std::string::npos);
  ExpectPending(id);
  r = client_->Post(
      path.c_str(),
      EncodeForm({{"login", "heidi"}, {"password", fx::kHeidi.password}, {"decision", "approve"}}),
      "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("Approved."), std::string::npos);
  EXPECT_EQ(r->body.find(fx::kHeidi.password), std::string::npos);
  auto poll = Json(Poll(id));
  EXPECT_EQ(poll["userLogin"], "heidi");
  // The page of a decided request is gone.
  EXPECT_EQ(client_->Get(path.c_str())->status, 404);

  std::string other = Create();
  r = client_->Post(("/app_session_request/" + other).c_str(), "decision=reject",
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ExpectGone(other);
  EXPECT_EQ(Stats()["launcher"],
            nlohmann::json({{"create", 2}, {"poll", 3}, {"approve", 1}, {"reject", 1}}));
}

TEST_F(LauncherTest, FailedPollsKnob) {
  std::string id = Create();
  auto d = Decide(id, {{"fail_polls", 2}, {"status", 502}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 200) << d->body;
  for (int i = 0; i < 2; ++i) {
    auto r = Poll(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502);
  }
  ExpectPending(id);
  ASSERT_EQ(Decide(id, {{"approve_as", "bob"}})->status, 200);
  ASSERT_EQ(Decide(id, {{"fail_polls", 1}})->status, 200);
  EXPECT_EQ(Poll(id)->status, 503);
  EXPECT_EQ(Json(Poll(id))["userLogin"], "bob");
  EXPECT_EQ(Decide(id, {{"fail_polls", 1}, {"status", 404}})->status, 400);
  EXPECT_EQ(Decide("0123456789abcdef0123456789abcdef", {{"fail_polls", 1}})->status, 404);
  EXPECT_EQ(Stats()["launcher"]["poll"], 5);
}

TEST_F(LauncherTest, ResetForgetsRequests) {
  std::string id = Create();
  ASSERT_EQ(client_->Post("/_fake/reset")->status, 200);
  ExpectGone(id);
  EXPECT_EQ(Json(client_->Get("/_fake/app_session_request"))["requests"].size(), 0u);
}

}  // namespace
}  // namespace fake_shotgrid::testing
