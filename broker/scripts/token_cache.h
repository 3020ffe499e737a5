// Script access tokens cached per key, with single flight: however many
// callers ask for a cold or stale key at once, one fetch reaches the site and
// every waiter gets its answer. Failures are not cached.
//
// A token is handed out only while at least `min_validity` of it remains. Once
// `renew_after` of its lifetime has passed, the next request starts a renewal
// while still being served the current token; entries fetched with a renewal
// function are also renewed in the background, as long as someone asked for
// them since their last fetch. If renewal fails (the site is down), the
// current token keeps being served while it meets `min_validity`.
//
// A caller that found the cached token refused by the site names it as
// rejected: the entry drops it and fetches anew, and callers naming the same
// token meanwhile join that one fetch. Naming any other token changes nothing.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/common/clock.h"
#include "broker/common/scheduler.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct CachedToken {
  TokenGrant grant;
  absl::Time expire_time;
};

struct TokenCacheSettings {
  absl::Duration min_validity = absl::Seconds(60);
  // Share of a token's lifetime after which it is renewed.
  double renew_after = 0.8;
};

class TokenCache {
 public:
  using TokenCallback = std::function<void(absl::StatusOr<CachedToken>)>;
  // Starts one site call and reports its answer through the given callback.
  using Fetch = std::function<void(SiteClient::TokenCallback)>;

  // Without a scheduler nothing is renewed in the background.
  TokenCache(const Clock& clock, absl::Duration min_validity);
  TokenCache(const Clock& clock, TokenCacheSettings settings, Scheduler* scheduler);

  // `fetch` gets a token for `key` when needed. With `renew_in_background`,
  // the cache keeps `fetch` and calls it again by itself before expiry: it
  // must then look up everything it needs (the current key) when called.
  // A non-empty `rejected` equal to the cached token drops it first.
  void GetOrFetch(const std::string& key, const Fetch& fetch, TokenCallback done,
                  bool renew_in_background = false, const std::string& rejected = std::string());
  // Drops every entry whose key satisfies `matches` (e.g. a script whose key
  // changed). Fetches under way still answer their waiters.
  void DropIf(const std::function<bool(const std::string&)>& matches);
  void Drop(const std::string& key);

  std::size_t SizeForTest() const;

 private:
  // One site call and the callers waiting for it. A fetch keeps its flight
  // alive, so an entry dropped meanwhile still answers its waiters, while
  // callers arriving after the drop start a flight of their own.
  struct Flight {
    std::vector<TokenCallback> waiters;
  };

  struct Entry {
    bool has_token = false;
    CachedToken token;
    absl::Time fetched_at;
    absl::Time last_used;
    std::shared_ptr<Flight> flight;  // set while a fetch is under way
    Fetch renewal;                   // set for background renewal
    // Unique across the cache, new at each fetch: a timer armed for an older
    // fetch, or for a dropped entry, finds a different number and does nothing.
    uint64_t generation = 0;
  };

  bool Usable(const Entry& entry, absl::Time now) const;
  bool DueForRenewal(const Entry& entry, absl::Time now) const;
  // Starts a flight for `entry` (needs mu_); returns it for StartFetch.
  std::shared_ptr<Flight> NewFlight(Entry& entry);
  void StartFetch(const std::string& key, std::shared_ptr<Flight> flight, const Fetch& fetch);
  void OnFetched(const std::string& key, const std::shared_ptr<Flight>& flight,
                 absl::StatusOr<TokenGrant> grant);
  void ScheduleCheck(const std::string& key, uint64_t generation, absl::Duration delay);
  void OnTimer(const std::string& key, uint64_t generation);

  const Clock& clock_;
  const TokenCacheSettings settings_;
  Scheduler* const scheduler_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  uint64_t next_generation_ = 1;
};

}  // namespace credbroker
