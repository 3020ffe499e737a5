// Each step continues in the callback of the one before; no thread waits on
// the site. One mutex guards the loops: each waiter leaves its loop's list
// under it exactly once (answered, timed out or cancelled), so every
// CompleteBrowserLogin call is answered once and audited once.
#include "broker/login/browser_login.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/random.h"
#include "broker/telemetry/audit.h"
#include "broker/upstream/site_resolution.h"

namespace credbroker {
namespace {

// A pending answer leaves this long before the caller's deadline, so it
// arrives rather than DEADLINE_EXCEEDED.
constexpr absl::Duration kAnswerMargin = absl::Milliseconds(250);

absl::Status RequestNotFound() {
  return BrokerError(Reason::kChallengeNotFound,
                     "this sign-in request is unknown, expired, rejected or already completed; "
                     "start the login again");
}

}  // namespace

struct BrowserLogin::Waiter {
  uint64_t id = 0;
  CallContext call;
  // When a still-pending request is answered APPROVAL_PENDING.
  absl::Time deadline;
  // wait = 0: answered with the next poll's result.
  bool one_poll = false;
  SessionCallback done;
};

struct BrowserLogin::Poller {
  std::string request_id;
  BrowserLoginRecord record;
  // The call that started the loop: whose session an approval becomes.
  CallContext call;
  std::vector<std::shared_ptr<Waiter>> waiters;
  // A poll or the approval is under way.
  bool busy = false;
  bool timer_armed = false;
  // The armed timer's number; a timer finding another does nothing.
  uint64_t generation = 0;
  // Polls failed in a row, and why the last one did.
  int failures = 0;
  absl::Status last_failure;
};

BrowserLogin::BrowserLogin(BrowserLoginSettings settings, SiteClient& sites, StateStore& store,
                           const Sealer& sealer, const Clock& clock, Scheduler& scheduler,
                           Logger& logger, SessionTokenExchange& exchange)
    : settings_(std::move(settings)),
      sites_(sites),
      store_(store),
      sealer_(sealer),
      clock_(clock),
      scheduler_(scheduler),
      logger_(logger),
      exchange_(exchange) {}

// ---- BeginBrowserLogin ----

void BrowserLogin::Begin(BeginBrowserLoginParams params, CallContext call, BeginCallback done) {
  AuditEvent event = AuditEventFor("begin_browser_login", call);
  event.outcome = "challenge";
  if (params.kind == TokenKind::kSessionToken) event.credential = "session_token";
  absl::StatusOr<std::string> site = ResolveSite(sites_, settings_.default_site, params.site);
  event.site = site.ok() ? *site : params.site;
  if (!site.ok()) {
    WriteAudit(logger_, event, site.status());
    return done(site.status());
  }
  const std::string& app = params.app_name.empty() ? settings_.app_name : params.app_name;
  const std::string& machine = params.machine_id.empty() ? settings_.machine_id : params.machine_id;
  auto finish = [this, event, done = std::move(done)](absl::StatusOr<BrowserLoginInfo> info) {
    WriteAudit(logger_, event, info.status());
    done(std::move(info));
  };
  sites_.StartLauncherRequest(
      *site, app, machine, call.deadline, call.cancel,
      [this, site = *site, params, call,
       finish = std::move(finish)](absl::StatusOr<LauncherRequest> started) mutable {
        if (!started.ok()) return finish(started.status());
        BrowserLoginRecord record;
        record.site = site;
        record.site_request_id = started->site_request_id;
        record.caller = call.caller;
        record.kind = params.kind;
        record.custody = params.custody;
        record.expire_time = clock_.Now() + settings_.lifetime;
        record.client_address = call.client_address;
        BrowserLoginInfo info{NewBrowserLoginId(), started->approval_url, record.expire_time};
        std::string sealed = SealBrowserLogin(record, info.request_id, sealer_);
        store_.Put(BrowserLoginKey(info.request_id), std::move(sealed), settings_.lifetime,
                   [info, finish = std::move(finish)](absl::Status stored) mutable {
                     if (!stored.ok()) return finish(stored);
                     finish(std::move(info));
                   });
      });
}

// ---- CompleteBrowserLogin ----

void BrowserLogin::Complete(std::string request_id, std::optional<absl::Duration> wait,
                            CallContext call, SessionCallback done) {
  auto waiter = std::make_shared<Waiter>();
  const absl::Duration wanted = wait.value_or(settings_.default_wait);
  waiter->one_poll = wanted <= absl::ZeroDuration();
  waiter->deadline = std::min(clock_.Now() + wanted, call.deadline - kAnswerMargin);
  waiter->call = std::move(call);
  waiter->done = std::move(done);
  store_.Get(BrowserLoginKey(request_id),
             [this, request_id, waiter](absl::StatusOr<std::optional<std::string>> data) {
               OnRecordLoaded(request_id, std::move(data), waiter);
             });
}

void BrowserLogin::OnRecordLoaded(const std::string& request_id,
                                  absl::StatusOr<std::optional<std::string>> data,
                                  std::shared_ptr<Waiter> waiter) {
  if (!data.ok()) return Answer(waiter, nullptr, data.status());
  if (!data->has_value()) return Answer(waiter, nullptr, RequestNotFound());
  absl::StatusOr<BrowserLoginRecord> record = OpenBrowserLogin(**data, request_id, sealer_);
  if (!record.ok()) {
    logger_.Log(LogLevel::kWarn, "browser_login_unopenable",
                {{"request_id", waiter->call.request_id}});
    return Answer(waiter, nullptr, RequestNotFound());
  }
  // Another caller's request looks exactly like an unknown one.
  if (record->caller != waiter->call.caller || record->expire_time <= clock_.Now()) {
    return Answer(waiter, nullptr, RequestNotFound());
  }
  Join(request_id, *record, std::move(waiter));
}

void BrowserLogin::Join(const std::string& request_id, const BrowserLoginRecord& record,
                        std::shared_ptr<Waiter> waiter) {
  std::shared_ptr<Poller> poller;
  bool poll_now = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Poller>& slot = pollers_[request_id];
    if (!slot) {
      slot = std::make_shared<Poller>();
      slot->request_id = request_id;
      slot->record = record;
      slot->call = waiter->call;
      slot->call.cancel = nullptr;  // the loop outlives any one call
    }
    poller = slot;
    waiter->id = next_waiter_id_++;
    poller->waiters.push_back(waiter);
    // A loop between polls polls at once only for a caller that will not wait.
    if (!poller->busy && (!poller->timer_armed || waiter->one_poll)) {
      poller->busy = true;
      poller->timer_armed = false;
      ++poller->generation;
      poll_now = true;
    }
  }
  const uint64_t id = waiter->id;
  if (!waiter->one_poll) {
    scheduler_.RunAfter(std::max(absl::ZeroDuration(), waiter->deadline - clock_.Now()),
                        [this, poller, id] { TimeOut(poller, id); });
  }
  if (waiter->call.cancel) {
    waiter->call.cancel->OnCancel([this, poller, id] { TimeOut(poller, id); });
  }
  if (poll_now) Poll(poller);
}

