// A Clock that only moves when a test says so, so that challenge lifetimes,
// failure windows and token expiry are tested without sleeping. Thread-safe:
// code under test may read it from other threads while the test advances it.
#pragma once

#include <mutex>

#include "absl/time/time.h"
#include "broker/common/clock.h"

namespace credbroker::testing {

class FakeClock final : public Clock {
 public:
  // A fixed, whole-second start so that expected times are easy to write.
  static absl::Time DefaultStart() { return absl::FromUnixSeconds(1'700'000'000); }

  explicit FakeClock(absl::Time start = DefaultStart()) : now_(start) {}

  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }

  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

  void Set(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace credbroker::testing
