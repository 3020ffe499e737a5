// hiredis is not thread-safe, so one thread owns the connection: it polls the
// socket and an eventfd that other threads write to when they queue a command.
// hiredis frees its context from inside its own read and write handlers when
// the connection fails; the cleanup hook is the one place that notices, so the
// loop never touches a freed context.
#include "broker/store/redis_store.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/telemetry/metrics.h"

namespace credbroker {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Scripts run with EVAL: Redis caches each script by its hash, and sending a
// few hundred bytes per call costs less than recovering from NOSCRIPT after a
// failover or SCRIPT FLUSH.
//
// A window is a sorted set of members scored by expiry (ms since the epoch of
// the broker's clock). Every script first drops members whose time has come,
// then acts, then answers {added, evicted or nil, live count} followed, when
// ARGV[2] is "1", by member, expiry, ... oldest expiry first, and sets the key
// to expire with its last member. Without the members an operation on a large
// window (every open challenge) costs the same as on a small one. PEXPIRE
// takes a relative time so that the key's life does not depend on Redis's
// clock. ARGV[1] is always "now", ARGV[2] whether to answer the members.
constexpr char kWindowFinish[] = R"lua(
local function finish(key, now, added, evicted)
  local size = redis.call('ZCARD', key)
  local out = {added, evicted, size}
  if size == 0 then
    redis.call('DEL', key)
    return out
  end
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', key, math.max(1, tonumber(last[2]) - now))
  if ARGV[2] == '1' then
    local items = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    for i = 1, #items, 2 do
      out[#out + 1] = items[i]
      out[#out + 1] = tonumber(items[i + 1])
    end
  end
  return out
end
local key = KEYS[1]
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
)lua";

// ARGV: now, answer, member, limit, ttl_ms, evict_oldest ("1" or "0").
constexpr char kReserveBody[] = R"lua(
local limit = tonumber(ARGV[4])
local count = redis.call('ZCARD', key)
local evicted = false
if count >= limit and ARGV[6] == '1' and count > 0 then
  evicted = redis.call('ZRANGE', key, 0, 0)[1]
  redis.call('ZREM', key, evicted)
  count = count - 1
end
local added = 0
if count < limit then
  redis.call('ZADD', key, now + tonumber(ARGV[5]), ARGV[3])
  added = 1
end
return finish(key, now, added, evicted)
)lua";

// ARGV: now, answer, old_member, new_member, ttl_ms.
constexpr char kReplaceBody[] = R"lua(
redis.call('ZREM', key, ARGV[3])
redis.call('ZADD', key, now + tonumber(ARGV[5]), ARGV[4])
return finish(key, now, 1, false)
)lua";

// ARGV: now, answer, member.
constexpr char kRemoveBody[] = R"lua(
redis.call('ZREM', key, ARGV[3])
return finish(key, now, 0, false)
)lua";

// ARGV: expected value.
constexpr char kDeleteIfEquals[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua";

constexpr char kPutIfHeld[] = R"lua(
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)lua";

const std::string& ReserveScript() {
  static const std::string* script = new std::string(absl::StrCat(kWindowFinish, kReserveBody));
  return *script;
}
const std::string& ReplaceScript() {
  static const std::string* script = new std::string(absl::StrCat(kWindowFinish, kReplaceBody));
  return *script;
}
const std::string& RemoveScript() {
  static const std::string* script = new std::string(absl::StrCat(kWindowFinish, kRemoveBody));
  return *script;
}

// ARGV[2] of a window script: answer the members only to a caller that reads them.
const char* Answer(const StateStore::WindowCallback& done) { return done ? "1" : "0"; }

absl::Status Unavailable(absl::string_view message) {
  return BrokerError(Reason::kStoreUnavailable, message);
}

absl::Status Unexpected() {
  return Unavailable("the broker's state store gave an unexpected answer");
}

