// Sessions the broker holds for its callers (TOKEN_CUSTODY_BROKER): the
// caller keeps an opaque session id, the broker keeps the refresh token and
// hands out access tokens that stay valid for as long as asked.
//
// Refresh tokens are single use, so one session must never be refreshed
// twice at once, by any number of callers on any number of replicas: a
// refresh runs under a lease in the store, its site call ends before the
// lease does, and its result is written only while the lease is still its
// own (a fenced write). Callers in this process that need the same refresh
// wait for it; other replicas poll the record until it lands.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/common/call_context.h"
#include "broker/common/clock.h"
#include "broker/common/scheduler.h"
#include "broker/common/session.h"
#include "broker/crypto/sealer.h"
#include "broker/sessions/held_session.h"
#include "broker/store/state_store.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct HeldSessionSettings {
  // A session not refreshed (or created) for this long is gone.
  absl::Duration idle_timeout = absl::Hours(24);
  // A session is gone this long after the login, however much it is used.
  absl::Duration max_lifetime = absl::Hours(24 * 14);
  // How long a refresh may hold a session: longer than any site call.
  absl::Duration lease_ttl = absl::Seconds(40);
  // The refresh's site call is cut this long before its lease ends.
  absl::Duration lease_margin = absl::Seconds(5);
  // How often a replica waiting for another's refresh looks again.
  absl::Duration poll_interval = absl::Milliseconds(50);
  // min_validity when the caller sends none, and the most it may ask for
  // (site tokens live about 600 s: more would refresh on every call).
  absl::Duration default_min_validity = absl::Seconds(60);
  absl::Duration max_min_validity = absl::Seconds(300);
};

class HeldSessions {
 public:
  using SessionCallback = std::function<void(absl::StatusOr<SessionInfo>)>;
  using DoneCallback = std::function<void(absl::Status)>;

  HeldSessions(HeldSessionSettings settings, SiteClient& sites, StateStore& store,
               const Sealer& sealer, const Clock& clock, Scheduler& scheduler, Logger& logger);

  // Keeps a person's new session; answers it with its session_id and
  // without the refresh token.
  void Keep(SessionInfo session, const CallContext& call, SessionCallback done);
  // An access token valid for at least `min_validity` (zero: the default),
  // refreshed at the site first when the held one has less left.
  void GetAccessToken(std::string id, absl::Duration min_validity, CallContext call,
                      SessionCallback done);
  // Refreshes at the site now, whatever is left of the held token.
  void Refresh(std::string id, CallContext call, SessionCallback done);
  // Spends the refresh token at the site and forgets the session. Unknown
  // ids (and other callers' sessions) are fine: revoking is idempotent.
  void Revoke(std::string id, CallContext call, DoneCallback done);

 private:
  struct Flight;
  struct Request;

  using SessionThen = std::function<void(absl::StatusOr<HeldSession>)>;

  // The session if it exists and belongs to the call's caller, else
  // SESSION_NOT_FOUND (the same for both).
  void Load(const std::string& id, const CallContext& call, SessionThen then);
  // The session as stored, whoever it belongs to.
  void Read(const std::string& id, SessionThen then);
  void Serve(std::shared_ptr<Request> request, bool forced);
  // Joins this process's refresh of the session, or starts one.
  void JoinFlight(std::shared_ptr<Request> request, int64_t seen_generation);
  // Takes the session's lease, waiting (polling) while another holds it.
  void AcquireLease(const std::string& id, absl::Time give_up,
                    std::function<void(absl::StatusOr<std::string>)> then);
  void RefreshUnderLease(const std::string& id, const std::string& lease, int64_t seen_generation);
  void OnRefreshed(const std::string& id, const std::string& lease, HeldSession session,
                   absl::StatusOr<TokenGrant> grant);
  void ReleaseLease(const std::string& id, const std::string& lease);
  // Answers everyone waiting for the session's refresh.
  void Land(const std::string& id, absl::StatusOr<HeldSession> result);

  absl::Duration TimeToLive(const HeldSession& session) const;
  SessionInfo ToSessionInfo(const std::string& id, const HeldSession& session) const;
  void Audit(const char* step, const CallContext& call, const std::string& site,
             const std::string& user, const absl::Status& status);

  const HeldSessionSettings settings_;
  SiteClient& sites_;
  StateStore& store_;
  const Sealer& sealer_;
  const Clock& clock_;
  Scheduler& scheduler_;
  Logger& logger_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace credbroker
