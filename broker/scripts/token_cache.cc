// Waiters are called outside the lock so that they may use the cache again.
#include "broker/scripts/token_cache.h"

#include <optional>

#include "broker/crypto/same_secret.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {
namespace {

// After a failed background renewal, try again this often (or sooner, at a
// quarter of what remains of the token).
constexpr absl::Duration kRenewalRetry = absl::Seconds(30);

}  // namespace

TokenCache::TokenCache(const Clock& clock, absl::Duration min_validity)
    : TokenCache(clock, TokenCacheSettings{min_validity, 0.8}, nullptr) {}

TokenCache::TokenCache(const Clock& clock, TokenCacheSettings settings, Scheduler* scheduler)
    : clock_(clock), settings_(settings), scheduler_(scheduler) {}

bool TokenCache::Usable(const Entry& entry, absl::Time now) const {
  if (!entry.has_token) return false;
  const absl::Duration lifetime = entry.token.grant.expires_in;
  // Short-lived tokens are kept for at least half their life.
  return entry.token.expire_time - now > std::min(settings_.min_validity, lifetime / 2);
}

bool TokenCache::DueForRenewal(const Entry& entry, absl::Time now) const {
  return entry.has_token &&
         now - entry.fetched_at >= entry.token.grant.expires_in * settings_.renew_after;
}

std::shared_ptr<TokenCache::Flight> TokenCache::NewFlight(Entry& entry) {
  entry.flight = std::make_shared<Flight>();
  entry.generation = next_generation_++;
  return entry.flight;
}

void TokenCache::GetOrFetch(const std::string& key, const Fetch& fetch, TokenCallback done,
                            bool renew_in_background, const std::string& rejected) {
  std::optional<CachedToken> hit;
  std::shared_ptr<Flight> started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    Entry& entry = entries_[key];
    entry.last_used = now;
    if (!rejected.empty() && entry.has_token &&
        SameSecret(GrantedToken(entry.token.grant), rejected)) {
      entry.has_token = false;
    }
    if (renew_in_background) entry.renewal = fetch;
    if (Usable(entry, now)) {
      hit = entry.token;
      // Refresh ahead: renew now, keep serving the current token meanwhile.
      if (DueForRenewal(entry, now) && !entry.flight) started = NewFlight(entry);
    } else {
      if (!entry.flight) started = NewFlight(entry);
      entry.flight->waiters.push_back(std::move(done));
    }
  }
  Metrics& metrics = Metrics::Get();
  if (hit) {
    metrics.ScriptTokenCacheHit();
    if (started) metrics.ScriptTokenRenewal();
  } else {
    metrics.ScriptTokenCacheMiss();
  }
  if (hit) done(*std::move(hit));
  if (started) StartFetch(key, std::move(started), fetch);
}

void TokenCache::StartFetch(const std::string& key, std::shared_ptr<Flight> flight,
                            const Fetch& fetch) {
  fetch([this, key, flight = std::move(flight)](absl::StatusOr<TokenGrant> grant) {
    OnFetched(key, flight, std::move(grant));
  });
}

void TokenCache::OnFetched(const std::string& key, const std::shared_ptr<Flight>& flight,
                           absl::StatusOr<TokenGrant> grant) {
  std::vector<TokenCallback> waiters;
  absl::StatusOr<CachedToken> answer = absl::UnknownError("unset");
  if (!grant.ok()) answer = grant.status();
  std::optional<std::pair<uint64_t, absl::Duration>> check;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    waiters.swap(flight->waiters);
    if (grant.ok()) answer = CachedToken{*grant, now + grant->expires_in};
    auto it = entries_.find(key);
    // An entry dropped (its key changed) while this fetch was under way keeps
    // nothing it brings; its waiters still get the answer.
    if (it != entries_.end() && it->second.flight == flight) {
      Entry& entry = it->second;
      entry.flight = nullptr;
      if (grant.ok()) {
        entry.has_token = true;
        entry.token = *answer;
        entry.fetched_at = now;
        check.emplace(entry.generation, grant->expires_in * settings_.renew_after);
      } else if (Usable(entry, now)) {
        // The site failed a renewal; the current token still serves.
        check.emplace(entry.generation,
                      std::min(kRenewalRetry, (entry.token.expire_time - now) / 4));
      } else {
        entries_.erase(it);
      }
    }
  }
  if (check) ScheduleCheck(key, check->first, check->second);
  for (TokenCallback& waiter : waiters) waiter(answer);
}

void TokenCache::ScheduleCheck(const std::string& key, uint64_t generation, absl::Duration delay) {
  if (scheduler_ == nullptr) return;
  scheduler_->RunAfter(delay, [this, key, generation] { OnTimer(key, generation); });
}

void TokenCache::OnTimer(const std::string& key, uint64_t generation) {
  std::shared_ptr<Flight> started;
  Fetch renewal;
  std::optional<std::pair<uint64_t, absl::Duration>> recheck;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.generation != generation || it->second.flight) return;
    Entry& entry = it->second;
    const absl::Time now = clock_.Now();
    const bool used_since_fetch = entry.last_used > entry.fetched_at;
    if (entry.renewal && used_since_fetch) {
      renewal = entry.renewal;
      started = NewFlight(entry);
    } else if (now >= entry.token.expire_time) {
      // Nobody asked since the last fetch and the token is spent: forget it.
      entries_.erase(it);
    } else {
      // Nobody asked (or there is no way to renew): look again at expiry.
      recheck.emplace(entry.generation, entry.token.expire_time - now);
    }
  }
  if (recheck) ScheduleCheck(key, recheck->first, recheck->second);
  if (started) {
    Metrics::Get().ScriptTokenRenewal();
    StartFetch(key, std::move(started), renewal);
  }
}

void TokenCache::DropIf(const std::function<bool(const std::string&)>& matches) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = matches(it->first) ? entries_.erase(it) : std::next(it);
  }
}

void TokenCache::Drop(const std::string& key) {
  DropIf([&key](const std::string& candidate) { return candidate == key; });
}

std::size_t TokenCache::SizeForTest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace credbroker