// Redis counts expiry in whole milliseconds and refuses 0; a shorter ttl
// expires at the next millisecond, as near as Redis gets to "at once". The
// cap keeps now + ttl exact when Lua turns it into a score (%.14g) and keeps
// PEXPIRE within range for an infinite ttl.
std::string TtlMs(absl::Duration ttl) {
  constexpr int64_t kMaxTtlMs = int64_t{10} * 366 * 24 * 3600 * 1000;  // ten years
  return std::to_string(std::clamp<int64_t>(absl::ToInt64Milliseconds(ttl), 1, kMaxTtlMs));
}

RedisReply CopyReply(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        if (reply.element[i] != nullptr) out.elements.push_back(CopyReply(*reply.element[i]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

// Reads a window script's answer; anything malformed is an error, never a
// crash.
absl::StatusOr<WindowState> ParseWindow(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() < 3 ||
      reply.elements.size() % 2 != 1 || reply.elements[0].type != RedisReply::Type::kInteger ||
      reply.elements[2].type != RedisReply::Type::kInteger || reply.elements[2].integer < 0) {
    return Unexpected();
  }
  WindowState state;
  state.added = reply.elements[0].integer == 1;
  state.size = static_cast<std::size_t>(reply.elements[2].integer);
  const RedisReply& evicted = reply.elements[1];
  if (evicted.type == RedisReply::Type::kString) {
    state.evicted = evicted.str;
  } else if (evicted.type != RedisReply::Type::kNil) {
    return Unexpected();
  }
  for (size_t i = 3; i + 1 < reply.elements.size(); i += 2) {
    const RedisReply& name = reply.elements[i];
    const RedisReply& expires = reply.elements[i + 1];
    if (name.type != RedisReply::Type::kString || expires.type != RedisReply::Type::kInteger) {
      return Unexpected();
    }
    state.members.push_back(WindowMember{name.str, absl::FromUnixMillis(expires.integer)});
  }
  return state;
}

// Splits "host:port" or "[v6]:port".
absl::Status ParseAddress(const std::string& address, std::string& host, int& port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("store.redis.address must be host:port");
  }
  host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return absl::InvalidArgumentError("store.redis.address must be host:port");
  }
  return absl::OkStatus();
}

milliseconds ToChrono(absl::Duration d) { return milliseconds(absl::ToInt64Milliseconds(d)); }

}  // namespace

absl::StatusOr<std::unique_ptr<RedisStore>> RedisStore::Create(RedisStoreSettings settings,
                                                               const Clock& clock) {
  std::string host;
  int port = 0;
  if (absl::Status s = ParseAddress(settings.address, host, port); !s.ok()) return s;
  if (settings.database < 0) {
    return absl::InvalidArgumentError("store.redis.database must not be negative");
  }
  if (settings.connect_timeout <= absl::ZeroDuration() ||
      settings.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store.redis timeouts must be positive");
  }
  if (settings.ping_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store.redis ping interval must be positive");
  }
  if (settings.min_backoff <= absl::ZeroDuration() || settings.max_backoff < settings.min_backoff) {
    return absl::InvalidArgumentError("store.redis backoff must be positive and ordered");
  }
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) return absl::InternalError("cannot create an eventfd for the Redis store");
  std::unique_ptr<RedisStore> store(
      new RedisStore(std::move(settings), std::move(host), port, clock, wake_fd));
  store->thread_ = std::thread([raw = store.get()] { raw->Run(); });
  return store;
}

RedisStore::RedisStore(RedisStoreSettings settings, std::string host, int port, const Clock& clock,
                       int wake_fd)
    : settings_(std::move(settings)),
      host_(std::move(host)),
      port_(port),
      clock_(clock),
      wake_fd_(wake_fd),
      backoff_(ToChrono(settings_.min_backoff)) {}

RedisStore::~RedisStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  close(wake_fd_);
}

