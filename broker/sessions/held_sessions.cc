// When a refresh's outcome is unknown (the request left and no answer came),
// the site may have spent the refresh token. The broker keeps the record as
// it was and answers UNAVAILABLE; the next refresh sends the same token, and
// if the site had spent it, answers REFRESH_TOKEN_INVALID and forgets the
// session: the person logs in again. It never sends a token twice at once.
#include "broker/sessions/held_sessions.h"

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/random.h"
#include "broker/telemetry/audit.h"

namespace credbroker {
namespace {

absl::Status SessionNotFound() {
  return BrokerError(Reason::kSessionNotFound,
                     "this session is unknown, expired or revoked; log in again");
}

}  // namespace

struct HeldSessions::Request {
  std::string id;
  CallContext call;
  absl::Duration min_validity;
  const char* step;
  SessionCallback done;
};

struct HeldSessions::Flight {
  std::vector<std::shared_ptr<Request>> waiters;
};

HeldSessions::HeldSessions(HeldSessionSettings settings, SiteClient& sites, StateStore& store,
                           const Sealer& sealer, const Clock& clock, Scheduler& scheduler,
                           Logger& logger)
    : settings_(settings),
      sites_(sites),
      store_(store),
      sealer_(sealer),
      clock_(clock),
      scheduler_(scheduler),
      logger_(logger) {}

absl::Duration HeldSessions::TimeToLive(const HeldSession& session) const {
  return std::min(session.created + settings_.max_lifetime,
                  session.last_used + settings_.idle_timeout) -
         clock_.Now();
}

SessionInfo HeldSessions::ToSessionInfo(const std::string& id, const HeldSession& session) const {
  SessionInfo info;
  info.access_token = session.access_token;
  info.expire_time = session.access_expire_time;
  info.session_id = id;
  info.principal.user_login = session.user_login;
  info.site = session.site;
  return info;
}

void HeldSessions::Audit(const char* step, const CallContext& call, const std::string& site,
                         const std::string& user, const absl::Status& status) {
  AuditEvent event = AuditEventFor(step, call);
  event.site = site;
  event.username = user;
  event.outcome = std::string(step) == "revoke_session" ? "revoked" : "session";
  WriteAudit(logger_, event, status);
}

void HeldSessions::Keep(SessionInfo session, const CallContext& call, SessionCallback done) {
  const std::string id = NewSessionId();
  HeldSession held;
  held.site = session.site;
  held.user_login = session.principal.user_login;
  held.caller = call.caller;
  held.access_token = session.access_token;
  held.access_expire_time = session.expire_time;
  held.refresh_token = session.refresh_token;
  held.created = held.last_used = clock_.Now();
  store_.Put(HeldSessionKey(id), SealHeldSession(held, id, sealer_), TimeToLive(held),
             [this, id, held, done = std::move(done)](absl::Status stored) {
               if (!stored.ok()) return done(stored);
               done(ToSessionInfo(id, held));
             });
}

void HeldSessions::Read(const std::string& id, SessionThen then) {
  // Only ids the broker made name records; anything else is not one.
  if (!IsWellFormedSessionId(id)) return then(SessionNotFound());
  store_.Get(HeldSessionKey(id),
             [this, id, then = std::move(then)](absl::StatusOr<std::optional<std::string>> data) {
               if (!data.ok()) return then(data.status());
               if (!data->has_value()) return then(SessionNotFound());
               absl::StatusOr<HeldSession> session = OpenHeldSession(**data, id, sealer_);
               if (!session.ok()) {
                 // Edited, moved, or sealed by a key this broker does not hold.
                 logger_.Log(LogLevel::kWarn, "held_session_unopenable", {});
                 return then(SessionNotFound());
               }
               then(std::move(session));
             });
}

void HeldSessions::Load(const std::string& id, const CallContext& call, SessionThen then) {
  Read(id, [this, caller = call.caller, then = std::move(then)](absl::StatusOr<HeldSession> s) {
    if (s.ok() && (s->caller != caller || TimeToLive(*s) <= absl::ZeroDuration())) {
      return then(SessionNotFound());
    }
    then(std::move(s));
  });
}

void HeldSessions::GetAccessToken(std::string id, absl::Duration min_validity, CallContext call,
                                  SessionCallback done) {
  if (min_validity <= absl::ZeroDuration()) min_validity = settings_.default_min_validity;
  min_validity = std::min(min_validity, settings_.max_min_validity);
  Serve(std::make_shared<Request>(Request{std::move(id), std::move(call), min_validity,
                                          "get_access_token", std::move(done)}),
        /*forced=*/false);
}

void HeldSessions::Refresh(std::string id, CallContext call, SessionCallback done) {
  Serve(std::make_shared<Request>(Request{std::move(id), std::move(call), absl::ZeroDuration(),
                                          "refresh_session", std::move(done)}),
        /*forced=*/true);
}

void HeldSessions::Serve(std::shared_ptr<Request> request, bool forced) {
  Load(request->id, request->call, [this, request, forced](absl::StatusOr<HeldSession> session) {
    if (!session.ok()) {
      Audit(request->step, request->call, "", "", session.status());
      return request->done(session.status());
    }
    const bool fresh = session->access_expire_time - clock_.Now() >= request->min_validity;
    if (!forced && fresh) {
      Audit(request->step, request->call, session->site, session->user_login, absl::OkStatus());
      return request->done(ToSessionInfo(request->id, *session));
    }
    JoinFlight(request, session->generation);
  });
}

void HeldSessions::JoinFlight(std::shared_ptr<Request> request, int64_t seen_generation) {
  const std::string id = request->id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Flight>& flight = flights_[id];
    const bool started = flight != nullptr;
    if (!started) flight = std::make_shared<Flight>();
    flight->waiters.push_back(std::move(request));
    if (started) return;
  }
  AcquireLease(id, clock_.Now() + 2 * settings_.lease_ttl,
               [this, id, seen_generation](absl::StatusOr<std::string> lease) {
                 if (!lease.ok()) return Land(id, lease.status());
                 RefreshUnderLease(id, *lease, seen_generation);
               });
}

