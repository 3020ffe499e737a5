// Usernames are folded to lower case for the count: a person must not get a
// fresh budget by changing the case of their login.
#include "broker/login/failure_budget.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"

namespace credbroker {

std::string FailureBudget::Key(absl::string_view site, absl::string_view username) {
  return absl::StrCat("failures/", site, "/", absl::AsciiStrToLower(username));
}

void FailureBudget::Check(absl::string_view site, absl::string_view username,
                          std::function<void(absl::Status)> done) {
  store_.ReadCounter(
      Key(site, username), [this, done = std::move(done)](absl::StatusOr<CounterValue> counter) {
        if (!counter.ok()) return done(counter.status());
        if (counter->count < settings_.max_failures) return done(absl::OkStatus());
        done(WithRetryAfter(
            BrokerError(Reason::kTooManyAttempts,
                        "too many failed logins for this user; wait before trying again"),
            counter->remaining));
      });
}

void FailureBudget::RecordFailure(absl::string_view site, absl::string_view username,
                                  std::function<void(absl::StatusOr<int>)> done) {
  store_.Increment(
      Key(site, username), settings_.window,
      [this, done = std::move(done)](absl::StatusOr<CounterValue> counter) {
        if (!counter.ok()) return done(counter.status());
        done(std::max<int>(0, settings_.max_failures - static_cast<int>(counter->count)));
      });
}

}  // namespace credbroker
