// The broker's shared state (challenges, locks, failure windows) behind an
// asynchronous interface. The in-memory store answers at once; a networked
// store (Redis) answers later from its own thread, so no gRPC thread ever waits
// on it. Every operation is atomic on its key and every entry can expire.
//
// Rolling windows (the failure budgets, live challenges per person) are sets
// of members that each expire on their own: reserving, replacing and removing
// a member are single atomic operations, so concurrent callers on any number
// of replicas can never take more places than the limit allows.
//
// Callbacks may run on the caller's thread or on the store's; they must not
// call back into the store while holding their own locks. Failures to reach
// the store carry the reason STORE_UNAVAILABLE.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace credbroker {

// One member of a rolling window and when it leaves the window.
struct WindowMember {
  std::string name;
  absl::Time expires;
};

// A window after an operation on it: its live members, oldest expiry first.
struct WindowState {
  // Whether the operation added its member (false: the window was full).
  bool added = false;
  // The member pushed out to make room, when eviction was asked for.
  std::optional<std::string> evicted;
  // How many members are live (members.size() whenever members are answered).
  std::size_t size = 0;
  std::vector<WindowMember> members;
};

class StateStore {
 public:
  using ValueCallback = std::function<void(absl::StatusOr<std::optional<std::string>>)>;
  using DoneCallback = std::function<void(absl::Status)>;
  using ClaimCallback = std::function<void(absl::StatusOr<bool>)>;
  using WindowCallback = std::function<void(absl::StatusOr<WindowState>)>;
  using CountCallback = std::function<void(absl::StatusOr<std::size_t>)>;

  virtual ~StateStore() = default;

  // Whether the store can be used right now, for readiness probes: a
  // networked store answers from its connection state, without a round trip.
  virtual bool Reachable() const { return true; }

  // The value under `key`, or nullopt when absent or expired.
  virtual void Get(const std::string& key, ValueCallback done) = 0;
  // Stores `value` under `key` for `ttl`, replacing any value.
  virtual void Put(const std::string& key, std::string value, absl::Duration ttl,
                   DoneCallback done) = 0;
  // Stores `value` only if `key` is absent; answers whether it did. Used as a
  // lock: exactly one of many concurrent callers gets true.
  virtual void PutIfAbsent(const std::string& key, std::string value, absl::Duration ttl,
                           ClaimCallback done) = 0;
  // Stores `value` under `key` for `ttl` only while `guard_key` still holds
  // `guard_value`; answers whether it did. A fenced write: the holder of a
  // lease that has expired (and may have been taken by another replica)
  // cannot overwrite what the new holder wrote.
  virtual void PutIfHeld(const std::string& key, std::string value, absl::Duration ttl,
                         const std::string& guard_key, const std::string& guard_value,
                         ClaimCallback done) = 0;
  // Removes `key`; absent keys are fine.
  virtual void Delete(const std::string& key, DoneCallback done) = 0;
  // Removes `key` only while it still holds `expected`: releases a lock only
  // if it is still this holder's (it may have expired and been taken since).
  virtual void DeleteIfEquals(const std::string& key, const std::string& expected,
                              DoneCallback done) = 0;
  // The window operations answer the window's live members. A null `done`
  // asks for no answer, so none is built: a window only counted elsewhere
  // (the open challenges) then costs no copy of its members per change.
  //
  // Adds `member` to the window under `key`, expiring `ttl` from now, unless
  // `limit` members are live there. With `evict_oldest`, a full window drops
  // the member that expires first to make room instead of refusing.
  virtual void ReserveInWindow(const std::string& key, const std::string& member, int limit,
                               absl::Duration ttl, bool evict_oldest, WindowCallback done) = 0;
  // Replaces `old_member` (present or not) with `new_member`, expiring `ttl`
  // from now, whatever the limit: turns a reserved place into a counted one.
  virtual void ReplaceInWindow(const std::string& key, const std::string& old_member,
                               const std::string& new_member, absl::Duration ttl,
                               WindowCallback done) = 0;
  // Removes `member` from the window; an absent member is fine.
  virtual void RemoveFromWindow(const std::string& key, const std::string& member,
                                WindowCallback done) = 0;
  // The window's live members. (Removing the empty name, which no member
  // has, prunes and reads in one atomic step.)
  void ReadWindow(const std::string& key, WindowCallback done) {
    RemoveFromWindow(key, "", std::move(done));
  }
  // How many members of the window are live, without reading them: a window
  // of every open challenge is counted often and may hold 100,000.
  virtual void CountWindow(const std::string& key, CountCallback done) = 0;
};

}  // namespace credbroker
