// Stops the broker from guessing before ShotGrid locks a person out (the site
// locks an account after 10 failed logins in an hour).
//
// Every site call that could count as a failure at the site first reserves a
// place in two rolling windows: the person's (site, username) and the end
// user's address (across all usernames, against password spraying). A place
// is reserved atomically in the store before the call leaves, so concurrent
// calls on any number of challenges, callers or replicas can never send more
// guesses than the budget allows. The site's answer settles the place: a
// counted failure keeps it for a whole window from the answer; anything the
// site cannot have counted gives it back.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/common/clock.h"
#include "broker/limits/name_keys.h"
#include "broker/store/state_store.h"

namespace credbroker {

struct FailureBudgetSettings {
  // Per (site, username), in a rolling window.
  int max_failures = 5;
  absl::Duration window = absl::Hours(1);
  // Per end-user address across all usernames. High enough that the many
  // users behind one web backend are not throttled together.
  int per_address_max_failures = 100;
  absl::Duration per_address_window = absl::Hours(1);
};

// A place held in both windows for one site call.
struct FailureReservation {
  std::string person_key;
  std::string address_key;
  // The member's name without its state prefix.
  std::string id;
};

class FailureBudget {
 public:
  using ReserveCallback = std::function<void(absl::StatusOr<FailureReservation>)>;
  // How many failures the person has left after settling.
  using SettleCallback = std::function<void(absl::StatusOr<int>)>;

  FailureBudget(StateStore& store, NameKeys& names, const Clock& clock,
                FailureBudgetSettings settings)
      : store_(store), names_(names), clock_(clock), settings_(settings) {}

  // Reserves a place for `username` on `site` while `address` is under its
  // limit, or answers TOO_MANY_ATTEMPTS with retry_after: short while places are only held by
  // calls still at the site, else until the oldest failure leaves the window.
  void Reserve(absl::string_view site, absl::string_view username, absl::string_view address,
               ReserveCallback done);
  // Settles a reservation with the site's answer to the call it covered.
  void Settle(const FailureReservation& reservation, const absl::Status& site_answer,
              SettleCallback done);

  // Whether the site can have counted this answer as a failed login: wrong
  // password or code, a timeout after the request left, an unreadable
  // answer. Success, a 106 to a request without a code, SSO refusals, 5xx,
  // 429 and requests that never left do not count.
  static bool CountsAtSite(const absl::Status& site_answer);

  // The person's name in store keys: a keyed digest of the username with its
  // ASCII letters folded to lower case, so a person gets no fresh budget by
  // changing case. Valid once a Reserve has succeeded (the names key is then
  // known).
  std::string PersonName(absl::string_view username) const;

 private:
  void ReserveNamed(const std::string& site, const std::string& username,
                    const std::string& address, ReserveCallback done);
  // The person's place is taken: reserves if the address is under its limit,
  // else gives the place back and refuses.
  void CheckAddress(std::shared_ptr<FailureReservation> reservation, std::string member,
                    ReserveCallback done);
  void Refund(const FailureReservation& reservation, SettleCallback done);
  void Commit(const FailureReservation& reservation, SettleCallback done);
  absl::Status Refusal(const WindowState& window, absl::string_view who) const;

  StateStore& store_;
  NameKeys& names_;
  const Clock& clock_;
  const FailureBudgetSettings settings_;
};

}  // namespace credbroker
