// Counts wrong passwords and wrong codes per (site, username) and stops the
// broker from asking the site once the budget is spent, well before the
// site's own lockout (10 failures an hour) locks the person out.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/store/state_store.h"

namespace credbroker {

struct FailureBudgetSettings {
  int max_failures = 5;
  absl::Duration window = absl::Minutes(15);
};

class FailureBudget {
 public:
  FailureBudget(StateStore& store, FailureBudgetSettings settings)
      : store_(store), settings_(settings) {}

  // OK while failures remain; else TOO_MANY_ATTEMPTS with retry_after.
  void Check(absl::string_view site, absl::string_view username,
             std::function<void(absl::Status)> done);
  // Counts one failure; answers how many remain before the budget is spent.
  void RecordFailure(absl::string_view site, absl::string_view username,
                     std::function<void(absl::StatusOr<int>)> done);

 private:
  static std::string Key(absl::string_view site, absl::string_view username);

  StateStore& store_;
  const FailureBudgetSettings settings_;
};

}  // namespace credbroker
