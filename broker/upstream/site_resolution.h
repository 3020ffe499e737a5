// Turns the site a caller named (empty = the default) into a configured site.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "broker/common/errors.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

inline absl::StatusOr<std::string> ResolveSite(const SiteClient& sites,
                                               absl::string_view default_site,
                                               absl::string_view requested) {
  const absl::string_view name = requested.empty() ? default_site : requested;
  if (!sites.HasSite(name)) {
    return BrokerError(Reason::kUnknownSite,
                       absl::StrCat("no ShotGrid site named '", name, "' is configured"));
  }
  return std::string(name);
}

}  // namespace credbroker
