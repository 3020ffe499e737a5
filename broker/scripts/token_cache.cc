// Waiters are called outside the lock so that they may use the cache again.
#include "broker/scripts/token_cache.h"

#include <optional>

namespace credbroker {

TokenCache::TokenCache(const Clock& clock, absl::Duration min_validity)
    : clock_(clock), min_validity_(min_validity) {}

void TokenCache::GetOrFetch(const std::string& key, const Fetch& fetch, TokenCallback done) {
  std::optional<CachedToken> hit;
  bool start_fetch = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& entry = entries_[key];
    if (entry.has_token && clock_.Now() < entry.usable_until) {
      hit = entry.token;
    } else {
      entry.waiters.push_back(std::move(done));
      start_fetch = !entry.fetching;
      entry.fetching = true;
    }
  }
  if (hit) return done(*std::move(hit));
  if (start_fetch) {
    fetch([this, key](absl::StatusOr<TokenGrant> grant) { OnFetched(key, std::move(grant)); });
  }
}

void TokenCache::OnFetched(const std::string& key, absl::StatusOr<TokenGrant> grant) {
  std::vector<TokenCallback> waiters;
  absl::StatusOr<CachedToken> answer = absl::UnknownError("unset");
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& entry = entries_[key];
    waiters.swap(entry.waiters);
    entry.fetching = false;
    if (grant.ok()) {
      const absl::Time now = clock_.Now();
      entry.has_token = true;
      entry.token = CachedToken{*grant, now + grant->expires_in};
      entry.usable_until = entry.token.expire_time - std::min(min_validity_, grant->expires_in / 2);
      answer = entry.token;
    } else {
      answer = grant.status();
      if (!entry.has_token) entries_.erase(key);
    }
  }
  for (TokenCallback& waiter : waiters) waiter(answer);
}

void TokenCache::Drop(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && !it->second.fetching) entries_.erase(it);
}

}  // namespace credbroker