void BrowserLogin::Poll(std::shared_ptr<Poller> poller) {
  if (poller->record.expire_time <= clock_.Now()) {
    return Finish(poller, RequestNotFound(), /*forget_request=*/true);
  }
  sites_.PollLauncherRequest(
      poller->record.site, poller->record.site_request_id, absl::InfiniteFuture(), nullptr,
      [this, poller](absl::StatusOr<LauncherState> state) { OnPolled(poller, std::move(state)); });
}

absl::Status BrowserLogin::PendingStatus(const Poller& poller) const {
  if (!poller.last_failure.ok()) return poller.last_failure;
  return WithRetryAfter(BrokerError(Reason::kApprovalPending,
                                    "the person has not approved the sign-in yet; call "
                                    "CompleteBrowserLogin again"),
                        settings_.poll_interval);
}

void BrowserLogin::OnPolled(std::shared_ptr<Poller> poller, absl::StatusOr<LauncherState> state) {
  if (state.ok() && state->approved) return Approve(std::move(poller), *std::move(state));
  if (HasReason(state.status(), Reason::kChallengeNotFound)) {
    return Finish(poller, state.status(), /*forget_request=*/true);
  }
  std::vector<std::shared_ptr<Waiter>> answered;
  absl::Status pending;
  std::optional<std::pair<uint64_t, absl::Duration>> next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    poller->busy = false;
    if (state.ok()) {
      poller->failures = 0;
      poller->last_failure = absl::OkStatus();
    } else {
      ++poller->failures;
      poller->last_failure = state.status();
    }
    pending = PendingStatus(*poller);
    auto one_poll = std::stable_partition(
        poller->waiters.begin(), poller->waiters.end(),
        [](const std::shared_ptr<Waiter>& waiter) { return !waiter->one_poll; });
    answered.assign(one_poll, poller->waiters.end());
    poller->waiters.erase(one_poll, poller->waiters.end());
    if (poller->waiters.empty()) {
      auto it = pollers_.find(poller->request_id);
      if (it != pollers_.end() && it->second == poller) pollers_.erase(it);
    } else {
      // tk-core backs off after 5xx and connection errors.
      absl::Duration delay = settings_.poll_interval;
      for (int i = 0; i < poller->failures && delay < settings_.max_backoff; ++i) delay *= 2;
      poller->timer_armed = true;
      next.emplace(++poller->generation, std::min(delay, settings_.max_backoff));
    }
  }
  for (const std::shared_ptr<Waiter>& waiter : answered) {
    Answer(waiter, &poller->record, pending);
  }
  if (next) ScheduleNextPoll(poller, next->first, next->second);
}

