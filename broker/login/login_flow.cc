// Each step continues in the callback of the one before: no thread waits on
// the site or the store. Every password grant (with or without a code) first
// reserves a place in the failure budget, and the site's answer settles it.
#include "broker/login/login_flow.h"

#include <openssl/crypto.h>

#include <limits>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/random.h"
#include "broker/sessions/custody.h"
#include "broker/telemetry/audit.h"
#include "broker/upstream/site_resolution.h"

namespace credbroker {
namespace {

void Wipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

// Every open challenge, expiring with it, so any replica can count them: in
// 64 windows by the id's first two hex digits, because adding to or removing
// from a window moves and compares its members under the store's lock. One
// window of 100,000 open challenges cost each login about 0.6 ms there; 64
// of about 1,600 cost 10 us (tests/bench/store_window_bench.cc).
constexpr int kOpenChallengeShards = 64;
std::string OpenChallengesKey(int shard) { return absl::StrCat("challenges-open/", shard); }
std::string OpenChallengesKeyOf(const std::string& id) {
  // Ids are 64 lowercase hex digits (NewChallengeId; callers' are validated).
  const auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
  };
  if (id.size() < 2) return OpenChallengesKey(0);
  return OpenChallengesKey((digit(id[0]) * 16 + digit(id[1])) % kOpenChallengeShards);
}

// A challenge's member there: the first 15 of its id's 64 random hex digits.
// Only counted, so 60 bits tell challenges apart well enough, and a name this
// short lives inside its std::string: no allocation per open challenge, which
// the memory store holds as long as the challenge.
std::string OpenChallengeTag(const std::string& id) { return id.substr(0, 15); }

absl::Status ChallengeNotFound() {
  return BrokerError(Reason::kChallengeNotFound,
                     "this login challenge is unknown, expired, used up or already completed; "
                     "start the login again");
}

bool IsWrongSecret(const absl::Status& status) {
  return HasReason(status, Reason::kInvalidSecondFactor) ||
         HasReason(status, Reason::kInvalidCredentials);
}

}  // namespace

BeginLoginParams::~BeginLoginParams() {
  Wipe(password);
  Wipe(second_factor_code);
}

struct LoginFlow::BeginState {
  BeginLoginParams params;
  CallContext call;
  std::string site;
  Callback done;
  FailureReservation reservation;
};

struct LoginFlow::SubmitState {
  SubmitSecondFactorParams params;
  CallContext call;
  Callback done;
  ChallengeRecord record;
  std::string lock_value;
  bool holds_lock = false;
  FailureReservation reservation;
  ~SubmitState() { Wipe(params.code); }
};

LoginFlow::LoginFlow(LoginSettings settings, SiteClient& sites, StateStore& store,
                     FailureBudget& budget, const Sealer& sealer, const Clock& clock,
                     Logger& logger, HeldSessions* held)
    : settings_(std::move(settings)),
      sites_(sites),
      store_(store),
      budget_(budget),
      sealer_(sealer),
      clock_(clock),
      logger_(logger),
      held_(held) {}

LoginOutcome LoginFlow::SessionOutcome(const TokenGrant& grant, const std::string& site,
                                       const std::string& username) const {
  LoginOutcome outcome;
  outcome.has_session = true;
  outcome.session = SessionFromGrant(grant, site, clock_.Now());
  outcome.session.principal.user_login = username;
  return outcome;
}

std::string LoginFlow::ChallengesKey(absl::string_view site, absl::string_view username) const {
  return absl::StrCat("challenges/", site, "/", budget_.PersonName(username));
}

void LoginFlow::Deliver(LoginOutcome outcome, int custody, const CallContext& call,
                        std::function<void(absl::StatusOr<LoginOutcome>)> then) {
  DeliverSession(held_, std::move(outcome.session), custody, call,
                 [then = std::move(then)](absl::StatusOr<SessionInfo> delivered) {
                   if (!delivered.ok()) return then(delivered.status());
                   LoginOutcome done;
                   done.has_session = true;
                   done.session = *std::move(delivered);
                   then(std::move(done));
                 });
}

// ---- BeginLogin ----

void LoginFlow::BeginLogin(BeginLoginParams params, CallContext call, Callback done) {
  auto state = std::make_shared<BeginState>();
  state->params = std::move(params);
  state->call = std::move(call);
  state->done = std::move(done);
  absl::StatusOr<std::string> site =
      ResolveSite(sites_, settings_.default_site, state->params.site);
  if (!site.ok()) return FinishBegin(state, site.status());
  state->site = *std::move(site);

  budget_.Reserve(state->site, state->params.username, state->call.client_address,
                  [this, state](absl::StatusOr<FailureReservation> reservation) {
                    if (!reservation.ok()) return FinishBegin(state, reservation.status());
                    state->reservation = *std::move(reservation);
                    SendPassword(state);
                  });
}

