// The broker reads time only through this interface, so that challenge
// lifetimes, failure windows and token expiry are testable with a fake clock.
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace credbroker {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// The one system clock, for parts built before their owner exists.
inline const Clock& RealClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace credbroker
