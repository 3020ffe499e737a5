// Callbacks run after the lock is released so they may use the store again.
#include "broker/store/memory_store.h"

#include <algorithm>

#include "broker/common/errors.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {
namespace {

// Entries each write looks at for expiry; see SweepSome.
constexpr int kSweepStep = 8;

absl::Status StoreFull() {
  Metrics::Get().MemoryStoreError();
  return WithRetryAfter(
      BrokerError(Reason::kStoreUnavailable, "the broker's state store is full; try again shortly"),
      absl::Seconds(5));
}

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

MemoryStore::Entry* MemoryStore::FindOrCreate(const std::string& key, absl::Time now) {
  if (Entry* entry = FindLive(key, now)) return entry;
  if (entries_.size() >= max_entries_) {
    // A sweep may make room; only a store full of live entries refuses.
    SweepAll(now);
    if (entries_.size() >= max_entries_) return nullptr;
  }
  return &entries_[key];
}

void MemoryStore::SweepSome(absl::Time now) {
  auto it = entries_.lower_bound(sweep_from_);
  for (int i = 0; i < kSweepStep && !entries_.empty(); ++i) {
    if (it == entries_.end()) it = entries_.begin();
    it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
  }
  sweep_from_ = it == entries_.end() ? std::string() : it->first;
}

void MemoryStore::SweepAll(absl::Time now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
  }
}

void MemoryStore::Prune(Entry& entry, absl::Time now) {
  auto& members = entry.members;
  // Insert keeps members in expiry order, so the expired ones are a prefix:
  // a large window (every open challenge) is not scanned whole per change.
  members.erase(members.begin(),
                std::find_if(members.begin(), members.end(),
                             [now](const WindowMember& m) { return m.expires > now; }));
  entry.expires = members.empty() ? now : members.back().expires;
}

void MemoryStore::Insert(Entry& entry, WindowMember member) {
  auto& members = entry.members;
  members.erase(std::remove_if(members.begin(), members.end(),
                               [&](const WindowMember& m) { return m.name == member.name; }),
                members.end());
  auto at = std::upper_bound(
      members.begin(), members.end(), member.expires,
      [](absl::Time expires, const WindowMember& m) { return expires < m.expires; });
  members.insert(at, std::move(member));
  entry.expires = members.back().expires;
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
  bool stored = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    SweepSome(now);
    if (Entry* entry = FindOrCreate(key, now)) {
      *entry = Entry{std::move(value), now + ttl, {}};
      stored = true;
    }
  }
  done(stored ? absl::OkStatus() : StoreFull());
}

void MemoryStore::PutIfAbsent(const std::string& key, std::string value, absl::Duration ttl,
                              ClaimCallback done) {
  absl::StatusOr<bool> stored = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    SweepSome(now);
    if (FindLive(key, now) == nullptr) {
      if (Entry* entry = FindOrCreate(key, now)) {
        *entry = Entry{std::move(value), now + ttl, {}};
        stored = true;
      } else {
        stored = StoreFull();
      }
    }
  }
  done(std::move(stored));
}

void MemoryStore::PutIfHeld(const std::string& key, std::string value, absl::Duration ttl,
                            const std::string& guard_key, const std::string& guard_value,
                            ClaimCallback done) {
  absl::StatusOr<bool> stored = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    Entry* guard = FindLive(guard_key, now);
    if (guard != nullptr && guard->value == guard_value) {
      if (Entry* entry = FindOrCreate(key, now)) {
        *entry = Entry{std::move(value), now + ttl, {}};
        stored = true;
      } else {
        stored = StoreFull();
      }
    }
  }
  done(std::move(stored));
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

void MemoryStore::ReserveInWindow(const std::string& key, const std::string& member, int limit,
                                  absl::Duration ttl, bool evict_oldest, WindowCallback done) {
  absl::StatusOr<WindowState> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    SweepSome(now);
    Entry* entry = FindOrCreate(key, now);
    if (entry == nullptr) {
      result = StoreFull();
    } else {
      Prune(*entry, now);
      WindowState state;
      if (static_cast<int>(entry->members.size()) >= limit && evict_oldest &&
          !entry->members.empty()) {
        state.evicted = entry->members.front().name;
        entry->members.erase(entry->members.begin());
      }
      if (static_cast<int>(entry->members.size()) < limit) {
        Insert(*entry, WindowMember{member, now + ttl});
        state.added = true;
      }
      state.size = entry->members.size();
      if (done) state.members = entry->members;
      if (entry->members.empty()) entries_.erase(key);
      result = std::move(state);
    }
  }
  if (done) done(std::move(result));
}

void MemoryStore::ReplaceInWindow(const std::string& key, const std::string& old_member,
                                  const std::string& new_member, absl::Duration ttl,
                                  WindowCallback done) {
  absl::StatusOr<WindowState> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    Entry* entry = FindOrCreate(key, now);
    if (entry == nullptr) {
      result = StoreFull();
    } else {
      Prune(*entry, now);
      auto& members = entry->members;
      members.erase(std::remove_if(members.begin(), members.end(),
                                   [&](const WindowMember& m) { return m.name == old_member; }),
                    members.end());
      Insert(*entry, WindowMember{new_member, now + ttl});
      WindowState state;
      state.added = true;
      state.size = members.size();
      if (done) state.members = members;
      result = std::move(state);
    }
  }
  if (done) done(std::move(result));
}

void MemoryStore::RemoveFromWindow(const std::string& key, const std::string& member,
                                   WindowCallback done) {
  WindowState state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    if (Entry* entry = FindLive(key, now)) {
      Prune(*entry, now);
      auto& members = entry->members;
      members.erase(std::remove_if(members.begin(), members.end(),
                                   [&](const WindowMember& m) { return m.name == member; }),
                    members.end());
      state.size = members.size();
      if (done) state.members = members;
      if (members.empty()) entries_.erase(key);
    }
  }
  if (done) done(std::move(state));
}

void MemoryStore::CountWindow(const std::string& key, CountCallback done) {
  std::size_t live = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    if (Entry* entry = FindLive(key, now)) {
      Prune(*entry, now);
      live = entry->members.size();
    }
  }
  done(live);
}

std::size_t MemoryStore::SizeForTest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace credbroker