void LoginFlow::SendPasswordGrant(
    const std::string& site, TokenRequest request, const CallContext& call,
    const FailureReservation& reservation,
    std::function<void(absl::StatusOr<TokenGrant>, absl::StatusOr<int>)> then) {
  request.grant = GrantType::kPassword;
  request.cancel = call.cancel;
  sites_.RequestToken(
      site, request, call.deadline,
      [this, reservation, then = std::move(then)](absl::StatusOr<TokenGrant> grant) {
        const absl::Status answer = grant.status();
        budget_.Settle(reservation, answer,
                       [then, grant = std::move(grant)](absl::StatusOr<int> budget_left) mutable {
                         then(std::move(grant), budget_left);
                       });
      });
  Wipe(request.password);
  Wipe(request.auth_token);
}

void LoginFlow::SendPassword(std::shared_ptr<BeginState> state) {
  TokenRequest request;
  request.username = state->params.username;
  request.password = state->params.password;
  request.auth_token = state->params.second_factor_code;
  request.kind = state->params.kind;
  SendPasswordGrant(state->site, std::move(request), state->call, state->reservation,
                    [this, state](absl::StatusOr<TokenGrant> grant, absl::StatusOr<int> left) {
                      OnBeginAnswer(state, std::move(grant), left);
                    });
}

void LoginFlow::OnBeginAnswer(std::shared_ptr<BeginState> state, absl::StatusOr<TokenGrant> grant,
                              absl::StatusOr<int> budget_left) {
  if (!budget_left.ok()) {
    logger_.Log(LogLevel::kWarn, "failure_budget_unsettled",
                {{"request_id", state->call.request_id}});
  }
  if (grant.ok()) {
    return Deliver(SessionOutcome(*grant, state->site, state->params.username),
                   state->params.custody, state->call,
                   [this, state](absl::StatusOr<LoginOutcome> outcome) {
                     FinishBegin(state, std::move(outcome));
                   });
  }
  const absl::Status error = grant.status();
  if (HasReason(error, Reason::kSecondFactorRequired)) return CreateChallenge(std::move(state));
  // With the code given up front there is no challenge; attempts_left then
  // tells what the failure budget allows.
  if (HasReason(error, Reason::kInvalidSecondFactor) && budget_left.ok()) {
    return FinishBegin(state, WithAttemptsLeft(error, *budget_left));
  }
  FinishBegin(state, error);
}

void LoginFlow::CreateChallenge(std::shared_ptr<BeginState> state) {
  const std::string id = NewChallengeId();
  // The newest challenge replaces the oldest beyond the cap, so a person's
  // live challenges (and the store) stay bounded however often 106 comes.
  store_.ReserveInWindow(
      ChallengesKey(state->site, state->params.username), id, settings_.challenges_per_person,
      settings_.challenge_lifetime, /*evict_oldest=*/true,
      [this, state, id](absl::StatusOr<WindowState> window) {
        if (!window.ok()) return FinishBegin(state, window.status());
        if (!window->evicted) return StoreChallenge(state, id);
        ForgetOpenChallenge(*window->evicted);
        store_.Delete(ChallengeKey(*window->evicted), [this, state, id](absl::Status deleted) {
          if (!deleted.ok()) return FinishBegin(state, deleted);
          StoreChallenge(state, id);
        });
      });
}

void LoginFlow::StoreChallenge(std::shared_ptr<BeginState> state, const std::string& id) {
  ChallengeRecord record;
  record.site = state->site;
  record.username = state->params.username;
  record.password = state->params.password;
  record.caller = state->call.caller;
  record.custody = state->params.custody;
  record.attempts_left = settings_.challenge_attempts;
  record.expire_time = clock_.Now() + settings_.challenge_lifetime;
  record.client_address = state->call.client_address;
  record.kind = state->params.kind;

  LoginOutcome outcome;
  outcome.challenge = ChallengeInfo{id, record.expire_time, record.attempts_left};
  store_.Put(ChallengeKey(id), SealChallenge(record, id, sealer_), settings_.challenge_lifetime,
             [this, state, outcome, id](absl::Status stored) {
               if (!stored.ok()) return FinishBegin(state, stored);
               // Only counted (credbroker_challenges_held): the login does
               // not wait for it, nor fail with it.
               store_.ReserveInWindow(OpenChallengesKeyOf(id), OpenChallengeTag(id),
                                      std::numeric_limits<int>::max(), settings_.challenge_lifetime,
                                      /*evict_oldest=*/false,
                                      /*done=*/nullptr);
               FinishBegin(state, outcome);
             });
}

