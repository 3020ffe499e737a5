// RETURN_IF_ERROR for functions that return absl::Status: Debian's Abseil
// ships no status macros.
#pragma once

#include "absl/status/status.h"

#define RETURN_IF_ERROR(expr)          \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (false)
