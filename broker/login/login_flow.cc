// Each step continues in the callback of the one before: no thread waits on
// the site or the store. A failure budget check comes before every site call
// that could count against the person's lockout.
#include "broker/login/login_flow.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/random.h"
#include "broker/telemetry/audit.h"
#include "broker/upstream/site_resolution.h"

namespace credbroker {

struct LoginFlow::BeginState {
  BeginLoginParams params;
  CallContext call;
  std::string site;
  Callback done;
  ~BeginState() { OPENSSL_cleanse(params.password.data(), params.password.size()); }
};

struct LoginFlow::SubmitState {
  SubmitSecondFactorParams params;
  CallContext call;
  Callback done;
  ChallengeRecord record;
  std::string lock_value;
  bool holds_lock = false;
};

LoginFlow::LoginFlow(LoginSettings settings, SiteClient& sites, StateStore& store,
                     FailureBudget& budget, const Sealer& sealer, const Clock& clock,
                     Logger& logger)
    : settings_(std::move(settings)),
      sites_(sites),
      store_(store),
      budget_(budget),
      sealer_(sealer),
      clock_(clock),
      logger_(logger) {}

LoginOutcome LoginFlow::SessionOutcome(const TokenGrant& grant, const std::string& site,
                                       const std::string& username) const {
  LoginOutcome outcome;
  outcome.has_session = true;
  outcome.session.access_token = grant.access_token;
  outcome.session.token_type = grant.token_type;
  outcome.session.expire_time = clock_.Now() + grant.expires_in;
  outcome.session.refresh_token = grant.refresh_token;
  outcome.session.principal.user_login = username;
  outcome.session.site = site;
  return outcome;
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

  budget_.Check(state->site, state->params.username, [this, state](absl::Status allowed) {
    if (!allowed.ok()) return FinishBegin(state, allowed);
    TokenRequest request;
    request.grant = GrantType::kPassword;
    request.username = state->params.username;
    request.password = state->params.password;
    request.auth_token = state->params.second_factor_code;
    sites_.RequestToken(state->site, request, state->call.deadline,
                        [this, state](absl::StatusOr<TokenGrant> grant) {
                          OnBeginAnswer(state, std::move(grant));
                        });
    OPENSSL_cleanse(request.password.data(), request.password.size());
  });
}

void LoginFlow::OnBeginAnswer(std::shared_ptr<BeginState> state, absl::StatusOr<TokenGrant> grant) {
  if (grant.ok())
    return FinishBegin(state, SessionOutcome(*grant, state->site, state->params.username));
  const absl::Status error = grant.status();
  if (HasReason(error, Reason::kSecondFactorRequired)) return CreateChallenge(std::move(state));
  if (HasReason(error, Reason::kInvalidCredentials) ||
      HasReason(error, Reason::kInvalidSecondFactor)) {
    budget_.RecordFailure(state->site, state->params.username,
                          [this, state, error](absl::StatusOr<int> remaining) {
                            // With the code given up front there is no challenge;
                            // attempts_left then tells what the failure budget allows.
                            absl::Status answer = error;
                            if (HasReason(error, Reason::kInvalidSecondFactor) && remaining.ok()) {
                              answer = WithAttemptsLeft(answer, *remaining);
                            }
                            FinishBegin(state, answer);
                          });
    return;
  }
  FinishBegin(state, error);
}

void LoginFlow::CreateChallenge(std::shared_ptr<BeginState> state) {
  const std::string id = NewChallengeId();
  ChallengeRecord record;
  record.site = state->site;
  record.username = state->params.username;
  record.sealed_password = sealer_.Seal(state->params.password, id);
  record.attempts_left = settings_.challenge_attempts;
  record.expire_time = clock_.Now() + settings_.challenge_lifetime;
  record.client_address = state->call.client_address;

  LoginOutcome outcome;
  outcome.challenge = ChallengeInfo{id, record.expire_time, record.attempts_left};
  store_.Put(ChallengeKey(id), SerializeChallenge(record), settings_.challenge_lifetime,
             [this, state, outcome](absl::Status stored) {
               if (!stored.ok()) return FinishBegin(state, stored);
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
  // holder reaches the site, the others answer CHALLENGE_BUSY at once.
  store_.PutIfAbsent(
      ChallengeLockKey(state->params.challenge_id), state->lock_value, settings_.challenge_lock_ttl,
      [this, state](absl::StatusOr<bool> claimed) {
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
  const absl::Status not_found = BrokerError(
      Reason::kChallengeNotFound,
      "this login challenge is unknown, expired, used up or already completed; start the "
      "login again");
  if (!data.ok()) return FinishSubmit(state, data.status());
  if (!data->has_value()) return FinishSubmit(state, not_found);
  absl::StatusOr<ChallengeRecord> record = ParseChallenge(**data);
  if (!record.ok() || record->expire_time <= clock_.Now() || record->attempts_left <= 0) {
    return FinishSubmit(state, not_found);
  }
  state->record = *std::move(record);
  budget_.Check(state->record.site, state->record.username, [this, state](absl::Status allowed) {
    if (!allowed.ok()) return FinishSubmit(state, allowed);
    SendCode(state);
  });
}

void LoginFlow::SendCode(std::shared_ptr<SubmitState> state) {
  absl::StatusOr<std::string> password =
      sealer_.Open(state->record.sealed_password, state->params.challenge_id);
  if (!password.ok()) {
    // Sealed by another key (a restarted broker with a random key): the
    // challenge cannot be completed here.
    logger_.Log(LogLevel::kWarn, "challenge_unsealable", {{"request_id", state->call.request_id}});
    return FinishSubmit(state, BrokerError(Reason::kChallengeNotFound,
                                           "this login challenge can no longer be completed; "
                                           "start the login again"));
  }
  TokenRequest request;
  request.grant = GrantType::kPassword;
  request.username = state->record.username;
  request.password = *std::move(password);
  request.auth_token = state->params.code;
  sites_.RequestToken(
      state->record.site, request, state->call.deadline,
      [this, state](absl::StatusOr<TokenGrant> grant) { OnSubmitAnswer(state, std::move(grant)); });
  OPENSSL_cleanse(request.password.data(), request.password.size());
}

void LoginFlow::OnSubmitAnswer(std::shared_ptr<SubmitState> state,
                               absl::StatusOr<TokenGrant> grant) {
  if (grant.ok()) {
    LoginOutcome outcome = SessionOutcome(*grant, state->record.site, state->record.username);
    // Single use: the challenge goes before the session is handed out.
    store_.Delete(ChallengeKey(state->params.challenge_id),
                  [this, state, outcome = std::move(outcome)](absl::Status deleted) {
                    if (!deleted.ok()) {
                      logger_.Log(LogLevel::kWarn, "challenge_delete_failed",
                                  {{"request_id", state->call.request_id}});
                    }
                    FinishSubmit(state, outcome);
                  });
    return;
  }
  if (HasReason(grant.status(), Reason::kInvalidSecondFactor) ||
      HasReason(grant.status(), Reason::kInvalidCredentials)) {
    return OnWrongCode(std::move(state), grant.status());
  }
  // The site was unreachable or odd: the attempt did not count, the
  // challenge stays as it was.
  FinishSubmit(state, grant.status());
}

void LoginFlow::OnWrongCode(std::shared_ptr<SubmitState> state, absl::Status wrong_code) {
  budget_.RecordFailure(
      state->record.site, state->record.username, [this, state](absl::StatusOr<int> remaining) {
        if (!remaining.ok()) {
          logger_.Log(LogLevel::kWarn, "failure_budget_unrecorded",
                      {{"request_id", state->call.request_id}});
        }
        const int attempts_left = state->record.attempts_left - 1;
        const absl::Status wrong = WithAttemptsLeft(
            BrokerError(Reason::kInvalidSecondFactor,
                        attempts_left > 0
                            ? "the two-factor code is wrong or was already used; try again"
                            : "the two-factor code is wrong; no attempts are left, start the "
                              "login again"),
            attempts_left);
        const std::string key = ChallengeKey(state->params.challenge_id);
        auto answer = [this, state, wrong](absl::Status stored) {
          FinishSubmit(state, stored.ok() ? wrong : stored);
        };
        if (attempts_left <= 0) return store_.Delete(key, answer);
        state->record.attempts_left = attempts_left;
        const absl::Duration ttl = state->record.expire_time - clock_.Now();
        if (ttl <= absl::ZeroDuration()) return store_.Delete(key, answer);
        store_.Put(key, SerializeChallenge(state->record), ttl, answer);
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
  store_.DeleteIfEquals(ChallengeLockKey(state->params.challenge_id), state->lock_value,
                        std::move(answer));
}

}  // namespace credbroker
