// A cap on each caller's calls in flight at once, so one caller (a runaway
// script, a retry storm) cannot take the whole service from the others.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace credbroker {

class CallerInFlight {
 public:
  explicit CallerInFlight(int max_per_caller) : max_per_caller_(max_per_caller) {}

  // A place for one call of `caller`, given back when the last copy of the
  // handle is dropped; null when the caller already has its maximum.
  std::shared_ptr<void> TryEnter(const std::string& caller);

  int InFlightForTest(const std::string& caller) const;

 private:
  void Leave(const std::string& caller);

  const int max_per_caller_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, int> in_flight_;
};

}  // namespace credbroker
