// Table-driven test of MapSiteAnswer over every row of the error table in
// shotgrid-auth.md (and success), in the spirit of google-cloud-cpp's
// MapHttpCodeToStatus test: each row is (HTTP answer, what was asked) →
// (status code, broker reason, retry_after).
#include "broker/upstream/site_answer.h"

#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "broker/common/errors.h"
#include "gtest/gtest.h"

namespace credbroker {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kHtml[] = "text/html";

// The JSON:API envelope exactly as the site writes it (one error).
std::string Envelope(int status, int code, absl::string_view title,
                     absl::string_view source = "null", absl::string_view detail = "null") {
  return absl::StrCat(R"({"errors":[{"id":"0123456789abcdef0123456789abcdef","status":)", status,
                      R"(,"code":)", code, R"(,"title":")", title, R"(","source":)", source,
                      R"(,"detail":)", detail, R"(,"meta":null}]})");
}

std::string HtmlPage(int status) {
  return absl::StrCat("<html><head><title>", status, "</title></head><body><h1>", status,
                      " error</h1><p>nginx</p></body></html>");
}

struct Row {
  std::string name;
  long http = 0;
  std::string content_type;
  std::string body;
  GrantType grant = GrantType::kPassword;
  bool sent_second_factor = false;
  std::string retry_after_header;
  // Expected: a grant when `ok`, else the code and reason.
  bool ok = false;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::optional<Reason> reason;
  std::optional<absl::Duration> retry_after;
  // For successes.
  std::string access_token;
  std::string refresh_token;
  absl::Duration expires_in;
};

std::ostream& operator<<(std::ostream& os, const Row& row) { return os << row.name; }

Row Success(std::string name, std::string body, std::string access, std::string refresh,
            absl::Duration expires_in, GrantType grant = GrantType::kPassword) {
  Row row;
  row.name = std::move(name);
  row.http = 200;
  row.content_type = kJson;
  row.body = std::move(body);
  row.grant = grant;
  row.ok = true;
  row.access_token = std::move(access);
  row.refresh_token = std::move(refresh);
  row.expires_in = expires_in;
  return row;
}

Row Failure(std::string name, long http, std::string body, GrantType grant, bool sent_code,
            Reason reason, std::string content_type = kJson) {
  Row row;
  row.name = std::move(name);
  row.http = http;
  row.content_type = std::move(content_type);
  row.body = std::move(body);
  row.grant = grant;
  row.sent_second_factor = sent_code;
  row.code = ReasonCode(reason);
  row.reason = reason;
  return row;
}

Row WithRetry(Row row, std::string header, std::optional<absl::Duration> expected) {
  row.retry_after_header = std::move(header);
  row.retry_after = expected;
  return row;
}

constexpr GrantType kPassword = GrantType::kPassword;
constexpr GrantType kScript = GrantType::kClientCredentials;
constexpr GrantType kRefresh = GrantType::kRefreshToken;

std::vector<Row> Rows() {
  const std::string k106 = Envelope(400, 106, "Missing argument for 2FA login",
                                    R"({"auth_token":"missing for 2FA login"})");
  const std::string k102User = Envelope(400, 102, "Can't authenticate user 'jdoe'.");
  const std::string k102Script = Envelope(400, 102, "Can't authenticate script 'pipeline'");
  const std::string k102Missing = Envelope(400, 102, "Missing or invalid authentication arguments");
  const std::string k103Missing = Envelope(400, 103, "Missing or invalid authentication arguments");
  const std::string k401Refresh = Envelope(401, 102, "Unauthorized", "null", R"("Token invalid")");
  const std::string kSudo = Envelope(
      400, 102, "Cannot 'sudo' - HumanUser 'ghost' is not active or cannot be impersonated");

  std::vector<Row> rows = {
      // ---- success ----
      Success(
          "Success600",
          R"({"token_type":"Bearer","access_token":"at-1","expires_in":600,"refresh_token":"rt-1"})",
          "at-1", "rt-1", absl::Seconds(600)),
      // The forum example: 3600. expires_in is read, never assumed.
      Success(
          "Success3600",
          R"({"token_type":"Bearer","access_token":"at-2","expires_in":3600,"refresh_token":"rt-2"})",
          "at-2", "rt-2", absl::Seconds(3600)),
      Success(
          "SuccessScriptAlsoGetsRefreshToken",
          R"({"token_type":"Bearer","access_token":"at-3","expires_in":600,"refresh_token":"rt-3"})",
          "at-3", "rt-3", absl::Seconds(600), kScript),
      Success("SuccessWithoutRefreshToken",
              R"({"token_type":"Bearer","access_token":"at-4","expires_in":600})", "at-4", "",
              absl::Seconds(600), kRefresh),
      Success(
          "SuccessLowercaseBearerAndFractionalExpiry",
          R"({"token_type":"bearer","access_token":"at-5","expires_in":90.5,"refresh_token":null})",
          "at-5", "", absl::Milliseconds(90500)),

      // ---- 200 that cannot be used ----
      Failure("Ok200MissingAccessToken", 200,
              R"({"token_type":"Bearer","expires_in":600,"refresh_token":"rt"})", kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Ok200EmptyAccessToken", 200,
              R"({"token_type":"Bearer","access_token":"","expires_in":600})", kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Ok200MissingExpiresIn", 200, R"({"token_type":"Bearer","access_token":"at"})",
              kPassword, false, Reason::kUpstreamProtocolError),
      Failure("Ok200ExpiresInString", 200,
              R"({"token_type":"Bearer","access_token":"at","expires_in":"600"})", kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Ok200ExpiresInZero", 200,
              R"({"token_type":"Bearer","access_token":"at","expires_in":0})", kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Ok200ExpiresInNegative", 200,
              R"({"token_type":"Bearer","access_token":"at","expires_in":-5})", kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Ok200NotBearer", 200, R"({"token_type":"MAC","access_token":"at","expires_in":600})",
              kPassword, false, Reason::kUpstreamProtocolError),
      Failure("Ok200GarbageBody", 200, "this is not json {", kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Ok200HtmlBody", 200, HtmlPage(200), kPassword, false, Reason::kUpstreamProtocolError,
              kHtml),
      Failure("Ok200EmptyBody", 200, "", kPassword, false, Reason::kUpstreamProtocolError),
      Failure("Ok200JsonArray", 200, "[1,2,3]", kPassword, false, Reason::kUpstreamProtocolError),

      // ---- 106: second factor ----
      Failure("Code106PasswordWithoutCode", 400, k106, kPassword, false,
              Reason::kSecondFactorRequired),
      // The code was sent and the site still asks for one: the code was not
      // accepted, which counts as a wrong code (as /api3/json answers it).
      Failure("Code106PasswordWithCode", 400, k106, kPassword, true, Reason::kInvalidSecondFactor),
      Failure("Code106ForScript", 400, k106, kScript, false, Reason::kUpstreamProtocolError),

      // ---- 102: credentials refused ----
      Failure("Code102PasswordWithoutCode", 400, k102User, kPassword, false,
              Reason::kInvalidCredentials),
      Failure("Code102PasswordWithCode", 400, k102User, kPassword, true,
              Reason::kInvalidSecondFactor),
      Failure("Code102Script", 400, k102Script, kScript, false, Reason::kInvalidScriptKey),
      Failure("Code102SudoPassword", 400, kSudo, kPassword, false, Reason::kCallerNotAllowed),
      Failure("Code102SudoScript", 400, kSudo, kScript, false, Reason::kCallerNotAllowed),
      Failure("Code102MissingArguments", 400, k102Missing, kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Code103MissingArguments", 400, k103Missing, kScript, false,
              Reason::kUpstreamProtocolError),

      // ---- refresh ----
      Failure("Refresh401Code102", 401, k401Refresh, kRefresh, false, Reason::kRefreshTokenInvalid),
      Failure("Refresh400Code102", 400, Envelope(400, 102, "Unauthorized"), kRefresh, false,
              Reason::kRefreshTokenInvalid),

      // ---- SSO / Autodesk Identity ----
      Failure("Code108Sso", 400,
              Envelope(400, 108, "User credentials not allowed for an SSO-enabled site"), kPassword,
              false, Reason::kSsoRequired),
      Failure("Code110Identity", 400,
              Envelope(400, 110, "User credentials not allowed for an Autodesk Identity site"),
              kPassword, false, Reason::kSsoRequired),
      // The HTTP status of 108/110 is only assumed to be 400: any 4xx must read the same.
      Failure("Code108On403", 403,
              Envelope(403, 108, "User credentials not allowed for an SSO-enabled site"), kPassword,
              false, Reason::kSsoRequired),
      Failure("Code110On401", 401,
              Envelope(401, 110, "User credentials not allowed for an Autodesk Identity site"),
              kPassword, false, Reason::kSsoRequired),

      // ---- 103 and routes: the broker sent something the site refuses ----
      Failure("Code103UnsupportedGrant", 400, Envelope(400, 103, "Unsupported grant_type"),
              kPassword, false, Reason::kUpstreamProtocolError),
      Failure("Code103UnsupportedContentType415", 415,
              Envelope(415, 103, "Unsupported Content-Type 'text/plain'"), kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Code103BadJson", 400, Envelope(400, 103, "Bad JSON"), kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Code103UnknownRoute404", 404, Envelope(404, 103, "Not Found"), kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Html404", 404, HtmlPage(404), kPassword, false, Reason::kUpstreamProtocolError,
              kHtml),
      Failure("UnknownErrorCode", 400, Envelope(400, 999, "Something new"), kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("Html400", 400, HtmlPage(400), kPassword, false, Reason::kUpstreamProtocolError,
              kHtml),
      Failure("EmptyErrorsArray", 400, R"({"errors":[]})", kPassword, false,
              Reason::kUpstreamProtocolError),
      Failure("ErrorCodeAsString", 400, R"({"errors":[{"status":400,"code":"102","title":"x"}]})",
              kPassword, false, Reason::kUpstreamProtocolError),
      Failure("Redirect302", 302, "", kPassword, false, Reason::kUpstreamProtocolError, kHtml),
      Failure("Status100", 100, "", kPassword, false, Reason::kUpstreamProtocolError),

      // ---- proxies in front of the site ----
      Failure("Html429", 429, HtmlPage(429), kPassword, false, Reason::kUpstreamUnavailable, kHtml),
      Failure("Html500", 500, HtmlPage(500), kPassword, false, Reason::kUpstreamUnavailable, kHtml),
      Failure("Html502", 502, HtmlPage(502), kPassword, false, Reason::kUpstreamUnavailable, kHtml),
      Failure("Html503", 503, HtmlPage(503), kScript, false, Reason::kUpstreamUnavailable, kHtml),
      Failure("Html504", 504, HtmlPage(504), kRefresh, false, Reason::kUpstreamUnavailable, kHtml),
      Failure("Json503", 503, Envelope(503, 103, "Maintenance"), kPassword, false,
              Reason::kUpstreamUnavailable),
      WithRetry(Failure("Html503RetryAfter7", 503, HtmlPage(503), kPassword, false,
                        Reason::kUpstreamUnavailable, kHtml),
                "7", absl::Seconds(7)),
      WithRetry(Failure("Html429RetryAfter120Spaces", 429, HtmlPage(429), kPassword, false,
                        Reason::kUpstreamUnavailable, kHtml),
                " 120 ", absl::Seconds(120)),
      // HTTP dates are ignored rather than misread.
      WithRetry(Failure("Html503RetryAfterDate", 503, HtmlPage(503), kPassword, false,
                        Reason::kUpstreamUnavailable, kHtml),
                "Wed, 21 Oct 2015 07:28:00 GMT", std::nullopt),
      WithRetry(Failure("Html503RetryAfterNegative", 503, HtmlPage(503), kPassword, false,
                        Reason::kUpstreamUnavailable, kHtml),
                "-3", std::nullopt),
      // A hostile header cannot park clients for days: capped at an hour.
      WithRetry(Failure("Html503RetryAfterHuge", 503, HtmlPage(503), kPassword, false,
                        Reason::kUpstreamUnavailable, kHtml),
                "99999999", absl::Hours(1)),
  };
  return rows;
}

class MapSiteAnswerTest : public ::testing::TestWithParam<Row> {};

TEST_P(MapSiteAnswerTest, MapsAsDocumented) {
  const Row& row = GetParam();
  SiteAnswer answer;
  answer.http_status = row.http;
  answer.content_type = row.content_type;
  answer.body = row.body;
  answer.retry_after = row.retry_after_header;
  AnswerContext context;
  context.grant = row.grant;
  context.sent_second_factor = row.sent_second_factor;

  const absl::StatusOr<TokenGrant> result = MapSiteAnswer(answer, context);

  if (row.ok) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->access_token, row.access_token);
    EXPECT_EQ(result->refresh_token, row.refresh_token);
    EXPECT_EQ(result->expires_in, row.expires_in);
    EXPECT_EQ(result->token_type, "Bearer");
    return;
  }
  ASSERT_FALSE(result.ok());
  const absl::Status& status = result.status();
  EXPECT_EQ(status.code(), row.code) << status;
  const std::optional<Reason> reason = ReasonOf(status);
  ASSERT_TRUE(reason.has_value()) << status;
  EXPECT_EQ(ReasonName(*reason), ReasonName(*row.reason)) << status;
  EXPECT_EQ(RetryAfterOf(status), row.retry_after) << status;
  // Messages reach people: never the raw body.
  if (!row.body.empty()) {
    EXPECT_EQ(status.message().find(row.body), absl::string_view::npos) << status;
  }
}

