// The default state store: one process's memory. Expiry follows the injected
// clock; expired entries are dropped when touched and by a sweep spread over writes.
// The number of keys is bounded, so a flood of logins cannot grow it without
// limit: a full store refuses new keys with STORE_UNAVAILABLE.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "broker/common/clock.h"
#include "broker/store/state_store.h"

namespace credbroker {

class MemoryStore final : public StateStore {
 public:
  static constexpr std::size_t kDefaultMaxEntries = 1'000'000;

  explicit MemoryStore(const Clock& clock, std::size_t max_entries = kDefaultMaxEntries)
      : clock_(clock), max_entries_(max_entries) {}

  void Get(const std::string& key, ValueCallback done) override;
  void Put(const std::string& key, std::string value, absl::Duration ttl,
           DoneCallback done) override;
  void PutIfAbsent(const std::string& key, std::string value, absl::Duration ttl,
                   ClaimCallback done) override;
  void PutIfHeld(const std::string& key, std::string value, absl::Duration ttl,
                 const std::string& guard_key, const std::string& guard_value,
                 ClaimCallback done) override;
  void Delete(const std::string& key, DoneCallback done) override;
  void DeleteIfEquals(const std::string& key, const std::string& expected,
                      DoneCallback done) override;
  void ReserveInWindow(const std::string& key, const std::string& member, int limit,
                       absl::Duration ttl, bool evict_oldest, WindowCallback done) override;
  void ReplaceInWindow(const std::string& key, const std::string& old_member,
                       const std::string& new_member, absl::Duration ttl,
                       WindowCallback done) override;
  void RemoveFromWindow(const std::string& key, const std::string& member,
                        WindowCallback done) override;
  void CountWindow(const std::string& key, CountCallback done) override;

  // Entries held, expired or not: lets tests see that nothing leaks.
  std::size_t SizeForTest() const;

 private:
  struct Entry {
    std::string value;
    absl::Time expires;
    // Window members, oldest expiry first; the entry expires with the last.
    std::vector<WindowMember> members;
  };

  // Returns the live entry for key, dropping it if expired. Needs mu_.
  Entry* FindLive(const std::string& key, absl::Time now);
  // The live entry for key, or a new one; nullptr when the store is full.
  // Needs mu_.
  Entry* FindOrCreate(const std::string& key, absl::Time now);
  // Drops expired members and fixes the entry's expiry. Needs mu_.
  static void Prune(Entry& entry, absl::Time now);
  static void Insert(Entry& entry, WindowMember member);
  // Drops expired entries that nothing touches again: each write looks at the
  // next few keys after where the last one stopped, wrapping around, so every
  // key is looked at within about size / 8 writes and no one write scans the
  // whole map under the lock (which held every other call up for
  // milliseconds at 100,000 entries).
  void SweepSome(absl::Time now);
  // Looks at every key: only when the store is full.
  void SweepAll(absl::Time now);

  const Clock& clock_;
  const std::size_t max_entries_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  // The key SweepSome looks at next (the first key at or after it).
  std::string sweep_from_;
};

}  // namespace credbroker
