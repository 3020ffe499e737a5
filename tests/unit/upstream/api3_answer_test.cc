// /api3/json get_session_token: the body sent for each kind of AUTH, and each
// answer shotgrid-auth.md lists read into a session token or a reason.
#include "broker/upstream/api3_answer.h"

#include <nlohmann/json.hpp>

#include "broker/common/errors.h"
#include "gtest/gtest.h"

namespace credbroker {
namespace {

SiteAnswer Ok(const std::string& body) { return SiteAnswer{200, "application/json", body, ""}; }

SiteAnswer Fault(int code) {
  return Ok(nlohmann::json{{"exception", true}, {"error_code", code}, {"message", "m"}}.dump());
}

std::optional<Reason> ReasonFor(const SiteAnswer& answer, GrantType grant, bool sent_code) {
  return ReasonOf(MapApi3Answer(answer, AnswerContext{grant, sent_code}).status());
}

TEST(Api3AnswerTest, APersonsBodyCarriesLoginPasswordAndCode) {
  TokenRequest request;
  request.username = "alice";
  request.password = "p\"w";
  request.auth_token = "123456";
  request.session_uuid = "uuid-1";
  const nlohmann::json body = nlohmann::json::parse(EncodeGetSessionToken(request));
  EXPECT_EQ(body["method_name"], "get_session_token");
  const nlohmann::json& auth = body["params"][0];
  EXPECT_EQ(auth["user_login"], "alice");
  EXPECT_EQ(auth["user_password"], "p\"w");
  EXPECT_EQ(auth["auth_token"], "123456");
  EXPECT_EQ(auth["session_uuid"], "uuid-1");
  EXPECT_FALSE(auth.contains("script_name"));
}

TEST(Api3AnswerTest, AScriptsBodyCarriesNameAndKeyOnly) {
  TokenRequest request;
  request.grant = GrantType::kClientCredentials;
  request.script_name = "ingest-bot";
  request.script_key = "key";
  const nlohmann::json auth = nlohmann::json::parse(EncodeGetSessionToken(request))["params"][0];
  EXPECT_EQ(auth["script_name"], "ingest-bot");
  EXPECT_EQ(auth["script_key"], "key");
  EXPECT_FALSE(auth.contains("user_login"));
  EXPECT_FALSE(auth.contains("auth_token"));
}

TEST(Api3AnswerTest, InvalidUtf8IsReplacedNotThrown) {
  TokenRequest request;
  request.username = "bad\xff";
  request.password = "x";
  EXPECT_NO_THROW(nlohmann::json::parse(EncodeGetSessionToken(request)));
}

TEST(Api3AnswerTest, ResultsCarryTheSessionToken) {
  absl::StatusOr<TokenGrant> grant = MapApi3Answer(Ok(R"({"results":{"session_id":"abc123"}})"),
                                                   AnswerContext{GrantType::kPassword, false});
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->session_token, "abc123");
  EXPECT_TRUE(grant->access_token.empty());
  EXPECT_EQ(GrantedToken(*grant), "abc123");
}

TEST(Api3AnswerTest, FaultsMapByWhatWasSent) {
  EXPECT_EQ(ReasonFor(Fault(106), GrantType::kPassword, false), Reason::kSecondFactorRequired);
  // Unlike REST, a wrong code is 106 here.
  EXPECT_EQ(ReasonFor(Fault(106), GrantType::kPassword, true), Reason::kInvalidSecondFactor);
  EXPECT_EQ(ReasonFor(Fault(102), GrantType::kPassword, false), Reason::kInvalidCredentials);
  EXPECT_EQ(ReasonFor(Fault(102), GrantType::kPassword, true), Reason::kInvalidCredentials);
  EXPECT_EQ(ReasonFor(Fault(102), GrantType::kClientCredentials, false), Reason::kInvalidScriptKey);
  EXPECT_EQ(ReasonFor(Fault(108), GrantType::kPassword, false), Reason::kSsoRequired);
  EXPECT_EQ(ReasonFor(Fault(110), GrantType::kPassword, false), Reason::kSsoRequired);
  EXPECT_EQ(ReasonFor(Fault(106), GrantType::kClientCredentials, false),
            Reason::kUpstreamProtocolError);
  EXPECT_EQ(ReasonFor(Fault(999), GrantType::kPassword, false), Reason::kUpstreamProtocolError);
}

TEST(Api3AnswerTest, OutagesAndOddAnswersAreUpstreamErrors) {
  const AnswerContext person{GrantType::kPassword, false};
  const absl::Status busy =
      MapApi3Answer(SiteAnswer{503, "text/html", "<html/>", "7"}, person).status();
  EXPECT_EQ(ReasonOf(busy), Reason::kUpstreamUnavailable);
  EXPECT_TRUE(NotProcessedBySite(busy));
  EXPECT_EQ(RetryAfterOf(busy), absl::Seconds(7));
  for (const char* body :
       {"", "[]", "{}", R"({"results":{}})", R"({"results":{"session_id":""}})",
        R"({"results":{"session_id":5}})", R"({"exception":true,"error_code":"102"})"}) {
    EXPECT_EQ(ReasonOf(MapApi3Answer(Ok(body), person).status()), Reason::kUpstreamProtocolError)
        << body;
  }
  EXPECT_EQ(ReasonOf(MapApi3Answer(SiteAnswer{404, "", "{}", ""}, person).status()),
            Reason::kUpstreamProtocolError);
}

}  // namespace
}  // namespace credbroker