INSTANTIATE_TEST_SUITE_P(ShotGridAuthTable, MapSiteAnswerTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// Spot checks of the reason → code pairs the table above relies on.
TEST(MapSiteAnswerTest, ReasonsCarryTheDocumentedCodes) {
  EXPECT_EQ(ReasonCode(Reason::kInvalidCredentials), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonCode(Reason::kInvalidSecondFactor), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonCode(Reason::kInvalidScriptKey), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonCode(Reason::kRefreshTokenInvalid), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonCode(Reason::kCallerNotAllowed), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonCode(Reason::kSsoRequired), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonCode(Reason::kUpstreamUnavailable), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonCode(Reason::kUpstreamProtocolError), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonName(Reason::kSecondFactorRequired), "SECOND_FACTOR_REQUIRED");
  EXPECT_EQ(ReasonName(Reason::kUpstreamProtocolError), "UPSTREAM_PROTOCOL_ERROR");
}

TEST(ParseSiteErrorTest, ReadsTheFirstErrorOfTheEnvelope) {
  const absl::StatusOr<SiteError> error = ParseSiteError(Envelope(
      400, 106, "Missing argument for 2FA login", R"({"auth_token":"missing for 2FA login"})"));
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_EQ(error->status, 400);
  EXPECT_EQ(error->code, 106);
  EXPECT_EQ(error->title, "Missing argument for 2FA login");
}

TEST(ParseSiteErrorTest, RefusesWhatIsNotAnEnvelope) {
  for (const char* body : {"", "null", "[]", "{}", R"({"errors":{}})", R"({"errors":[1]})",
                           R"({"errors":[{"title":"no code"}]})", "<html></html>"}) {
    EXPECT_FALSE(ParseSiteError(body).ok()) << body;
  }
}

TEST(ParseSiteErrorTest, OutOfRangeCodesAreNotNarrowedIntoKnownOnes) {
  // 4294967398 narrowed to int is 102, which would count a failure against the person.
  EXPECT_FALSE(ParseSiteError(R"({"errors":[{"status":400,"code":4294967398}]})").ok());
  EXPECT_FALSE(ParseSiteError(R"({"errors":[{"status":400,"code":-102}]})").ok());
  const absl::StatusOr<TokenGrant> mapped = MapSiteAnswer(
      SiteAnswer{400, "application/json", R"({"errors":[{"status":400,"code":4294967398}]})", ""},
      AnswerContext{GrantType::kPassword, false});
  EXPECT_EQ(ReasonOf(mapped.status()), Reason::kUpstreamProtocolError);
}

TEST(SiteAnswerTest, RefusalsBeforeTheLoginCheckAreMarkedNotProcessed) {
  const AnswerContext password{GrantType::kPassword, false};
  for (long http : {429L, 500L, 502L, 503L, 504L}) {
    SiteAnswer answer;
    answer.http_status = http;
    answer.content_type = "text/html";
    answer.body = "<html>busy</html>";
    const absl::Status status = MapSiteAnswer(answer, password).status();
    EXPECT_TRUE(HasReason(status, Reason::kUpstreamUnavailable)) << http;
    EXPECT_TRUE(NotProcessedBySite(status)) << http;
  }
  SiteAnswer wrong;
  wrong.http_status = 400;
  wrong.content_type = "application/json";
  wrong.body = R"({"errors":[{"status":400,"code":102,"title":"Can't authenticate user 'x'."}]})";
  const absl::Status status = MapSiteAnswer(wrong, password).status();
  EXPECT_TRUE(HasReason(status, Reason::kInvalidCredentials)) << status;
  EXPECT_FALSE(NotProcessedBySite(status));
}

}  // namespace
}  // namespace credbroker