void BrowserLogin::ScheduleNextPoll(const std::shared_ptr<Poller>& poller, uint64_t generation,
                                    absl::Duration delay) {
  scheduler_.RunAfter(delay, [this, poller, generation] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (poller->generation != generation || !poller->timer_armed || poller->busy) return;
      poller->timer_armed = false;
      poller->busy = true;
    }
    Poll(poller);
  });
}

void BrowserLogin::Approve(std::shared_ptr<Poller> poller, LauncherState state) {
  // The site keeps answering "approved" until the request expires: only the
  // completion holding the claim hands the session out, on any replica.
  const std::string claim = RandomHex(16);
  store_.PutIfAbsent(
      BrowserLoginClaimKey(poller->request_id), claim, settings_.lifetime,
      [this, poller, claim, state = std::move(state)](absl::StatusOr<bool> claimed) mutable {
        if (!claimed.ok()) return Finish(poller, claimed.status(), /*forget_request=*/false);
        if (!*claimed) return AwaitResult(poller, clock_.Now() + settings_.result_wait);
        const BrowserLoginRecord& record = poller->record;
        if (record.kind == TokenKind::kSessionToken) {
          SessionInfo session;
          session.token_type.clear();
          session.session_token = std::move(state.session_token);
          session.principal.user_login = std::move(state.user_login);
          session.site = record.site;
          return Publish(poller, std::move(session));
        }
        CallContext call = poller->call;
        call.deadline = absl::InfiniteFuture();
        exchange_.ToRestSession(record.site, state.session_token, state.user_login, record.custody,
                                call, [this, poller, claim](absl::StatusOr<SessionInfo> session) {
                                  if (session.ok()) return Publish(poller, *std::move(session));
                                  // Nothing was handed out: a later completion may try again.
                                  store_.DeleteIfEquals(BrowserLoginClaimKey(poller->request_id),
                                                        claim,
                                                        [this, poller, session](absl::Status) {
                                                          Finish(poller, session.status(), false);
                                                        });
                                });
      });
}

