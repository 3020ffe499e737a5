// A shared token record holds the grant and when it was fetched (so every
// replica agrees when it is due for renewal), sealed with its store key as
// associated data. A record that is missing, stale, rejected or does not open
// reads as "not there". Format 2 adds the session token; REST grants keep
// format 1, which replicas of the version before read.
#include "broker/scripts/shared_tokens.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/field_codec.h"
#include "broker/common/random.h"
#include "broker/crypto/same_secret.h"

namespace credbroker {
namespace {

constexpr char kRestFormat = '\x01';
constexpr char kSessionTokenFormat = '\x02';

std::string RecordKey(const std::string& share_key) {
  return absl::StrCat("script-token/", share_key);
}
std::string LeaseKey(const std::string& share_key) {
  return absl::StrCat("script-token/", share_key, "/lease");
}
std::string AssociatedData(const std::string& share_key) {
  return absl::StrCat("credbroker shared script token\n", RecordKey(share_key));
}

absl::Status NotThere() { return absl::NotFoundError("no fresh shared token"); }

}  // namespace

SharedTokens::SharedTokens(SharedTokenSettings settings, StateStore& store, const Sealer& sealer,
                           const Clock& clock, Scheduler& scheduler)
    : settings_(settings), store_(store), sealer_(sealer), clock_(clock), scheduler_(scheduler) {}

void SharedTokens::Look(const std::string& share_key, const std::string& rejected,
                        std::function<void(absl::StatusOr<TokenGrant>)> then) {
  store_.Get(RecordKey(share_key), [this, share_key, rejected, then = std::move(then)](
                                       absl::StatusOr<std::optional<std::string>> data) {
    if (!data.ok()) return then(data.status());
    if (!data->has_value()) return then(NotThere());
    absl::StatusOr<std::string> plain = sealer_.Open(**data, AssociatedData(share_key));
    if (!plain.ok()) return then(NotThere());
    absl::string_view in = *plain;
    absl::string_view access, type, refresh, session;
    int64_t expire_ms = 0, fetched_ms = 0;
    const bool known = !in.empty() && (in[0] == kRestFormat || in[0] == kSessionTokenFormat);
    const bool with_session = known && in[0] == kSessionTokenFormat;
    if (known) in.remove_prefix(1);
    const bool read = known && TakeField(in, &access) && TakeField(in, &type) &&
                      TakeField(in, &refresh) &&
                      TakeIntField(in, 0, INT64_MAX / 1000 - 1, &expire_ms) &&
                      TakeIntField(in, 0, INT64_MAX / 1000 - 1, &fetched_ms) &&
                      (!with_session || TakeField(in, &session)) && in.empty();
    const bool refused =
        read && !rejected.empty() && SameSecret(with_session ? session : access, rejected);
    absl::StatusOr<TokenGrant> grant = NotThere();
    if (read && !refused) {
      const absl::Time now = clock_.Now();
      const absl::Time expire = absl::FromUnixMillis(expire_ms);
      const absl::Time fetched = absl::FromUnixMillis(fetched_ms);
      const absl::Time renew_at = fetched + (expire - fetched) * settings_.renew_after;
      if (now < renew_at && expire - now >= settings_.min_validity) {
        TokenGrant fresh;
        fresh.access_token = std::string(access);
        fresh.token_type = std::string(type);
        fresh.refresh_token = std::string(refresh);
        fresh.session_token = std::string(session);
        fresh.expires_in = expire - now;
        grant = std::move(fresh);
      }
    }
    OPENSSL_cleanse(plain->data(), plain->size());
    then(std::move(grant));
  });
}

void SharedTokens::Fetch(const std::string& share_key, SiteCall site_call,
                         SiteClient::TokenCallback done, const std::string& rejected) {
  Look(share_key, rejected,
       [this, share_key, rejected, site_call = std::move(site_call),
        done = std::move(done)](absl::StatusOr<TokenGrant> found) mutable {
         if (found.ok()) return done(std::move(found));
         // Without the store, each replica fetches for itself: scripts keep working.
         if (!absl::IsNotFound(found.status())) return site_call(std::move(done));
         TakeLease(share_key, rejected, std::move(site_call), std::move(done),
                   clock_.Now() + settings_.lease_ttl);
       });
}

void SharedTokens::TakeLease(const std::string& share_key, const std::string& rejected,
                             SiteCall site_call, SiteClient::TokenCallback done,
                             absl::Time give_up) {
  const std::string lease = RandomHex(16);
  store_.PutIfAbsent(
      LeaseKey(share_key), lease, settings_.lease_ttl,
      [this, share_key, rejected, lease, give_up, site_call = std::move(site_call),
       done = std::move(done)](absl::StatusOr<bool> claimed) mutable {
        if (!claimed.ok()) return site_call(std::move(done));
        if (*claimed) {
          return FetchUnderLease(share_key, rejected, lease, std::move(site_call), std::move(done));
        }
        // Another replica is fetching: use its token once it lands.
        scheduler_.RunAfter(settings_.poll_interval, [this, share_key, rejected, give_up,
                                                      site_call = std::move(site_call),
                                                      done = std::move(done)]() mutable {
          Look(share_key, rejected,
               [this, share_key, rejected, give_up, site_call = std::move(site_call),
                done = std::move(done)](absl::StatusOr<TokenGrant> found) mutable {
                 if (found.ok()) return done(std::move(found));
                 if (clock_.Now() >= give_up) return site_call(std::move(done));
                 TakeLease(share_key, rejected, std::move(site_call), std::move(done), give_up);
               });
        });
      });
}

void SharedTokens::FetchUnderLease(const std::string& share_key, const std::string& rejected,
                                   const std::string& lease, SiteCall site_call,
                                   SiteClient::TokenCallback done) {
  auto release = [this, share_key, lease] {
    store_.DeleteIfEquals(LeaseKey(share_key), lease, [](absl::Status) {});
  };
  // Fetched by another replica just before this one took the lease?
  Look(share_key, rejected,
       [this, share_key, release, site_call = std::move(site_call),
        done = std::move(done)](absl::StatusOr<TokenGrant> found) mutable {
         if (found.ok()) {
           release();
           return done(std::move(found));
         }
         const absl::Time fetched = clock_.Now();
         site_call([this, share_key, release, fetched,
                    done = std::move(done)](absl::StatusOr<TokenGrant> grant) {
           if (!grant.ok()) {
             release();
             return done(std::move(grant));
           }
           const bool with_session = !grant->session_token.empty();
           std::string plain(1, with_session ? kSessionTokenFormat : kRestFormat);
           PutField(plain, grant->access_token);
           PutField(plain, grant->token_type);
           PutField(plain, grant->refresh_token);
           PutIntField(plain, absl::ToUnixMillis(fetched + grant->expires_in));
           PutIntField(plain, absl::ToUnixMillis(fetched));
           if (with_session) PutField(plain, grant->session_token);
           std::string sealed = sealer_.Seal(plain, AssociatedData(share_key));
           OPENSSL_cleanse(plain.data(), plain.size());
           store_.Put(RecordKey(share_key), std::move(sealed), grant->expires_in,
                      [release, grant, done](absl::Status) {
                        // Stored or not, this replica has its token.
                        release();
                        done(grant);
                      });
         });
       });
}

}  // namespace credbroker
