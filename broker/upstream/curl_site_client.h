// SiteClient over libcurl: builds token requests for each configured site and
// sends them through the shared CurlMultiLoop.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "broker/common/clock.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/curl_multi_loop.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct SiteEndpoint {
  std::string name;
  // e.g. https://studio.shotgrid.autodesk.com (no trailing slash).
  std::string base_url;
  std::string ca_file;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(10);
};

// The form body for `request`, URL-encoded. Holds secrets.
std::string EncodeTokenForm(const TokenRequest& request);

class CurlSiteClient final : public SiteClient {
 public:
  CurlSiteClient(std::vector<SiteEndpoint> sites, CurlMultiLoop& loop, const Clock& clock,
                 Logger& logger);

  bool HasSite(absl::string_view site) const override;
  void RequestToken(absl::string_view site, const TokenRequest& request, absl::Time deadline,
                    TokenCallback done) override;

 private:
  const SiteEndpoint* Find(absl::string_view site) const;

  std::vector<SiteEndpoint> sites_;
  CurlMultiLoop& loop_;
  const Clock& clock_;
  Logger& logger_;
};

}  // namespace credbroker
