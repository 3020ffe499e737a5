// Callbacks run after the lock is released so they may use the store again.
#include "broker/store/memory_store.h"

namespace credbroker {
namespace {
constexpr std::size_t kSweepEvery = 1024;
}  // namespace

MemoryStore::Entry* MemoryStore::FindLive(const std::string& key, absl::Time now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void MemoryStore::MaybeSweep(absl::Time now) {
  if (++writes_since_sweep_ < kSweepEvery) return;
  writes_since_sweep_ = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
  }
}

void MemoryStore::Get(const std::string& key, ValueCallback done) {
  std::optional<std::string> value;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Entry* entry = FindLive(key, clock_.Now())) value = entry->value;
  }
  done(std::move(value));
}

void MemoryStore::Put(const std::string& key, std::string value, absl::Duration ttl,
                      DoneCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    MaybeSweep(now);
    entries_[key] = Entry{std::move(value), 0, now + ttl};
  }
  done(absl::OkStatus());
}

void MemoryStore::PutIfAbsent(const std::string& key, std::string value, absl::Duration ttl,
                              ClaimCallback done) {
  bool stored = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    MaybeSweep(now);
    if (FindLive(key, now) == nullptr) {
      entries_[key] = Entry{std::move(value), 0, now + ttl};
      stored = true;
    }
  }
  done(stored);
}

void MemoryStore::Delete(const std::string& key, DoneCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(key);
  }
  done(absl::OkStatus());
}

void MemoryStore::DeleteIfEquals(const std::string& key, const std::string& expected,
                                 DoneCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* entry = FindLive(key, clock_.Now());
    if (entry != nullptr && entry->value == expected) entries_.erase(key);
  }
  done(absl::OkStatus());
}

void MemoryStore::Increment(const std::string& key, absl::Duration window, CounterCallback done) {
  CounterValue result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    MaybeSweep(now);
    Entry* entry = FindLive(key, now);
    if (entry == nullptr) entry = &(entries_[key] = Entry{"", 0, now + window});
    result.count = ++entry->count;
    result.remaining = entry->expires - now;
  }
  done(result);
}

void MemoryStore::ReadCounter(const std::string& key, CounterCallback done) {
  CounterValue result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    if (Entry* entry = FindLive(key, now)) {
      result.count = entry->count;
      result.remaining = entry->expires - now;
    }
  }
  done(result);
}

std::size_t MemoryStore::SizeForTest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace credbroker
