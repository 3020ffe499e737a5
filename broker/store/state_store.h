// The broker's shared state (challenges, locks, failure counters) behind an
// asynchronous interface. The in-memory store answers at once; a networked
// store (Redis) answers later from its own thread, so no gRPC thread ever waits
// on it. Every operation is atomic on its key and every entry can expire.
//
// Callbacks may run on the caller's thread or on the store's; they must not
// call back into the store while holding their own locks. Failures to reach
// the store carry the reason STORE_UNAVAILABLE.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace credbroker {

struct CounterValue {
  int64_t count = 0;
  // Time until the counter's window ends and it drops back to zero.
  absl::Duration remaining = absl::ZeroDuration();
};

class StateStore {
 public:
  using ValueCallback = std::function<void(absl::StatusOr<std::optional<std::string>>)>;
  using DoneCallback = std::function<void(absl::Status)>;
  using ClaimCallback = std::function<void(absl::StatusOr<bool>)>;
  using CounterCallback = std::function<void(absl::StatusOr<CounterValue>)>;

  virtual ~StateStore() = default;

  // The value under `key`, or nullopt when absent or expired.
  virtual void Get(const std::string& key, ValueCallback done) = 0;
  // Stores `value` under `key` for `ttl`, replacing any value.
  virtual void Put(const std::string& key, std::string value, absl::Duration ttl,
                   DoneCallback done) = 0;
  // Stores `value` only if `key` is absent; answers whether it did. Used as a
  // lock: exactly one of many concurrent callers gets true.
  virtual void PutIfAbsent(const std::string& key, std::string value, absl::Duration ttl,
                           ClaimCallback done) = 0;
  // Removes `key`; absent keys are fine.
  virtual void Delete(const std::string& key, DoneCallback done) = 0;
  // Removes `key` only while it still holds `expected`: releases a lock only
  // if it is still this holder's (it may have expired and been taken since).
  virtual void DeleteIfEquals(const std::string& key, const std::string& expected,
                              DoneCallback done) = 0;
  // Adds one to a counter. The window starts at the first increment: the
  // counter expires `window` later, however often it is incremented.
  virtual void Increment(const std::string& key, absl::Duration window, CounterCallback done) = 0;
  // The counter's current value (zero when absent).
  virtual void ReadCounter(const std::string& key, CounterCallback done) = 0;
};

}  // namespace credbroker
