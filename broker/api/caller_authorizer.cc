// The policy is read once per call (a shared snapshot), so a reload in the
// middle of a call cannot mix two policies.
#include "broker/api/caller_authorizer.h"

#include "absl/strings/str_cat.h"
#include "broker/api/peer_credentials.h"
#include "broker/common/errors.h"

namespace credbroker {

CallerAuthorizer::CallerAuthorizer(CallerAuthSettings settings, const LivePolicy& policy)
    : settings_(std::move(settings)), policy_(policy) {}

absl::StatusOr<std::string> CallerAuthorizer::Authorize(const grpc::CallbackServerContext& context,
                                                        absl::string_view method) const {
  // Unidentified callers are all "anonymous": nothing of the call to read.
  if (!settings_.enabled()) return std::string(kAnonymousCaller);
  absl::StatusOr<std::string> caller = IdentifyCaller(ReadPeerCredentials(context), settings_);
  if (!caller.ok()) return caller;
  if (!policy_.Current()->AllowsMethod(*caller, method)) {
    return BrokerError(Reason::kCallerNotAllowed,
                       absl::StrCat("caller '", *caller, "' may not call ", method));
  }
  return caller;
}

}  // namespace credbroker
