// Script tokens shared by every replica through the state store, so that a
// cold key makes one site call across all replicas, not one per replica.
// Each replica keeps its own TokenCache in front; when that cache needs a
// token it asks here first: a token another replica fetched (sealed in the
// store) is used while it is fresh, and otherwise one replica, holding a
// lease, fetches while the others wait for its result.
#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "broker/common/clock.h"
#include "broker/common/scheduler.h"
#include "broker/crypto/sealer.h"
#include "broker/store/state_store.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct SharedTokenSettings {
  // A shared token is used only while at least this much of it remains and
  // before this share of its lifetime has passed (then it is renewed).
  absl::Duration min_validity = absl::Seconds(60);
  double renew_after = 0.8;
  // Longer than any site call.
  absl::Duration lease_ttl = absl::Seconds(40);
  absl::Duration poll_interval = absl::Milliseconds(50);
};

class SharedTokens {
 public:
  using SiteCall = std::function<void(SiteClient::TokenCallback)>;

  SharedTokens(SharedTokenSettings settings, StateStore& store, const Sealer& sealer,
               const Clock& clock, Scheduler& scheduler);

  // A token for `share_key` (which must name the script's key by digest, so
  // a rotated key never finds the old key's token): from the store when a
  // fresh one is there, else from `site_call`, made by one replica at a time.
  // When the store cannot be reached, calls the site directly. A stored token
  // equal to `rejected` (a caller found it refused) counts as not there, so
  // replicas that hear of the same rejection share one fresh site call.
  void Fetch(const std::string& share_key, SiteCall site_call, SiteClient::TokenCallback done,
             const std::string& rejected = std::string());

 private:
  void Look(const std::string& share_key, const std::string& rejected,
            std::function<void(absl::StatusOr<TokenGrant>)> then);
  void TakeLease(const std::string& share_key, const std::string& rejected, SiteCall site_call,
                 SiteClient::TokenCallback done, absl::Time give_up);
  void FetchUnderLease(const std::string& share_key, const std::string& rejected,
                       const std::string& lease, SiteCall site_call,
                       SiteClient::TokenCallback done);

  const SharedTokenSettings settings_;
  StateStore& store_;
  const Sealer& sealer_;
  const Clock& clock_;
  Scheduler& scheduler_;
};

}  // namespace credbroker