void HeldSessions::AcquireLease(const std::string& id, absl::Time give_up,
                                std::function<void(absl::StatusOr<std::string>)> then) {
  const std::string lease = RandomHex(16);
  store_.PutIfAbsent(
      HeldSessionLeaseKey(id), lease, settings_.lease_ttl,
      [this, id, lease, give_up, then = std::move(then)](absl::StatusOr<bool> claimed) mutable {
        if (!claimed.ok()) return then(claimed.status());
        if (*claimed) return then(lease);
        if (clock_.Now() >= give_up) {
          return then(WithRetryAfter(
              BrokerError(Reason::kStoreUnavailable,
                          "this session is being refreshed elsewhere and did not come back in "
                          "time; try again"),
              absl::Seconds(1)));
        }
        // Another replica is refreshing: look again shortly. Its refresh
        // lands before it lets go, so the next holder finds it done.
        scheduler_.RunAfter(settings_.poll_interval,
                            [this, id, give_up, then = std::move(then)]() mutable {
                              AcquireLease(id, give_up, std::move(then));
                            });
      });
}

void HeldSessions::RefreshUnderLease(const std::string& id, const std::string& lease,
                                     int64_t seen_generation) {
  Read(id, [this, id, lease, seen_generation](absl::StatusOr<HeldSession> session) {
    if (!session.ok()) {
      ReleaseLease(id, lease);
      return Land(id, session.status());
    }
    if (session->generation > seen_generation) {
      // Refreshed by another replica while this one waited for the lease.
      ReleaseLease(id, lease);
      return Land(id, *std::move(session));
    }
    TokenRequest request;
    request.grant = GrantType::kRefreshToken;
    request.refresh_token = session->refresh_token;
    // The site call ends before the lease does, so no other replica can
    // take the lease and send the same refresh token while it runs.
    const absl::Time deadline = clock_.Now() + settings_.lease_ttl - settings_.lease_margin;
    sites_.RequestToken(session->site, request, deadline,
                        [this, id, lease, session = *session](absl::StatusOr<TokenGrant> grant) {
                          OnRefreshed(id, lease, session, std::move(grant));
                        });
  });
}