void LoginFlow::FinishBegin(const std::shared_ptr<BeginState>& state,
                            absl::StatusOr<LoginOutcome> result) {
  AuditEvent event = AuditEventFor("begin_login", state->call);
  event.site = state->site.empty() ? state->params.site : state->site;
  event.username = state->params.username;
  event.outcome = result.ok() && !result->has_session ? "challenge" : "session";
  WriteAudit(logger_, event, result.status());
  Callback done = std::move(state->done);
  done(std::move(result));
}

// ---- SubmitSecondFactor ----

void LoginFlow::SubmitSecondFactor(SubmitSecondFactorParams params, CallContext call,
                                   Callback done) {
  auto state = std::make_shared<SubmitState>();
  state->params = std::move(params);
  state->call = std::move(call);
  state->done = std::move(done);
  state->lock_value = RandomHex(16);
  // The lock makes concurrent submits of one challenge exclusive: only its
  // holder reaches the site, the others answer CHALLENGE_BUSY at once. It is
  // per caller, so only the owner's submits can ever hold the owner's up.
  store_.PutIfAbsent(
      ChallengeLockKey(state->params.challenge_id, state->call.caller), state->lock_value,
      settings_.challenge_lock_ttl, [this, state](absl::StatusOr<bool> claimed) {
        if (!claimed.ok()) return FinishSubmit(state, claimed.status());
        if (!*claimed) {
          return FinishSubmit(
              state, BrokerError(Reason::kChallengeBusy,
                                 "a code for this challenge is already being checked; wait for "
                                 "its answer"));
        }
        state->holds_lock = true;
        store_.Get(ChallengeKey(state->params.challenge_id),
                   [this, state](absl::StatusOr<std::optional<std::string>> data) {
                     OnChallengeLoaded(state, std::move(data));
                   });
      });
}

void LoginFlow::OnChallengeLoaded(std::shared_ptr<SubmitState> state,
                                  absl::StatusOr<std::optional<std::string>> data) {
  if (!data.ok()) return FinishSubmit(state, data.status());
  if (!data->has_value()) return FinishSubmit(state, ChallengeNotFound());
  absl::StatusOr<ChallengeRecord> record =
      OpenChallenge(**data, state->params.challenge_id, sealer_);
  if (!record.ok()) {
    // Edited, moved, or sealed by a key this broker does not hold.
    logger_.Log(LogLevel::kWarn, "challenge_unopenable", {{"request_id", state->call.request_id}});
    return FinishSubmit(state, ChallengeNotFound());
  }
  // Another caller's challenge looks exactly like an unknown one, reaches no
  // site and spends nothing.
  if (record->caller != state->call.caller || record->expire_time <= clock_.Now() ||
      record->attempts_left <= 0) {
    return FinishSubmit(state, ChallengeNotFound());
  }
  state->record = *std::move(record);
  budget_.Reserve(state->record.site, state->record.username, state->call.client_address,
                  [this, state](absl::StatusOr<FailureReservation> reservation) {
                    if (!reservation.ok()) return FinishSubmit(state, reservation.status());
                    state->reservation = *std::move(reservation);
                    SendCode(state);
                  });
}

void LoginFlow::SendCode(std::shared_ptr<SubmitState> state) {
  TokenRequest request;
  request.username = state->record.username;
  request.password = state->record.password;
  request.auth_token = state->params.code;
  request.kind = state->record.kind;
  SendPasswordGrant(state->record.site, std::move(request), state->call, state->reservation,
                    [this, state](absl::StatusOr<TokenGrant> grant, absl::StatusOr<int> left) {
                      OnSubmitAnswer(state, std::move(grant), left);
                    });
}