void RedisStore::Wake() {
  const uint64_t one = 1;
  // A full counter already means "wake up"; nothing else can go wrong here.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void RedisStore::Submit(std::vector<std::string> argv, ReplyHandler done) {
  const auto submitted = steady_clock::now();
  // Every way a command ends (answer, refusal, timeout, shutdown) goes
  // through its handler, so this is where it is measured.
  ReplyHandler measured = [submitted, done = std::move(done)](absl::StatusOr<RedisReply> reply) {
    Metrics::Get().StoreOperation(reply.ok(), absl::FromChrono(steady_clock::now() - submitted));
    done(std::move(reply));
  };
  Command command{std::move(argv), std::move(measured),
                  submitted + ToChrono(settings_.command_timeout)};
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(command));
      queued = true;
    }
  }
  if (!queued) {
    // Not moved from: only queued commands are.
    command.done(Unavailable("the broker's state store is shutting down"));  // NOLINT
    return;
  }
  Wake();
}

std::string RedisStore::NowMs() const { return std::to_string(absl::ToUnixMillis(clock_.Now())); }

// --- The store's thread ---

void RedisStore::Run() {
  // hiredis writes with write(2), so a peer that has gone would raise SIGPIPE
  // and end the process. Blocked on this thread (the only one that writes to
  // the socket), the write fails with EPIPE instead.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

  StartConnect(steady_clock::now());
  for (;;) {
    const SteadyTime before = steady_clock::now();
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, 0, 0}};
    nfds_t count = 1;
    if (context_ != nullptr) {
      fds[1].fd = context_->c.fd;
      fds[1].events = static_cast<short>((reading_ ? POLLIN : 0) | (writing_ ? POLLOUT : 0));
      count = 2;
    }
    const int ready = poll(fds, count, PollTimeoutMs(before));
    if (ready < 0 && errno != EINTR) {
      // The socket cannot be polled: start over with a fresh one.
      Drop(Unavailable("the broker's state store connection failed"));
    }
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
      uint64_t value;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &value, sizeof(value));
    }
    if (ready > 0 && count == 2 && context_ != nullptr) {
      const short revents = fds[1].revents;
      // Errors and hang-ups reach hiredis through whichever handler it is
      // waiting on, which then reads the failure and frees the context.
      if ((revents & POLLIN) != 0 && in_flight_.empty()) {
        // Redis only speaks when asked. hiredis 0.14 aborts the process on an
        // unasked reply, so whatever sent one (or closed the connection) is
        // dropped without handing hiredis the bytes. An extra reply glued to
        // an awaited one still reaches hiredis: only whoever can already
        // delete every record (the server, or a man in the middle) can send
        // one, and it costs a restart.
        Drop(Unavailable("the broker's state store sent something unasked"));
      } else if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0 && reading_) {
        redisAsyncHandleRead(context_);
      }
      if (context_ != nullptr && (revents & (POLLOUT | POLLHUP | POLLERR)) != 0 && writing_) {
        redisAsyncHandleWrite(context_);
      }
      if (context_ != nullptr && (revents & (POLLHUP | POLLERR | POLLNVAL)) != 0 && !reading_ &&
          !writing_) {
        Drop(Unavailable("the broker's state store closed the connection"));
      }
    }
    if (drop_requested_.has_value()) {
      absl::Status reason = std::move(*drop_requested_);
      drop_requested_.reset();
      Drop(std::move(reason));
    }

    std::deque<Command> incoming;
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      incoming.swap(queue_);
      stopping = stopping_;
    }
    if (stopping) {
      const absl::Status gone = Unavailable("the broker's state store is shutting down");
      Drop(gone);
      FailWaiting(gone);
      for (Command& command : incoming) command.done(gone);
      return;
    }
    for (Command& command : incoming) {
      if (context_ == nullptr) {
        // Known to be down: answer at once rather than at the deadline.
        command.done(Unavailable("the broker's state store is unreachable"));
      } else if (!ready_) {
        waiting_.push_back(std::move(command));
      } else {
        Send(std::move(command));
      }
    }

    const SteadyTime now = steady_clock::now();
    if (context_ != nullptr && !ready_ && now >= connect_deadline_) {
      Drop(Unavailable("the broker's state store did not answer in time"));
    }
    if (context_ != nullptr && !in_flight_.empty() && now >= in_flight_.front().deadline) {
      // The connection may be half dead: start over rather than wait on it.
      Drop(Unavailable("the broker's state store did not answer in time"));
    }
    while (!waiting_.empty() && now >= waiting_.front().deadline) {
      Command command = std::move(waiting_.front());
      waiting_.pop_front();
      command.done(Unavailable("the broker's state store did not answer in time"));
    }
    if (context_ != nullptr && ready_ && in_flight_.empty() && now >= next_ping_) {
      // A PING unanswered within the command timeout drops the connection.
      Send(Command{{"PING"},
                   [](const absl::StatusOr<RedisReply>&) {},
                   now + ToChrono(settings_.command_timeout)});
    }
    if (context_ == nullptr) {
      FailWaiting(Unavailable("the broker's state store is unreachable"));
      if (now >= retry_at_) StartConnect(now);
    }
  }
}

