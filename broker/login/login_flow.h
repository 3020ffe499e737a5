// A person's password login with the site's stateless two-factor step:
// BeginLogin asks the site; on code 106 it keeps the password sealed in a
// challenge, and SubmitSecondFactor replays it with the person's code.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/common/call_context.h"
#include "broker/common/clock.h"
#include "broker/common/session.h"
#include "broker/crypto/sealer.h"
#include "broker/limits/failure_budget.h"
#include "broker/login/challenge.h"
#include "broker/sessions/held_sessions.h"
#include "broker/store/state_store.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct LoginSettings {
  std::string default_site;
  absl::Duration challenge_lifetime = absl::Seconds(300);
  int challenge_attempts = 5;
  // Live challenges per person: a new one replaces the oldest beyond this.
  int challenges_per_person = 3;
  // How long a submit may hold a challenge: longer than any site call lasts,
  // so a crashed replica's lock frees itself.
  absl::Duration challenge_lock_ttl = absl::Seconds(60);
};

struct BeginLoginParams {
  std::string site;
  std::string username;
  std::string password;
  std::string second_factor_code;
  // The proto's TokenCustody number, carried through the challenge.
  int custody = 0;
  // REST tokens or a session token (/api3/json get_session_token).
  TokenKind kind = TokenKind::kRest;
  ~BeginLoginParams();
};

struct SubmitSecondFactorParams {
  std::string challenge_id;
  std::string code;
};

class LoginFlow {
 public:
  using Callback = std::function<void(absl::StatusOr<LoginOutcome>)>;

  // `held` keeps the sessions of logins that ask for broker custody; without
  // it such logins are refused.
  LoginFlow(LoginSettings settings, SiteClient& sites, StateStore& store, FailureBudget& budget,
            const Sealer& sealer, const Clock& clock, Logger& logger, HeldSessions* held = nullptr);

  // Inputs are already validated by the API layer.
  void BeginLogin(BeginLoginParams params, CallContext call, Callback done);
  void SubmitSecondFactor(SubmitSecondFactorParams params, CallContext call, Callback done);
  // How many challenges are open in the store, whichever replica opened them.
  void CountOpenChallenges(std::function<void(absl::StatusOr<std::size_t>)> done);

 private:
  struct BeginState;
  struct SubmitState;

  // Sends a password grant for which the budget holds `reservation`,
  // settles the reservation with the site's answer, then continues with the
  // answer and the failures the person has left. The request is wiped.
  void SendPasswordGrant(const std::string& site, TokenRequest request, const CallContext& call,
                         const FailureReservation& reservation,
                         std::function<void(absl::StatusOr<TokenGrant>, absl::StatusOr<int>)> then);
  void SendPassword(std::shared_ptr<BeginState> state);
  void OnBeginAnswer(std::shared_ptr<BeginState> state, absl::StatusOr<TokenGrant> grant,
                     absl::StatusOr<int> budget_left);
  void CreateChallenge(std::shared_ptr<BeginState> state);
  void StoreChallenge(std::shared_ptr<BeginState> state, const std::string& id);
  void FinishBegin(const std::shared_ptr<BeginState>& state, absl::StatusOr<LoginOutcome> result);

  void OnChallengeLoaded(std::shared_ptr<SubmitState> state,
                         absl::StatusOr<std::optional<std::string>> data);
  void SendCode(std::shared_ptr<SubmitState> state);
  void OnSubmitAnswer(std::shared_ptr<SubmitState> state, absl::StatusOr<TokenGrant> grant,
                      absl::StatusOr<int> budget_left);
  void OnWrongCode(std::shared_ptr<SubmitState> state, absl::StatusOr<int> budget_left);
  // Removes the challenge and its place among the person's live challenges.
  void DropChallenge(const std::shared_ptr<SubmitState>& state,
                     std::function<void(absl::Status)> then);
  // Takes a challenge out of the count of open ones, without waiting.
  void ForgetOpenChallenge(const std::string& id);
  // Releases the challenge's lock, then answers.
  void FinishSubmit(const std::shared_ptr<SubmitState>& state, absl::StatusOr<LoginOutcome> result);

  LoginOutcome SessionOutcome(const TokenGrant& grant, const std::string& site,
                              const std::string& username) const;
  // The window of a person's live challenges. Named through the budget, so
  // only after its Reserve succeeded.
  std::string ChallengesKey(absl::string_view site, absl::string_view username) const;
  // The session as the custody asked: the tokens themselves, or (broker
  // custody) a held session's id and access token.
  void Deliver(LoginOutcome outcome, int custody, const CallContext& call,
               std::function<void(absl::StatusOr<LoginOutcome>)> then);

  const LoginSettings settings_;
  SiteClient& sites_;
  StateStore& store_;
  FailureBudget& budget_;
  const Sealer& sealer_;
  const Clock& clock_;
  Logger& logger_;
  HeldSessions* held_;
};

}  // namespace credbroker
