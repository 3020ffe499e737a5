// The app session launcher's answers: a new request, each poll's state, and
// every shape that must not be trusted (ids that would change the poll's path,
// approval pages that are not http(s)).
#include "broker/upstream/launcher_answer.h"

#include "broker/common/errors.h"
#include "gtest/gtest.h"

namespace credbroker {
namespace {

SiteAnswer Ok(const std::string& body) { return SiteAnswer{200, "application/json", body, ""}; }

TEST(LauncherAnswerTest, ANewRequestHasAnIdAndAnApprovalPage) {
  absl::StatusOr<LauncherRequest> request = MapLauncherCreated(Ok(
      R"({"sessionRequestId":"ab12-CD_3","url":"https://site.example/app_session_request/ab12"})"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->site_request_id, "ab12-CD_3");
  EXPECT_EQ(request->approval_url, "https://site.example/app_session_request/ab12");
  absl::StatusOr<LauncherRequest> numbered =
      MapLauncherCreated(Ok(R"({"sessionRequestId":42,"url":"http://127.0.0.1:9/x"})"));
  ASSERT_TRUE(numbered.ok());
  EXPECT_EQ(numbered->site_request_id, "42");
}

TEST(LauncherAnswerTest, UnusableRequestsAreProtocolErrors) {
  for (const char* body : {
           R"({"url":"https://s/x"})",
           R"({"sessionRequestId":"../../api/v1","url":"https://s/x"})",
           R"({"sessionRequestId":"a b","url":"https://s/x"})",
           R"({"sessionRequestId":"","url":"https://s/x"})",
           R"({"sessionRequestId":"ok"})",
           R"x({"sessionRequestId":"ok","url":"javascript:alert(1)"})x",
           "not json",
       }) {
    EXPECT_EQ(ReasonOf(MapLauncherCreated(Ok(body)).status()), Reason::kUpstreamProtocolError)
        << body;
  }
  EXPECT_EQ(ReasonOf(MapLauncherCreated(SiteAnswer{502, "", "", ""}).status()),
            Reason::kUpstreamUnavailable);
}

TEST(LauncherAnswerTest, PollsArePendingApprovedOrGone) {
  absl::StatusOr<LauncherState> pending = MapLauncherPoll(Ok(R"({"approved":false})"));
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->approved);
  absl::StatusOr<LauncherState> approved =
      MapLauncherPoll(Ok(R"({"approved":true,"sessionToken":"tok","userLogin":"alice"})"));
  ASSERT_TRUE(approved.ok());
  EXPECT_TRUE(approved->approved);
  EXPECT_EQ(approved->session_token, "tok");
  EXPECT_EQ(approved->user_login, "alice");
  const absl::Status gone = MapLauncherPoll(SiteAnswer{404, "", R"({"message":"x"})", ""}).status();
  EXPECT_EQ(ReasonOf(gone), Reason::kChallengeNotFound);
  EXPECT_EQ(gone.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(MapLauncherPoll(SiteAnswer{503, "", "", ""}).status()),
            Reason::kUpstreamUnavailable);
  for (const char* body : {R"({})", R"({"approved":"yes"})", R"({"approved":true})",
                           R"({"approved":true,"sessionToken":"tok"})"}) {
    EXPECT_EQ(ReasonOf(MapLauncherPoll(Ok(body)).status()), Reason::kUpstreamProtocolError) << body;
  }
}

TEST(LauncherAnswerTest, OnlyPlainIdsGoIntoThePollsPath) {
  EXPECT_TRUE(IsPlausibleLauncherId("0123abcdEF-_"));
  EXPECT_FALSE(IsPlausibleLauncherId(""));
  EXPECT_FALSE(IsPlausibleLauncherId("a/b"));
  EXPECT_FALSE(IsPlausibleLauncherId("a?b"));
  EXPECT_FALSE(IsPlausibleLauncherId(std::string(129, 'a')));
}

}  // namespace
}  // namespace credbroker