void BrowserLogin::Publish(const std::shared_ptr<Poller>& poller, SessionInfo session) {
  std::string sealed = SealBrowserLoginResult(session, poller->request_id, sealer_);
  store_.Put(BrowserLoginResultKey(poller->request_id), std::move(sealed), settings_.lifetime,
             [this, poller, session = std::move(session)](absl::Status) mutable {
               // Kept or not, this replica's waiters have their session.
               Finish(poller, std::move(session), /*forget_request=*/true);
             });
}

void BrowserLogin::AwaitResult(std::shared_ptr<Poller> poller, absl::Time give_up) {
  store_.Get(BrowserLoginResultKey(poller->request_id),
             [this, poller, give_up](absl::StatusOr<std::optional<std::string>> data) {
               if (data.ok() && data->has_value()) {
                 absl::StatusOr<SessionInfo> session =
                     OpenBrowserLoginResult(**data, poller->request_id, sealer_);
                 return Finish(poller, session.ok() ? std::move(session) : RequestNotFound(),
                               /*forget_request=*/false);
               }
               // The other replica failed to make it (its claim is gone, the
               // request stays) or is slower than any site call.
               if (clock_.Now() >= give_up) {
                 return Finish(poller, RequestNotFound(), /*forget_request=*/false);
               }
               scheduler_.RunAfter(std::min(settings_.poll_interval, absl::Milliseconds(50)),
                                   [this, poller, give_up] { AwaitResult(poller, give_up); });
             });
}

void BrowserLogin::Finish(const std::shared_ptr<Poller>& poller, absl::StatusOr<SessionInfo> result,
                          bool forget_request) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiters.swap(poller->waiters);
    poller->busy = false;
    poller->timer_armed = false;
    ++poller->generation;
    auto it = pollers_.find(poller->request_id);
    if (it != pollers_.end() && it->second == poller) pollers_.erase(it);
  }
  auto answer = [this, poller, waiters = std::move(waiters),
                 result = std::move(result)](absl::Status) {
    for (const std::shared_ptr<Waiter>& waiter : waiters) Answer(waiter, &poller->record, result);
  };
  // Gone before anyone hears of it: a completion after this answer finds
  // nothing to poll, on any replica.
  if (forget_request) return store_.Delete(BrowserLoginKey(poller->request_id), std::move(answer));
  answer(absl::OkStatus());
}

void BrowserLogin::TimeOut(const std::shared_ptr<Poller>& poller, uint64_t waiter_id) {
  std::shared_ptr<Waiter> waiter;
  absl::Status pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(poller->waiters.begin(), poller->waiters.end(),
                           [waiter_id](const std::shared_ptr<Waiter>& candidate) {
                             return candidate->id == waiter_id;
                           });
    if (it == poller->waiters.end()) return;
    waiter = *it;
    poller->waiters.erase(it);
    pending = PendingStatus(*poller);
    // Nobody waits any more: the loop stops at its next timer.
    if (poller->waiters.empty() && !poller->busy) {
      poller->timer_armed = false;
      ++poller->generation;
      auto slot = pollers_.find(poller->request_id);
      if (slot != pollers_.end() && slot->second == poller) pollers_.erase(slot);
    }
  }
  Answer(waiter, &poller->record, pending);
}

void BrowserLogin::Answer(const std::shared_ptr<Waiter>& waiter, const BrowserLoginRecord* record,
                          absl::StatusOr<SessionInfo> result) {
  AuditEvent event = AuditEventFor("complete_browser_login", waiter->call);
  event.outcome = "session";
  if (record != nullptr) {
    event.site = record->site;
    if (record->kind == TokenKind::kSessionToken) event.credential = "session_token";
    if (event.client_address.empty()) event.client_address = record->client_address;
  }
  if (result.ok()) event.username = result->principal.user_login;
  WriteAudit(logger_, event, result.status());
  waiter->done(std::move(result));
}

}  // namespace credbroker
