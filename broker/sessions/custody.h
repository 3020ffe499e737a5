// A person's new session from what the site granted, and how it reaches the
// caller as the custody asks: the tokens themselves, or (broker custody) a
// held session's id and access token, the refresh token staying with the
// broker.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "broker/common/call_context.h"
#include "broker/common/session.h"
#include "broker/sessions/held_sessions.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

// credbroker.v1.TokenCustody's TOKEN_CUSTODY_BROKER.
inline constexpr int kBrokerCustody = 2;

// The session `grant` makes on `site`, its expiry counted from `now`. The
// principal is left for the caller to name: token answers name nobody.
SessionInfo SessionFromGrant(const TokenGrant& grant, const std::string& site, absl::Time now);

// `custody` is the proto's TokenCustody number. Without `held`, broker
// custody answers NOT_IMPLEMENTED.
void DeliverSession(HeldSessions* held, SessionInfo session, int custody, const CallContext& call,
                    std::function<void(absl::StatusOr<SessionInfo>)> done);

}  // namespace credbroker
