// The app session launcher's answers (tk-core's browser-approved login, per
// shotgrid-auth.md): a new request's id and approval page, and each poll's
// state. A 404 to a poll means the person rejected it or it expired.
#pragma once

#include "absl/status/statusor.h"
#include "broker/upstream/site_answer.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

// POST /internal_api/app_session_request: {"sessionRequestId", "url"}.
absl::StatusOr<LauncherRequest> MapLauncherCreated(const SiteAnswer& answer);
// PUT /internal_api/app_session_request/<id>: {"approved": false} or
// {"approved": true, "sessionToken", "userLogin"}; 404: CHALLENGE_NOT_FOUND.
absl::StatusOr<LauncherState> MapLauncherPoll(const SiteAnswer& answer);

// Whether `id` is safe to put in the poll's URL path as it is.
bool IsPlausibleLauncherId(absl::string_view id);

}  // namespace credbroker
