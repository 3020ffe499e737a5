// Cache keys hold a digest of a caller's key, never the key, so a wrong key
// can never be served a token cached for the right one. Keyring entries are
// keyed by script and renewed in the background with whatever key the keyring
// holds at that moment.
#include "broker/scripts/script_sessions.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"
#include "broker/common/random.h"
#include "broker/crypto/digest.h"
#include "broker/telemetry/audit.h"
#include "broker/upstream/site_resolution.h"

namespace credbroker {
namespace {

constexpr char kKeyringMarker[] = "keyring";
// What a session token acts as: its script, and through shotgun_api3's own
// sudo_as_login anyone the script may act as. The policy must grant "*".
constexpr char kAnyUser[] = "*";

std::string CacheKey(const std::string& site, const std::string& script,
                     const std::string& key_part, const std::string& sudo_as, TokenKind kind) {
  // REST keys are as before, so replicas of the version before share them.
  return absl::StrCat(site, "\n", script, "\n", key_part, "\n", sudo_as,
                      kind == TokenKind::kSessionToken ? "\nsession-token" : "");
}

// A random RFC 4122 version 4 UUID: the session_uuid the site records.
std::string NewSessionUuid() {
  std::string hex = RandomHex(16);
  hex[12] = '4';
  hex[16] = "89ab"[hex[16] % 4];
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

absl::Status NoKeyFor(absl::string_view script) {
  return BrokerError(Reason::kInvalidScriptKey,
                     absl::StrCat("the broker's keyring holds no key for script '", script, "'"));
}

}  // namespace

ScriptSessions::ScriptSessions(ScriptSessionSettings settings, SiteClient& sites, TokenCache& cache,
                               const Keyring* keyring, const LivePolicy& policy, Logger& logger,
                               SharedTokens* shared)
    : settings_(std::move(settings)),
      sites_(sites),
      cache_(cache),
      keyring_(keyring),
      policy_(policy),
      logger_(logger),
      shared_(shared) {}

bool ScriptSessions::IsKeyringEntryOf(const std::string& cache_key, const std::string& script) {
  // site \n script \n keyring \n sudo_as
  const std::size_t first = cache_key.find('\n');
  return first != std::string::npos &&
         absl::StartsWith(absl::string_view(cache_key).substr(first + 1),
                          absl::StrCat(script, "\n", kKeyringMarker, "\n"));
}

absl::Status ScriptSessions::CheckAllowed(const ScriptSessionParams& params,
                                          const CallContext& call) const {
  const std::shared_ptr<const Policy> policy = policy_.Current();
  const bool keyring = params.script_key.empty();
  if (keyring && !policy->AllowsScript(call.caller, params.script_name)) {
    return BrokerError(Reason::kCallerNotAllowed, absl::StrCat("caller '", call.caller,
                                                               "' may not use the broker's key for "
                                                               "script '",
                                                               params.script_name, "'"));
  }
  const bool session_token = params.kind == TokenKind::kSessionToken;
  if ((keyring || settings_.callers_identified) &&
      !policy->AllowsSudo(call.caller, session_token ? kAnyUser : params.sudo_as_login)) {
    return BrokerError(
        Reason::kCallerNotAllowed,
        session_token
            ? absl::StrCat("caller '", call.caller, "' may not hold a session token for script '",
                           params.script_name,
                           "': its holder can act as any user, and the policy does not grant "
                           "sudo_as \"*\"")
            : absl::StrCat("caller '", call.caller, "' may not act as '", params.sudo_as_login,
                           "'"));
  }
  if (keyring && (keyring_ == nullptr || !keyring_->KeyFor(params.script_name))) {
    return NoKeyFor(params.script_name);
  }
  return absl::OkStatus();
}

void ScriptSessions::Issue(ScriptSessionParams params, CallContext call, SessionCallback done) {
  AuditEvent event = AuditEventFor("issue_script_session", call);
  event.script_name = params.script_name;
  event.sudo_as_login = params.sudo_as_login;
  event.outcome = "session";
  if (params.kind == TokenKind::kSessionToken) event.credential = "session_token";

  absl::StatusOr<std::string> site = ResolveSite(sites_, settings_.default_site, params.site);
  absl::Status refused = CheckAllowed(params, call);
  // A refused caller hears about the policy before it learns whether a site exists.
  if (refused.ok()) refused = site.status();
  if (!refused.ok()) {
    event.site = params.site;
    WriteAudit(logger_, event, refused);
    return done(refused);
  }
  event.site = *site;

  const bool from_keyring = params.script_key.empty();
  const std::string key = CacheKey(*site, params.script_name,
                                   from_keyring ? kKeyringMarker : Sha256Hex(params.script_key),
                                   params.sudo_as_login, params.kind);
  // The fetch runs now and, for keyring entries, again at each background
  // renewal; it reads the keyring each time, so a rotated key is used at once.
  TokenCache::Fetch fetch = [this, site = *site, script = params.script_name,
                             caller_key = params.script_key, sudo_as = params.sudo_as_login,
                             deadline = call.deadline, kind = params.kind,
                             rejected = params.rejected_token,
                             from_keyring](SiteClient::TokenCallback fetched) {
    TokenRequest request;
    request.grant = GrantType::kClientCredentials;
    request.kind = kind;
    request.script_name = script;
    request.sudo_as_login = sudo_as;
    request.session_uuid = NewSessionUuid();
    if (from_keyring) {
      std::optional<std::string> current = keyring_ ? keyring_->KeyFor(script) : std::nullopt;
      if (!current) return fetched(NoKeyFor(script));
      request.script_key = *std::move(current);
    } else {
      request.script_key = caller_key;
    }
    // A background renewal has no caller waiting: give it the site's own timeout.
    const absl::Time when = from_keyring ? absl::InfiniteFuture() : deadline;
    SharedTokens::SiteCall site_call = [this, site, request, when](SiteClient::TokenCallback cb) {
      if (request.kind == TokenKind::kRest) {
        return sites_.RequestToken(site, request, when, std::move(cb));
      }
      // The reuse time stands in for the lifetime the site does not tell.
      sites_.RequestToken(site, request, when,
                          [reuse = settings_.session_token_reuse,
                           cb = std::move(cb)](absl::StatusOr<TokenGrant> grant) {
                            if (grant.ok()) grant->expires_in = reuse;
                            cb(std::move(grant));
                          });
    };
    if (shared_ == nullptr) return site_call(std::move(fetched));
    // Named by a digest of the key actually used: a rotated key shares
    // nothing with the old one, and no name or key appears in the store.
    shared_->Fetch(
        Sha256Hex(CacheKey(site, script, Sha256Hex(request.script_key), sudo_as, request.kind)),
        std::move(site_call), std::move(fetched), rejected);
  };
  cache_.GetOrFetch(
      key, fetch,
      [this, event, script_name = params.script_name, sudo_as_login = params.sudo_as_login,
       site = *site, done = std::move(done)](absl::StatusOr<CachedToken> token) {
        WriteAudit(logger_, event, token.status());
        if (!token.ok()) return done(token.status());
        SessionInfo session;
        session.access_token = token->grant.access_token;
        session.token_type = token->grant.token_type;
        session.session_token = token->grant.session_token;
        session.expire_time = token->expire_time;
        session.principal.script_name = script_name;
        session.principal.sudo_as_login = sudo_as_login;
        session.site = site;
        done(std::move(session));
      },
      /*renew_in_background=*/from_keyring, params.rejected_token);
}

}  // namespace credbroker
