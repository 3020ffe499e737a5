// Base fixture for integration tests: a fake ShotGrid site process and a
// credential-broker process pointed at it, each on an OS-picked port, and a
// few one-line calls for the flows.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "broker_process.h"
#include "fake_site_process.h"
#include "fixtures.h"
#include "status_matchers.h"
#include "temp_dir.h"

namespace credbroker::testing {

namespace fixtures = fake_shotgrid::fixtures;

class BrokerTest : public ::testing::Test {
 protected:
  // Starts the site, then a broker pointed at it.
  void Start(const FakeSiteOptions& site_options = {}, BrokerOptions broker_options = {}) {
    site_ = std::make_unique<FakeSiteProcess>(dir_, site_options);
    broker_options.site_url = site_->url();
    broker_ = std::make_unique<BrokerProcess>(dir_, broker_options);
    stub_ = broker_->Stub();
  }

  grpc::Status BeginLogin(const std::string& username, const std::string& password,
                          v1::LoginResult* result, const std::string& code = "") {
    v1::BeginLoginRequest request;
    request.set_username(username);
    request.set_password(password);
    request.set_second_factor_code(code);
    return stub_->BeginLogin(ContextWithDeadline().get(), request, result);
  }

  grpc::Status Submit(const std::string& challenge_id, const std::string& code,
                      v1::LoginResult* result) {
    v1::SubmitSecondFactorRequest request;
    request.set_challenge_id(challenge_id);
    request.set_code(code);
    return stub_->SubmitSecondFactor(ContextWithDeadline().get(), request, result);
  }

  // Begins a login for `user` and checks it was challenged; returns the id.
  std::string Challenge(const fixtures::BuiltinUser& user) {
    v1::LoginResult result;
    const grpc::Status status = BeginLogin(user.login, user.password, &result);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(result.has_challenge());
    return result.challenge().challenge_id();
  }

  grpc::Status Refresh(const std::string& refresh_token, v1::Session* session) {
    v1::RefreshSessionRequest request;
    request.set_refresh_token(refresh_token);
    return stub_->RefreshSession(ContextWithDeadline().get(), request, session);
  }

  grpc::Status IssueScript(const std::string& script, const std::string& key, v1::Session* session,
                           const std::string& sudo_as = "") {
    v1::IssueScriptSessionRequest request;
    request.set_script_name(script);
    request.set_script_key(key);
    request.set_sudo_as_login(sudo_as);
    return stub_->IssueScriptSession(ContextWithDeadline().get(), request, session);
  }

  grpc::Status GetAccessToken(const std::string& session_id, v1::AccessToken* token) {
    v1::GetAccessTokenRequest request;
    request.set_session_id(session_id);
    return stub_->GetAccessToken(ContextWithDeadline().get(), request, token);
  }

  TempDir dir_;
  std::unique_ptr<FakeSiteProcess> site_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<v1::CredentialBroker::Stub> stub_;
};

}  // namespace credbroker::testing
