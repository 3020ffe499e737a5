// RefreshSession and RevokeSession with a caller-held refresh token: rotation,
// single use, idempotent revocation.
#include "broker_fixture.h"

namespace credbroker::testing {
namespace {

class SessionsTest : public BrokerTest {
 protected:
  // A fresh caller-custody session for `user`, through the two-step flow.
  v1::Session LogIn(const fixtures::BuiltinUser& user) {
    v1::LoginResult result;
    const grpc::Status status =
        Submit(Challenge(user), site_->CurrentCode(user.totp_secret), &result);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return result.session();
  }

  grpc::Status Revoke(const std::string& refresh_token) {
    v1::RevokeSessionRequest request;
    request.set_refresh_token(refresh_token);
    v1::RevokeSessionResponse response;
    return stub_->RevokeSession(ContextWithDeadline().get(), request, &response);
  }
};

TEST_F(SessionsTest, RefreshRotatesTheRefreshToken) {
  Start();
  const v1::Session login = LogIn(fixtures::kAlice);
  v1::Session refreshed;
  ASSERT_GRPC_OK(Refresh(login.refresh_token(), &refreshed));
  EXPECT_FALSE(refreshed.access_token().empty());
  EXPECT_NE(refreshed.refresh_token(), login.refresh_token());
  EXPECT_EQ(refreshed.token_type(), "Bearer");
  EXPECT_EQ(refreshed.site(), "main");
  EXPECT_EQ(site_->ReadProjects(refreshed.access_token()), 200);
  EXPECT_EQ(site_->Requests("refresh_token"), 1);

  // The spent token is refused; the new one works.
  v1::Session again;
  EXPECT_BROKER_ERROR(Refresh(login.refresh_token(), &again), UNAUTHENTICATED,
                      "REFRESH_TOKEN_INVALID");
  EXPECT_GRPC_OK(Refresh(refreshed.refresh_token(), &again));
}

TEST_F(SessionsTest, MadeUpRefreshTokenIsInvalid) {
  Start();
  v1::Session session;
  EXPECT_BROKER_ERROR(Refresh("not-a-real-refresh-token", &session), UNAUTHENTICATED,
                      "REFRESH_TOKEN_INVALID");
}

TEST_F(SessionsTest, RevokeSpendsTheRefreshTokenAndIsIdempotent) {
  Start();
  const v1::Session login = LogIn(fixtures::kBob);
  ASSERT_GRPC_OK(Revoke(login.refresh_token()));
  EXPECT_EQ(site_->Requests("refresh_token"), 1);
  v1::Session session;
  EXPECT_BROKER_ERROR(Refresh(login.refresh_token(), &session), UNAUTHENTICATED,
                      "REFRESH_TOKEN_INVALID");
  EXPECT_GRPC_OK(Revoke(login.refresh_token()));
  // The access token stays valid until it expires: the site cannot revoke it.
  EXPECT_EQ(site_->ReadProjects(login.access_token()), 200);
}

TEST_F(SessionsTest, RefreshNeedsAToken) {
  Start();
  v1::RefreshSessionRequest request;
  v1::Session session;
  EXPECT_BROKER_ERROR(stub_->RefreshSession(ContextWithDeadline().get(), request, &session),
                      INVALID_ARGUMENT, "INVALID_REQUEST");
  request.set_refresh_token("has space");
  EXPECT_BROKER_ERROR(stub_->RefreshSession(ContextWithDeadline().get(), request, &session),
                      INVALID_ARGUMENT, "INVALID_REQUEST");
  request.set_session_id("opaque");
  EXPECT_BROKER_ERROR(stub_->RefreshSession(ContextWithDeadline().get(), request, &session),
                      NOT_FOUND, "SESSION_NOT_FOUND");
  EXPECT_EQ(site_->Requests("refresh_token"), 0);
}

TEST_F(SessionsTest, RefreshOnUnknownSiteIsNotFound) {
  Start();
  v1::RefreshSessionRequest request;
  request.set_site("elsewhere");
  request.set_refresh_token("abc");
  v1::Session session;
  EXPECT_BROKER_ERROR(stub_->RefreshSession(ContextWithDeadline().get(), request, &session),
                      NOT_FOUND, "UNKNOWN_SITE");
}

}  // namespace
}  // namespace credbroker::testing
