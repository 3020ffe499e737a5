// Keeps the broker's secrets (passwords between the two login steps, sealing
// keys, tokens) out of core dumps and away from other processes of the same
// user: no core files, and the process is not dumpable (which also stops
// ptrace by non-root processes and /proc/PID/mem reads).
#pragma once

#include "absl/status/status.h"

namespace credbroker {

struct HardeningState {
  bool dumpable = true;
  bool core_limit_zero = false;
};

// Sets RLIMIT_CORE to 0 and PR_SET_DUMPABLE to 0; fails if either is refused.
absl::Status HardenProcess();
// What the kernel says now (for the start-up log and tests).
HardeningState ReadHardeningState();

}  // namespace credbroker
