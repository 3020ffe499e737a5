// The default state store: one process's memory. Expiry follows the injected
// clock; expired entries are dropped when touched and by an occasional sweep.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "broker/common/clock.h"
#include "broker/store/state_store.h"

namespace credbroker {

class MemoryStore final : public StateStore {
 public:
  explicit MemoryStore(const Clock& clock) : clock_(clock) {}

  void Get(const std::string& key, ValueCallback done) override;
  void Put(const std::string& key, std::string value, absl::Duration ttl,
           DoneCallback done) override;
  void PutIfAbsent(const std::string& key, std::string value, absl::Duration ttl,
                   ClaimCallback done) override;
  void Delete(const std::string& key, DoneCallback done) override;
  void DeleteIfEquals(const std::string& key, const std::string& expected,
                      DoneCallback done) override;
  void Increment(const std::string& key, absl::Duration window, CounterCallback done) override;
  void ReadCounter(const std::string& key, CounterCallback done) override;

  // Entries held, expired or not: lets tests see that nothing leaks.
  std::size_t SizeForTest() const;

 private:
  struct Entry {
    std::string value;
    int64_t count = 0;
    absl::Time expires;
  };

  // Returns the live entry for key, dropping it if expired. Needs mu_.
  Entry* FindLive(const std::string& key, absl::Time now);
  // Drops expired entries once in a while, so keys never touched again go too.
  void MaybeSweep(absl::Time now);

  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::size_t writes_since_sweep_ = 0;
};

}  // namespace credbroker