int RedisStore::PollTimeoutMs(SteadyTime now) const {
  std::optional<SteadyTime> next;
  auto consider = [&](SteadyTime t) {
    if (!next || t < *next) next = t;
  };
  if (context_ == nullptr) {
    consider(retry_at_);
  } else if (!ready_) {
    consider(connect_deadline_);
  }
  if (context_ != nullptr && ready_ && in_flight_.empty()) consider(next_ping_);
  if (!in_flight_.empty()) consider(in_flight_.front().deadline);
  if (!waiting_.empty()) consider(waiting_.front().deadline);
  if (!next) return -1;
  if (*next <= now) return 0;
  // Round up so that the loop wakes at or after the deadline, not just before.
  return static_cast<int>(std::chrono::ceil<milliseconds>(*next - now).count());
}

void RedisStore::StartConnect(SteadyTime now) {
  ready_ = false;
  connect_deadline_ = now + ToChrono(settings_.connect_timeout);
  // Resolving the host name blocks, but only this thread.
  redisAsyncContext* context = redisAsyncConnect(host_.c_str(), port_);
  if (context == nullptr) {
    OnConnectionGone();
    return;
  }
  if (context->err != 0) {
    redisAsyncFree(context);
    OnConnectionGone();
    return;
  }
  // Notices a peer that vanished without a word while nothing is in flight.
  redisEnableKeepAlive(&context->c);
  context_ = context;
  context_->data = this;
  context_->ev.data = this;
  context_->ev.addRead = &RedisStore::AddRead;
  context_->ev.delRead = &RedisStore::DelRead;
  context_->ev.addWrite = &RedisStore::AddWrite;
  context_->ev.delWrite = &RedisStore::DelWrite;
  context_->ev.cleanup = &RedisStore::Cleanup;
  drop_reason_ = Unavailable("the broker's state store closed the connection");

  // Pipelined: AUTH and SELECT must succeed, and the PING's answer says the
  // connection is ready. Until then user commands wait in waiting_.
  std::vector<std::vector<std::string>> handshake;
  if (settings_.password.has_value()) handshake.push_back({"AUTH", *settings_.password});
  if (settings_.database != 0) handshake.push_back({"SELECT", std::to_string(settings_.database)});
  handshake.push_back({"PING"});
  for (size_t i = 0; i < handshake.size(); ++i) {
    const bool last = i + 1 == handshake.size();
    Send(Command{
        std::move(handshake[i]),
        [this, last](const absl::StatusOr<RedisReply>& reply) { OnHandshakeReply(reply, last); },
        connect_deadline_});
    if (context_ == nullptr) return;
  }
}

void RedisStore::OnHandshakeReply(const absl::StatusOr<RedisReply>& reply, bool last) {
  if (!reply.ok()) {
    // A wrong password or database, or the connection going: start over
    // after a backoff, which also picks up a password fixed on Redis's side.
    // OnConnectionGone forgets the request if the connection is already gone.
    if (!drop_requested_) drop_requested_ = reply.status();
    return;
  }
  if (!last || drop_requested_) return;
  ready_ = true;
  backoff_ = ToChrono(settings_.min_backoff);
  connected_.store(true, std::memory_order_release);
  std::deque<Command> waiting;
  waiting.swap(waiting_);
  for (Command& command : waiting) {
    if (context_ == nullptr) {
      command.done(Unavailable("the broker's state store is unreachable"));
    } else {
      Send(std::move(command));
    }
  }
}

