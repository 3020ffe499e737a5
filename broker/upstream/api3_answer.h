// The one /api3/json call the broker makes, get_session_token, as
// shotgrid-auth.md ("The other door") describes it: the request body for a
// person's or a script's AUTH, and the answer read into a session token or a
// broker error.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "broker/upstream/site_answer.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

// {"method_name":"get_session_token","params":[AUTH]} for a kPassword or
// kClientCredentials request. Holds secrets.
std::string EncodeGetSessionToken(const TokenRequest& request);

// The session token, or the error with the reason from docs/api.md. Unlike the
// REST endpoint, /api3/json answers 106 to a wrong code and 102 only to a
// wrong password.
absl::StatusOr<TokenGrant> MapApi3Answer(const SiteAnswer& answer, const AnswerContext& context);

}  // namespace credbroker
