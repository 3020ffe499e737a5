// The state store shared by replicas: Redis, reached with hiredis's asynchronous
// API from one thread the store owns. Public methods only queue a command and
// wake that thread, so no caller (and so no gRPC thread) ever waits on Redis;
// every callback runs on the store's thread.
//
// Behaviour matches MemoryStore: rolling windows are sorted sets scored by
// each member's expiry in milliseconds, changed by Lua scripts that take "now"
// from the injected clock, so every replica prunes the same members within
// clock sync. Plain values expire by Redis's own PX expiry. One difference:
// members that expire in the same millisecond are ordered by name here, by
// insertion in MemoryStore.
//
// A store that cannot reach Redis answers STORE_UNAVAILABLE: at once while it
// knows it is disconnected, otherwise when a command has no answer within the
// command timeout (it then drops the connection, which may be half dead). It
// reconnects in the background with exponential backoff, so a replica serves
// again as soon as Redis is back, without a restart.
//
// hiredis 0.14 (Debian 12) has no TLS and no Sentinel: reach Redis over the
// cluster network with AUTH, and TLS through a sidecar if needed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/common/clock.h"
#include "broker/store/state_store.h"

struct redisAsyncContext;
struct redisReply;

namespace credbroker {

struct RedisStoreSettings {
  // host:port, or [v6-address]:port.
  std::string address;
  // Sent with AUTH after every connect when set.
  std::optional<std::string> password;
  // Chosen with SELECT after every connect when not 0.
  int database = 0;
  // Put before every key, so that several deployments can share one Redis.
  std::string key_prefix = "credbroker:";
  // For the TCP connect plus AUTH, SELECT and a PING to be answered.
  absl::Duration connect_timeout = absl::Milliseconds(1000);
  // From the call to the store until its answer.
  absl::Duration command_timeout = absl::Milliseconds(500);
  // An idle connection is checked with a PING this often, so that connected()
  // turns false for readiness probes even when no call is being made.
  absl::Duration ping_interval = absl::Seconds(1);
  // Delay before the first reconnect attempt, doubling up to max_backoff.
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

// One Redis answer, copied out of hiredis (which frees its own after the
// callback returns).
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;
  long long integer = 0;
  std::vector<RedisReply> elements;
};

class RedisStore final : public StateStore {
 public:
  // Checks the settings and starts the store's thread, which connects in the
  // background: a Redis that is down at start is not an error here.
  static absl::StatusOr<std::unique_ptr<RedisStore>> Create(RedisStoreSettings settings,
                                                            const Clock& clock);
  // Fails every command not yet answered with STORE_UNAVAILABLE, on the
  // store's thread, before returning. Must not be called from a callback.
  ~RedisStore() override;

  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // Whether the store holds a ready connection (for readiness probes).
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  bool Reachable() const override { return connected(); }

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

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using ReplyHandler = std::function<void(absl::StatusOr<RedisReply>)>;

  struct Command {
    std::vector<std::string> argv;
    ReplyHandler done;
    SteadyTime deadline;
  };

  RedisStore(RedisStoreSettings settings, std::string host, int port, const Clock& clock,
             int wake_fd);

  // Queues a command for the store's thread; called from any thread.
  void Submit(std::vector<std::string> argv, ReplyHandler done);
  // Runs a window script: EVAL script 1 key now answer args..., answering the
  // members only when `done` reads them.
  void EvalWindow(const std::string& script, const std::string& key, std::vector<std::string> args,
                  WindowCallback done);
  void Wake();

  // Everything below runs on the store's thread only.
  void Run();
  void StartConnect(SteadyTime now);
  // Sends a command on the live connection; fails it when hiredis refuses.
  void Send(Command command);
  // Closes the connection; hiredis answers every command in flight with no
  // reply, and those fail with `reason`.
  void Drop(absl::Status reason);
  void HandleReply(redisReply* reply, void* privdata);
  void OnHandshakeReply(const absl::StatusOr<RedisReply>& reply, bool last);
  void OnConnectionGone();
  void FailWaiting(const absl::Status& status);
  int PollTimeoutMs(SteadyTime now) const;

  // hiredis event hooks: the store's loop polls the socket itself.
  static void AddRead(void* data);
  static void DelRead(void* data);
  static void AddWrite(void* data);
  static void DelWrite(void* data);
  static void Cleanup(void* data);
  static void OnReply(redisAsyncContext* context, void* reply, void* privdata);

  std::string Key(const std::string& key) const { return settings_.key_prefix + key; }
  std::string NowMs() const;

  const RedisStoreSettings settings_;
  const std::string host_;
  const int port_;
  const Clock& clock_;
  const int wake_fd_;
  std::atomic<bool> connected_{false};

  std::mutex mu_;
  std::deque<Command> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_

  // The store's thread's own state.
  redisAsyncContext* context_ = nullptr;
  bool reading_ = false;
  bool writing_ = false;
  // AUTH/SELECT/PING answered: user commands may go out.
  bool ready_ = false;
  SteadyTime connect_deadline_;
  SteadyTime retry_at_;
  // When an idle, ready connection is next checked.
  SteadyTime next_ping_;
  std::chrono::milliseconds backoff_;
  // Set from inside a hiredis callback, acted on once hiredis has returned.
  std::optional<absl::Status> drop_requested_;
  // What commands in flight fail with when the connection goes.
  absl::Status drop_reason_;
  // Commands received while connecting, sent once the connection is ready.
  std::deque<Command> waiting_;
  // Commands sent, in the order Redis answers them.
  std::list<Command> in_flight_;

  std::thread thread_;
};

}  // namespace credbroker