void RedisStore::Send(Command command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(command.argv.size());
  lengths.reserve(command.argv.size());
  for (const std::string& arg : command.argv) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  next_ping_ = steady_clock::now() + ToChrono(settings_.ping_interval);
  in_flight_.push_back(std::move(command));
  Command* const sent = &in_flight_.back();
  if (redisAsyncCommandArgv(context_, &RedisStore::OnReply, sent, static_cast<int>(argv.size()),
                            argv.data(), lengths.data()) != REDIS_OK) {
    // The context is disconnecting: hiredis did not take the command.
    Command refused = std::move(in_flight_.back());
    in_flight_.pop_back();
    refused.done(Unavailable("the broker's state store is unreachable"));
  }
}

void RedisStore::Drop(absl::Status reason) {
  if (context_ == nullptr) return;
  drop_reason_ = std::move(reason);
  // Answers every command in flight with no reply and calls Cleanup.
  redisAsyncFree(context_);
}

void RedisStore::OnReply(redisAsyncContext* context, void* reply, void* privdata) {
  static_cast<RedisStore*>(context->data)->HandleReply(static_cast<redisReply*>(reply), privdata);
}

void RedisStore::HandleReply(redisReply* reply, void* privdata) {
  // Redis answers in order, so this is the oldest command; the search only
  // guards against a surprise.
  auto it = in_flight_.begin();
  while (it != in_flight_.end() && &*it != privdata) ++it;
  if (it == in_flight_.end()) return;
  Command command = std::move(*it);
  in_flight_.erase(it);
  if (reply == nullptr) {
    command.done(drop_reason_);
  } else if (reply->type == REDIS_REPLY_ERROR) {
    // A replica after a failover refuses writes: reconnecting resolves the
    // address again and so finds the new primary.
    if (absl::StartsWith(absl::string_view(reply->str, reply->len), "READONLY") &&
        !drop_requested_) {
      drop_requested_ = Unavailable("the broker's state store is read-only");
    }
    // Redis's words may name internals; callers get a reason, not those.
    command.done(Unavailable("the broker's state store refused a command"));
  } else {
    command.done(CopyReply(*reply));
  }
}

void RedisStore::OnConnectionGone() {
  context_ = nullptr;
  reading_ = false;
  writing_ = false;
  ready_ = false;
  drop_requested_.reset();
  connected_.store(false, std::memory_order_release);
  retry_at_ = steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, ToChrono(settings_.max_backoff));
}

void RedisStore::FailWaiting(const absl::Status& status) {
  std::deque<Command> waiting;
  waiting.swap(waiting_);
  for (Command& command : waiting) command.done(status);
}

void RedisStore::AddRead(void* data) { static_cast<RedisStore*>(data)->reading_ = true; }
void RedisStore::DelRead(void* data) { static_cast<RedisStore*>(data)->reading_ = false; }
void RedisStore::AddWrite(void* data) { static_cast<RedisStore*>(data)->writing_ = true; }
void RedisStore::DelWrite(void* data) { static_cast<RedisStore*>(data)->writing_ = false; }
// hiredis calls this as it frees the context, after answering every command
// in flight; the context must not be touched again.
void RedisStore::Cleanup(void* data) { static_cast<RedisStore*>(data)->OnConnectionGone(); }

// --- Operations ---

void RedisStore::Get(const std::string& key, ValueCallback done) {
  Submit({"GET", Key(key)}, [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
    if (!reply.ok()) return done(reply.status());
    if (reply->type == RedisReply::Type::kNil) return done(std::nullopt);
    if (reply->type != RedisReply::Type::kString) return done(Unexpected());
    done(std::optional<std::string>(std::move(reply->str)));
  });
}

