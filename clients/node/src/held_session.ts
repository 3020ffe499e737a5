// Broker custody: HeldSessionTokenSource hands out the access token of a
// person's session the broker keeps, named by its session id. The caller (a
// web backend, typically) never holds a refresh token; GetAccessToken answers
// a token valid for at least the asked validity, refreshed at the site first
// when needed, and RefreshSession by session id replaces a token the site
// refused.
import { Broker, CallSettings } from "./broker";
import { AccessToken } from "./generated/credbroker/v1/broker";
import { TokenSource, waitFor } from "./session";

/** The longest min validity the broker honours (site tokens live about 600 s). */
export const MAX_MIN_VALIDITY_SECONDS = 300;

/**
 * A held session's access token, valid for at least `minValiditySeconds`
 * (default 60). Rejects with BrokerError: SESSION_NOT_FOUND or
 * REFRESH_TOKEN_INVALID mean the person logs in again.
 */
export function getAccessToken(
  broker: Broker, sessionId: string, options: { minValiditySeconds?: number } & CallSettings = {},
): Promise<AccessToken> {
  const { minValiditySeconds, ...settings } = options;
  return broker.getAccessToken({ sessionId, minValidity: { seconds: minValiditySeconds ?? 60, nanos: 0 } }, settings);
}

/** Ends a held session: its refresh token is spent at the site. Idempotent. */
export async function revokeSession(broker: Broker, sessionId: string, settings: CallSettings = {}): Promise<void> {
  await broker.revokeSession({ sessionId }, settings);
}

export interface HeldSessionTokenSourceOptions {
  /** The token returned stays valid at least this long (default 60 s, at most 300 s). */
  minValiditySeconds?: number;
  /** Clock in milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /** The site's base URL, from the login's Session.siteUrl (for BrokerShotgunClient). */
  siteUrl?: string;
}

/**
 * The token source of a held session: caches the access token while it has
 * more than the min validity left, else asks GetAccessToken. Concurrent
 * callers share one call in flight.
 */
export class HeldSessionTokenSource implements TokenSource {
  private current: AccessToken | undefined;
  private inflight: Promise<AccessToken> | undefined;
  /** Counts invalidations: a call that started before one is not cached. */
  private generation = 0;
  /** The site refused the broker's current token: the next call refreshes the session. */
  private refused = false;
  private readonly minValidity: number;
  private readonly now: () => number;
  readonly siteUrl: string;

  constructor(private readonly broker: Broker, readonly sessionId: string, options: HeldSessionTokenSourceOptions = {}) {
    if (!sessionId) throw new TypeError("a held session needs its session id (a broker-custody login)");
    // Above the broker's cap every cached token would look stale and each call would go to the broker.
    this.minValidity = Math.min(options.minValiditySeconds ?? 60, MAX_MIN_VALIDITY_SECONDS);
    this.now = options.now ?? Date.now;
    this.siteUrl = options.siteUrl ?? "";
  }

  /**
   * An access token valid for at least the min validity. `signal` stops this
   * caller's wait only; the call under way goes on for the others.
   */
  async accessToken(options: { signal?: AbortSignal } = {}): Promise<string> {
    const expire = this.current?.expireTime?.getTime();
    if (!this.inflight && this.current && expire !== undefined && expire - this.now() > this.minValidity * 1000) {
      return this.current.accessToken;
    }
    if (!this.inflight) {
      // The shared call carries no caller's signal: one caller giving up must not fail the others.
      const generation = this.generation;
      const refresh = this.refused;
      this.inflight = (refresh ? this.refreshNow() : getAccessToken(this.broker, this.sessionId,
        { minValiditySeconds: this.minValidity }))
        .then((token) => {
          if (refresh) this.refused = false;
          if (generation === this.generation) this.current = token;
          return token;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return (await waitFor(this.inflight, options.signal)).accessToken;
  }

  /**
   * Drops the cached token: the next accessToken() asks the broker. With the
   * token the site refused (401), the next call makes the broker refresh the
   * session (RefreshSession by session id) instead of answering that token
   * again; a token already replaced changes nothing.
   */
  invalidate(token?: string): void {
    if (token !== undefined) {
      if (token !== this.current?.accessToken) return;
      this.refused = true;
    }
    this.current = undefined;
    this.generation++;
  }

  private async refreshNow(): Promise<AccessToken> {
    const session = await this.broker.refreshSession({ sessionId: this.sessionId });
    return { accessToken: session.accessToken, tokenType: session.tokenType, expireTime: session.expireTime };
  }

  /** Ends the session at the broker. Idempotent; later accessToken() calls reject with SESSION_NOT_FOUND. */
  async revoke(settings: CallSettings = {}): Promise<void> {
    await revokeSession(this.broker, this.sessionId, settings);
    this.invalidate();
  }
}
