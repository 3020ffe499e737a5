// Fuzzes the operator's YAML configuration. It is not hostile input, but the
// broker must answer a bad file with a message, never a crash: yaml-cpp throws
// and ParseConfig has to catch every throw. A config that parses is also run
// through CheckConfig (listen address, loopback rule, default site).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "broker/config/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<credbroker::Config> config = credbroker::ParseConfig(text, "fuzz.yaml");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(config.status().message(), "fuzz.yaml: "));
    return 0;
  }
  // What ParseConfig promises about an accepted file.
  std::set<std::string> names;
  for (const credbroker::SiteEndpoint& site : config->sites) {
    FUZZ_CHECK(!site.name.empty() && site.name.size() <= 64);
    FUZZ_CHECK(names.insert(site.name).second);
    FUZZ_CHECK(absl::StartsWith(site.base_url, "https://") ||
               absl::StartsWith(site.base_url, "http://"));
    FUZZ_CHECK(!absl::EndsWith(site.base_url, "/"));
    FUZZ_CHECK(site.connect_timeout >= absl::Milliseconds(100));
    FUZZ_CHECK(site.request_timeout <= absl::Seconds(120));
  }
  FUZZ_CHECK(config->challenge_attempts >= 1 && config->challenge_attempts <= 9);
  FUZZ_CHECK(config->max_failures >= 1 && config->max_failures <= 9);
  FUZZ_CHECK(config->challenge_lifetime >= absl::Seconds(1));
  FUZZ_CHECK(config->challenge_lifetime <= absl::Seconds(3600));
  FUZZ_CHECK(config->max_request_bytes >= 64 * 1024);
  (void)credbroker::CheckConfig(*config);
  return 0;
}
