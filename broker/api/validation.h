// Checks every request before anything else happens, so that malformed or
// oversized input never reaches the site. Each failure is INVALID_REQUEST with
// a message naming the field (never echoing a secret).
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "credbroker/v1/broker.pb.h"

namespace credbroker {

// Names and ids (site, username, script, sudo_as_login, client.address).
inline constexpr std::size_t kMaxNameBytes = 256;
inline constexpr std::size_t kMaxUserAgentBytes = 1024;
// The longest CompleteBrowserLogin waits, in seconds.
inline constexpr int kMaxBrowserLoginWaitSeconds = 60;

absl::Status ValidateBeginLogin(const v1::BeginLoginRequest& request);
absl::Status ValidateSubmitSecondFactor(const v1::SubmitSecondFactorRequest& request);
absl::Status ValidateRefreshSession(const v1::RefreshSessionRequest& request);
absl::Status ValidateIssueScriptSession(const v1::IssueScriptSessionRequest& request);
absl::Status ValidateGetAccessToken(const v1::GetAccessTokenRequest& request);
absl::Status ValidateRevokeSession(const v1::RevokeSessionRequest& request);
absl::Status ValidateExchangeSessionToken(const v1::ExchangeSessionTokenRequest& request);
absl::Status ValidateBeginBrowserLogin(const v1::BeginBrowserLoginRequest& request);
absl::Status ValidateCompleteBrowserLogin(const v1::CompleteBrowserLoginRequest& request);

}  // namespace credbroker
