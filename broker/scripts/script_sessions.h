// Script-key sessions (client_credentials), unchanged by a site's 2FA. The
// key is the caller's own, or, when the caller sends none, the broker's
// keyring supplies it for callers the policy allows. Tokens are shared per
// (site, script, key, sudo_as) through the TokenCache.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/common/call_context.h"
#include "broker/common/session.h"
#include "broker/identity/policy.h"
#include "broker/scripts/keyring.h"
#include "broker/scripts/shared_tokens.h"
#include "broker/scripts/token_cache.h"
#include "broker/telemetry/logger.h"
#include "broker/upstream/site_client.h"

namespace credbroker {

struct ScriptSessionParams {
  std::string site;
  std::string script_name;
  std::string script_key;  // empty: the keyring's
  std::string sudo_as_login;
  // REST tokens, or a session token (then sudo_as_login is empty).
  TokenKind kind = TokenKind::kRest;
  // A token the caller found refused: dropped if it is the cached one.
  std::string rejected_token;
};

struct ScriptSessionSettings {
  std::string default_site;
  // Callers are identified (mTLS or service tokens): the policy then also
  // limits which users a caller with its own key may act as.
  bool callers_identified = false;
  // Session tokens come with no lifetime: one is reused this long, or until
  // a caller reports it rejected.
  absl::Duration session_token_reuse = absl::Hours(1);
};

class ScriptSessions {
 public:
  using SessionCallback = std::function<void(absl::StatusOr<SessionInfo>)>;

  // `keyring` may be null (no keyring configured).
  // With `shared` (replicas on one store), a cold key makes one site call
  // across all replicas.
  ScriptSessions(ScriptSessionSettings settings, SiteClient& sites, TokenCache& cache,
                 const Keyring* keyring, const LivePolicy& policy, Logger& logger,
                 SharedTokens* shared = nullptr);

  void Issue(ScriptSessionParams params, CallContext call, SessionCallback done);

  // The cache key prefix of a keyring script's entries, to drop them when
  // its key changes.
  static bool IsKeyringEntryOf(const std::string& cache_key, const std::string& script);

 private:
  // Policy, then the keyring: a denied caller cannot learn whether a script
  // exists.
  absl::Status CheckAllowed(const ScriptSessionParams& params, const CallContext& call) const;

  const ScriptSessionSettings settings_;
  SiteClient& sites_;
  TokenCache& cache_;
  const Keyring* const keyring_;
  const LivePolicy& policy_;
  Logger& logger_;
  SharedTokens* shared_;
};

}  // namespace credbroker
