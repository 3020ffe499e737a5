// Names of site calls, and what a SiteClient without a launcher answers.
#include "broker/upstream/site_client.h"

#include "broker/common/errors.h"

namespace credbroker {
namespace {

absl::Status NoLauncher() {
  return BrokerError(Reason::kNotImplemented, "browser-approved login is not available here");
}

}  // namespace

absl::string_view GrantTypeName(GrantType grant) {
  switch (grant) {
    case GrantType::kPassword:
      return "password";
    case GrantType::kClientCredentials:
      return "client_credentials";
    case GrantType::kRefreshToken:
      return "refresh_token";
    case GrantType::kSessionToken:
      return "session_token";
  }
  return "password";
}

absl::string_view SiteCallName(GrantType grant, TokenKind kind) {
  if (kind == TokenKind::kRest) return GrantTypeName(grant);
  return grant == GrantType::kClientCredentials ? "get_session_token:script"
                                                : "get_session_token:password";
}

const std::string& GrantedToken(const TokenGrant& grant) {
  return grant.session_token.empty() ? grant.access_token : grant.session_token;
}

void SiteClient::StartLauncherRequest(absl::string_view, const std::string&, const std::string&,
                                      absl::Time, std::shared_ptr<CancelSignal>,
                                      LauncherRequestCallback done) {
  done(NoLauncher());
}

void SiteClient::PollLauncherRequest(absl::string_view, const std::string&, absl::Time,
                                     std::shared_ptr<CancelSignal>, LauncherStateCallback done) {
  done(NoLauncher());
}

}  // namespace credbroker
