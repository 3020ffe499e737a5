// Script access tokens cached per key, with single flight: however many
// callers ask for a cold or stale key at once, one fetch reaches the site and
// every waiter gets its answer. Failures are not cached.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/common/clock.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct CachedToken {
  TokenGrant grant;
  absl::Time expire_time;
};

class TokenCache {
 public:
  using TokenCallback = std::function<void(absl::StatusOr<CachedToken>)>;
  // Starts one site call and reports its answer through the given callback.
  using Fetch = std::function<void(SiteClient::TokenCallback)>;

  // A cached token is handed out only while at least `min_validity` of it
  // remains (at most half its lifetime, for sites with short-lived tokens).
  TokenCache(const Clock& clock, absl::Duration min_validity);

  void GetOrFetch(const std::string& key, const Fetch& fetch, TokenCallback done);
  void Drop(const std::string& key);

 private:
  struct Entry {
    bool has_token = false;
    CachedToken token;
    absl::Time usable_until;
    bool fetching = false;
    std::vector<TokenCallback> waiters;
  };

  void OnFetched(const std::string& key, absl::StatusOr<TokenGrant> grant);

  const Clock& clock_;
  const absl::Duration min_validity_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace credbroker