void HeldSessions::OnRefreshed(const std::string& id, const std::string& lease, HeldSession session,
                               absl::StatusOr<TokenGrant> grant) {
  if (HasReason(grant.status(), Reason::kRefreshTokenInvalid)) {
    // The site no longer refreshes it (revoked, expired): the session is over.
    return store_.Delete(HeldSessionKey(id),
                         [this, id, lease, error = grant.status()](absl::Status) {
                           ReleaseLease(id, lease);
                           Land(id, error);
                         });
  }
  if (!grant.ok()) {
    ReleaseLease(id, lease);
    return Land(id, grant.status());
  }
  session.access_token = grant->access_token;
  session.access_expire_time = clock_.Now() + grant->expires_in;
  if (!grant->refresh_token.empty()) session.refresh_token = grant->refresh_token;
  session.last_used = clock_.Now();
  ++session.generation;
  store_.PutIfHeld(HeldSessionKey(id), SealHeldSession(session, id, sealer_), TimeToLive(session),
                   HeldSessionLeaseKey(id), lease,
                   [this, id, lease, session](absl::StatusOr<bool> written) {
                     if (written.ok() && !*written) {
                       // The lease ran out under this refresh (the process
                       // stalled): its result must not overwrite the record.
                       logger_.Log(LogLevel::kWarn, "held_session_refresh_fenced", {});
                       return Land(id, BrokerError(Reason::kStoreUnavailable,
                                                   "the session's refresh was interrupted; try "
                                                   "again"));
                     }
                     ReleaseLease(id, lease);
                     if (!written.ok()) return Land(id, written.status());
                     Land(id, session);
                   });
}

void HeldSessions::ReleaseLease(const std::string& id, const std::string& lease) {
  store_.DeleteIfEquals(HeldSessionLeaseKey(id), lease, [](absl::Status) {});
}

void HeldSessions::Land(const std::string& id, absl::StatusOr<HeldSession> result) {
  std::shared_ptr<Flight> flight;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = flights_.find(id);
    if (it == flights_.end()) return;
    flight = std::move(it->second);
    flights_.erase(it);
  }
  for (const std::shared_ptr<Request>& waiter : flight->waiters) {
    if (!result.ok()) {
      Audit(waiter->step, waiter->call, "", "", result.status());
      waiter->done(result.status());
      continue;
    }
    Audit(waiter->step, waiter->call, result->site, result->user_login, absl::OkStatus());
    waiter->done(ToSessionInfo(id, *result));
  }
}

void HeldSessions::Revoke(std::string id, CallContext call, DoneCallback done) {
  Load(id, call, [this, id, call, done = std::move(done)](absl::StatusOr<HeldSession> found) {
    if (HasReason(found.status(), Reason::kSessionNotFound)) {
      Audit("revoke_session", call, "", "", absl::OkStatus());
      return done(absl::OkStatus());
    }
    if (!found.ok()) {
      Audit("revoke_session", call, "", "", found.status());
      return done(found.status());
    }
    AcquireLease(
        id, clock_.Now() + 2 * settings_.lease_ttl,
        [this, id, call, done](absl::StatusOr<std::string> lease) {
          if (!lease.ok()) return done(lease.status());
          Read(id, [this, id, call, lease = *lease, done](absl::StatusOr<HeldSession> s) {
            if (!s.ok()) {
              ReleaseLease(id, lease);
              absl::Status result =
                  HasReason(s.status(), Reason::kSessionNotFound) ? absl::OkStatus() : s.status();
              Audit("revoke_session", call, "", "", result);
              return done(result);
            }
            TokenRequest request;
            request.grant = GrantType::kRefreshToken;
            request.refresh_token = s->refresh_token;
            sites_.RequestToken(
                s->site, request, clock_.Now() + settings_.lease_ttl - settings_.lease_margin,
                [this, id, call, lease, site = s->site, user = s->user_login,
                 done](absl::StatusOr<TokenGrant> grant) {
                  absl::Status spent = grant.status();
                  // A token the site already refuses is as good as revoked.
                  if (HasReason(spent, Reason::kRefreshTokenInvalid)) {
                    spent = absl::OkStatus();
                  }
                  if (!spent.ok()) {
                    ReleaseLease(id, lease);
                    Audit("revoke_session", call, site, user, spent);
                    return done(spent);
                  }
                  store_.Delete(HeldSessionKey(id),
                                [this, id, call, lease, site, user, done](absl::Status deleted) {
                                  ReleaseLease(id, lease);
                                  Audit("revoke_session", call, site, user, deleted);
                                  done(deleted);
                                });
                });
          });
        });
  });
}

}  // namespace credbroker
