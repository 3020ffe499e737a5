// Decides, before anything else happens in a call, who the caller is and
// whether it may call this method at all, so that a refused caller learns
// nothing about sites, users or scripts.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "broker/identity/caller_identity.h"
#include "broker/identity/policy.h"

namespace credbroker {

class CallerAuthorizer {
 public:
  CallerAuthorizer(CallerAuthSettings settings, const LivePolicy& policy);

  // The caller's identity when it may call `method` (e.g. "BeginLogin");
  // otherwise CALLER_UNAUTHENTICATED or CALLER_NOT_ALLOWED. With no caller
  // identity configured every caller is "anonymous" and every method is open.
  absl::StatusOr<std::string> Authorize(const grpc::CallbackServerContext& context,
                                        absl::string_view method) const;

  // Whether callers are identified at all (otherwise only the keyring is
  // governed by the policy).
  bool identifies_callers() const { return settings_.enabled(); }

 private:
  const CallerAuthSettings settings_;
  const LivePolicy& policy_;
};

}  // namespace credbroker
