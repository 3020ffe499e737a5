// What the domain knows of the gRPC call it serves: who to audit and when the
// caller stops waiting.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "broker/common/cancel_signal.h"

namespace credbroker {

struct CallContext {
  std::string request_id;
  // Who is calling (see identity/caller_identity.h): "anonymous" when callers
  // are not identified.
  std::string caller = "anonymous";
  // The end user's address as the web backend reported it, else the peer's.
  std::string client_address;
  // The end user's browser or tool, as the web backend reported it.
  std::string user_agent;
  absl::Time deadline = absl::InfiniteFuture();
  // Fires when the gRPC call is cancelled; null when nothing can cancel it.
  std::shared_ptr<CancelSignal> cancel;
};

}  // namespace credbroker