void LoginFlow::OnSubmitAnswer(std::shared_ptr<SubmitState> state, absl::StatusOr<TokenGrant> grant,
                               absl::StatusOr<int> budget_left) {
  if (!budget_left.ok()) {
    logger_.Log(LogLevel::kWarn, "failure_budget_unsettled",
                {{"request_id", state->call.request_id}});
  }
  if (grant.ok()) {
    LoginOutcome outcome = SessionOutcome(*grant, state->record.site, state->record.username);
    // Single use: the challenge goes before the session is handed out.
    DropChallenge(state, [this, state, outcome = std::move(outcome)](absl::Status dropped) {
      if (!dropped.ok()) {
        logger_.Log(LogLevel::kWarn, "challenge_delete_failed",
                    {{"request_id", state->call.request_id}});
      }
      Deliver(outcome, state->record.custody, state->call,
              [this, state](absl::StatusOr<LoginOutcome> delivered) {
                FinishSubmit(state, std::move(delivered));
              });
    });
    return;
  }
  if (IsWrongSecret(grant.status())) return OnWrongCode(std::move(state), budget_left);
  // The site was unreachable or odd: the attempt did not count, the
  // challenge stays as it was.
  FinishSubmit(state, grant.status());
}

void LoginFlow::OnWrongCode(std::shared_ptr<SubmitState> state, absl::StatusOr<int> budget_left) {
  const int attempts_left = state->record.attempts_left - 1;
  // What the person may still try: the challenge's attempts, unless the
  // failure budget allows fewer.
  const int shown_left = budget_left.ok() ? std::min(attempts_left, *budget_left) : attempts_left;
  const absl::Status wrong = WithAttemptsLeft(
      BrokerError(Reason::kInvalidSecondFactor,
                  attempts_left > 0 ? "the two-factor code is wrong or was already used; try again"
                                    : "the two-factor code is wrong; no attempts are left, start "
                                      "the login again"),
      std::max(0, shown_left));
  auto answer = [this, state, wrong](absl::Status stored) {
    FinishSubmit(state, stored.ok() ? wrong : stored);
  };
  const absl::Duration ttl = state->record.expire_time - clock_.Now();
  if (attempts_left <= 0 || ttl <= absl::ZeroDuration()) return DropChallenge(state, answer);
  state->record.attempts_left = attempts_left;
  store_.Put(ChallengeKey(state->params.challenge_id),
             SealChallenge(state->record, state->params.challenge_id, sealer_), ttl, answer);
}

void LoginFlow::ForgetOpenChallenge(const std::string& id) {
  store_.RemoveFromWindow(OpenChallengesKeyOf(id), OpenChallengeTag(id), /*done=*/nullptr);
}

void LoginFlow::CountOpenChallenges(std::function<void(absl::StatusOr<std::size_t>)> done) {
  struct Tally {
    std::mutex mu;
    int pending = kOpenChallengeShards;
    std::size_t open = 0;
    absl::Status error;
    std::function<void(absl::StatusOr<std::size_t>)> done;
  };
  auto tally = std::make_shared<Tally>();
  tally->done = std::move(done);
  for (int shard = 0; shard < kOpenChallengeShards; ++shard) {
    store_.CountWindow(OpenChallengesKey(shard), [tally](absl::StatusOr<std::size_t> counted) {
      std::unique_lock<std::mutex> lock(tally->mu);
      if (counted.ok()) {
        tally->open += *counted;
      } else if (tally->error.ok()) {
        tally->error = counted.status();
      }
      if (--tally->pending > 0) return;
      lock.unlock();
      if (!tally->error.ok()) return tally->done(tally->error);
      tally->done(tally->open);
    });
  }
}

void LoginFlow::DropChallenge(const std::shared_ptr<SubmitState>& state,
                              std::function<void(absl::Status)> then) {
  ForgetOpenChallenge(state->params.challenge_id);
  store_.Delete(ChallengeKey(state->params.challenge_id), [this, state, then = std::move(then)](
                                                              absl::Status deleted) {
    store_.RemoveFromWindow(ChallengesKey(state->record.site, state->record.username),
                            state->params.challenge_id,
                            [then, deleted](absl::StatusOr<WindowState>) { then(deleted); });
  });
}

void LoginFlow::FinishSubmit(const std::shared_ptr<SubmitState>& state,
                             absl::StatusOr<LoginOutcome> result) {
  AuditEvent event = AuditEventFor("submit_second_factor", state->call);
  event.site = state->record.site;
  event.username = state->record.username;
  event.outcome = "session";
  if (event.client_address.empty()) event.client_address = state->record.client_address;
  WriteAudit(logger_, event, result.status());

  auto answer = [state, result = std::move(result)](absl::Status) mutable {
    Callback done = std::move(state->done);
    done(std::move(result));
  };
  if (!state->holds_lock) return answer(absl::OkStatus());
  state->holds_lock = false;
  store_.DeleteIfEquals(ChallengeLockKey(state->params.challenge_id, state->call.caller),
                        state->lock_value, std::move(answer));
}

}  // namespace credbroker
