// Called first thing in main, before any secret is read.
#include "broker/server/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace credbroker {

absl::Status HardenProcess() {
  const rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return absl::InternalError(absl::StrCat("cannot turn off core dumps: ", std::strerror(errno)));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot mark the process non-dumpable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

HardeningState ReadHardeningState() {
  HardeningState state;
  state.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0;
  rlimit core{};
  state.core_limit_zero =
      getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
  return state;
}

}  // namespace credbroker