void RedisStore::Put(const std::string& key, std::string value, absl::Duration ttl,
                     DoneCallback done) {
  Submit({"SET", Key(key), std::move(value), "PX", TtlMs(ttl)},
         [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
           if (!reply.ok()) return done(reply.status());
           if (reply->type != RedisReply::Type::kStatus) return done(Unexpected());
           done(absl::OkStatus());
         });
}

void RedisStore::PutIfAbsent(const std::string& key, std::string value, absl::Duration ttl,
                             ClaimCallback done) {
  Submit({"SET", Key(key), std::move(value), "NX", "PX", TtlMs(ttl)},
         [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
           if (!reply.ok()) return done(reply.status());
           // OK when set, nil when the key was there.
           if (reply->type == RedisReply::Type::kStatus) return done(true);
           if (reply->type == RedisReply::Type::kNil) return done(false);
           done(Unexpected());
         });
}

void RedisStore::Delete(const std::string& key, DoneCallback done) {
  Submit({"DEL", Key(key)}, [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
    if (!reply.ok()) return done(reply.status());
    if (reply->type != RedisReply::Type::kInteger) return done(Unexpected());
    done(absl::OkStatus());
  });
}

void RedisStore::PutIfHeld(const std::string& key, std::string value, absl::Duration ttl,
                           const std::string& guard_key, const std::string& guard_value,
                           ClaimCallback done) {
  Submit({"EVAL", kPutIfHeld, "2", Key(key), Key(guard_key), std::move(value), TtlMs(ttl),
          guard_value},
         [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
           if (!reply.ok()) return done(reply.status());
           if (reply->type != RedisReply::Type::kInteger) return done(Unexpected());
           done(reply->integer == 1);
         });
}

void RedisStore::DeleteIfEquals(const std::string& key, const std::string& expected,
                                DoneCallback done) {
  Submit({"EVAL", kDeleteIfEquals, "1", Key(key), expected},
         [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
           if (!reply.ok()) return done(reply.status());
           if (reply->type != RedisReply::Type::kInteger) return done(Unexpected());
           done(absl::OkStatus());
         });
}

void RedisStore::EvalWindow(const std::string& script, const std::string& key,
                            std::vector<std::string> args, WindowCallback done) {
  std::vector<std::string> argv = {"EVAL", script, "1", Key(key), NowMs(), Answer(done)};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  Submit(std::move(argv), [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
    if (!done) return;
    if (!reply.ok()) return done(reply.status());
    done(ParseWindow(*reply));
  });
}

void RedisStore::ReserveInWindow(const std::string& key, const std::string& member, int limit,
                                 absl::Duration ttl, bool evict_oldest, WindowCallback done) {
  EvalWindow(ReserveScript(), key,
             {member, std::to_string(limit), TtlMs(ttl), evict_oldest ? "1" : "0"},
             std::move(done));
}

void RedisStore::ReplaceInWindow(const std::string& key, const std::string& old_member,
                                 const std::string& new_member, absl::Duration ttl,
                                 WindowCallback done) {
  EvalWindow(ReplaceScript(), key, {old_member, new_member, TtlMs(ttl)}, std::move(done));
}

void RedisStore::RemoveFromWindow(const std::string& key, const std::string& member,
                                  WindowCallback done) {
  EvalWindow(RemoveScript(), key, {member}, std::move(done));
}

void RedisStore::CountWindow(const std::string& key, CountCallback done) {
  // Removing the empty name, which no member has, prunes and counts.
  Submit({"EVAL", RemoveScript(), "1", Key(key), NowMs(), "0", ""},
         [done = std::move(done)](absl::StatusOr<RedisReply> reply) {
           if (!reply.ok()) return done(reply.status());
           absl::StatusOr<WindowState> window = ParseWindow(*reply);
           if (!window.ok()) return done(window.status());
           done(window->size);
         });
}

}  // namespace credbroker
