// The flows callers use: login() with the two-factor step, refresh(), revoke(),
// scriptSession(), the caller-custody token sources (single-flight refresh)
// and toShotgunToken() for pages built on Autodesk's shotgun-nodejs.
import { Broker, CallSettings } from "./broker";
import { BrokerError } from "./errors";
import { ClientInfo, Session, TokenCustody } from "./generated/credbroker/v1/broker";

/** What a code provider is told when asked for a second-factor code. */
export interface CodePrompt {
  challengeId: string;
  attemptsLeft: number;
  expireTime: Date | undefined;
  /** The INVALID_SECOND_FACTOR answer to the previous code, when there was one. */
  previousError?: BrokerError;
}

/** Asks the person for a TOTP or backup code. */
export type CodeProvider = (prompt: CodePrompt) => Promise<string> | string;

export interface LoginOptions extends CallSettings {
  /** The broker's site name; empty or absent means its default site. */
  site?: string;
  /** The end user's address and user agent, as a web backend saw them. */
  client?: Partial<ClientInfo>;
  /** The person's code when it is known up front: one call, never retried. */
  code?: string;
  /** Who keeps the refresh token (default the caller; BROKER answers a sessionId). */
  custody?: TokenCustody;
}

/** login() met a two-factor challenge and had no code provider to ask. */
export class SecondFactorRequiredError extends Error {
  constructor() {
    super("the site asks for a second-factor code and no code provider was given");
    this.name = "SecondFactorRequiredError";
  }
}

/**
 * Password login. With `options.code` the code goes with BeginLogin (one
 * call). Otherwise, on a challenge, asks `codeProvider` and submits; asks
 * again after INVALID_SECOND_FACTOR while attempts are left. Rejects with a
 * BrokerError otherwise. `options.signal` and deadlines apply to each call.
 */
export async function login(
  broker: Broker, username: string, password: string, codeProvider?: CodeProvider | null,
  options: LoginOptions = {},
): Promise<Session> {
  const settings: CallSettings = { signal: options.signal, deadline: options.deadline, timeoutSeconds: options.timeoutSeconds };
  const result = await broker.beginLogin({
    site: options.site ?? "", username, password, client: options.client,
    secondFactorCode: options.code ?? "", custody: options.custody ?? TokenCustody.TOKEN_CUSTODY_CALLER,
  }, settings);
  if (result.session) return result.session;
  const challenge = result.challenge;
  if (!challenge) throw new Error("the broker answered neither a session nor a challenge");
  if (!codeProvider) throw new SecondFactorRequiredError();
  let attemptsLeft = challenge.attemptsLeft;
  let previousError: BrokerError | undefined;
  for (;;) {
    const code = await codeProvider({
      challengeId: challenge.challengeId, attemptsLeft, expireTime: challenge.expireTime, previousError,
    });
    try {
      const answer = await broker.submitSecondFactor({
        challengeId: challenge.challengeId, code, client: options.client,
      }, settings);
      if (answer.session) return answer.session;
      throw new Error("the broker answered no session to a second-factor code");
    } catch (error) {
      if (error instanceof BrokerError && error.is("INVALID_SECOND_FACTOR") && error.attemptsLeft > 0) {
        attemptsLeft = error.attemptsLeft;
        previousError = error;
        continue;
      }
      throw error;
    }
  }
}

/** Exchanges a refresh token for a new session (the token sent is spent). */
export function refresh(broker: Broker, refreshToken: string, options: { site?: string } & CallSettings = {}): Promise<Session> {
  return broker.refreshSession({ site: options.site ?? "", refreshToken }, options);
}

/** Spends a refresh token at the site (idempotent). */
export async function revoke(broker: Broker, refreshToken: string, options: { site?: string } & CallSettings = {}): Promise<void> {
  await broker.revokeSession({ site: options.site ?? "", refreshToken }, options);
}

export interface ScriptSessionOptions extends CallSettings {
  site?: string;
  /** Act as this person (the script must be allowed to). */
  sudoAs?: string;
}

/** A script-key session (no refresh token: ask again when it expires). */
export function scriptSession(
  broker: Broker, scriptName: string, scriptKey: string, options: ScriptSessionOptions = {},
): Promise<Session> {
  return broker.issueScriptSession({
    site: options.site ?? "", scriptName, scriptKey, sudoAsLogin: options.sudoAs ?? "",
  }, options);
}

export interface TokenSourceOptions {
  /** The token returned stays valid at least this long (default 60 s). */
  marginSeconds?: number;
  /** Clock in milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

/**
 * Waits for a shared call, or until this caller's signal aborts: the call
 * goes on for the other callers.
 */
export function waitFor<T>(shared: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return shared;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    shared.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

function expiresWithin(session: Session, marginSeconds: number, now: number): boolean {
  const expire = session.expireTime?.getTime();
  return expire === undefined || expire - now <= marginSeconds * 1000;
}

/**
 * Caller custody: keeps a person's Session and hands out an access token valid
 * for at least the margin, refreshing first when needed. Concurrent callers
 * share one RefreshSession call; the rotated refresh token is kept.
 */
export class SessionTokenSource {
  private current: Session;
  private inflight: Promise<Session> | undefined;
  private readonly margin: number;
  private readonly now: () => number;
  private readonly listeners: Array<(session: Session) => void> = [];

  constructor(private readonly broker: Broker, session: Session, options: TokenSourceOptions = {}) {
    this.current = session;
    this.margin = options.marginSeconds ?? 60;
    this.now = options.now ?? Date.now;
  }

  /** The current session (its refresh token is the one to keep or revoke). */
  get session(): Session {
    return this.current;
  }

  get refreshToken(): string {
    return this.current.refreshToken;
  }

  /** Called after each refresh with the new session (e.g. to persist the refresh token). */
  onRefresh(listener: (session: Session) => void): void {
    this.listeners.push(listener);
  }

  /**
   * An access token valid for at least the margin. `signal` stops this
   * caller's wait; a refresh under way goes on for the others.
   */
  async accessToken(options: { signal?: AbortSignal } = {}): Promise<string> {
    if (!this.inflight && !expiresWithin(this.current, this.margin, this.now())) {
      return this.current.accessToken;
    }
    return (await waitFor(this.refreshOnce(), options.signal)).accessToken;
  }

  /**
   * Refreshes now, e.g. after the site answered 401 to `rejectedAccessToken`.
   * When that token was already replaced, answers the current one instead.
   */
  async forceRefresh(rejectedAccessToken?: string): Promise<string> {
    if (!this.inflight && rejectedAccessToken !== undefined && rejectedAccessToken !== this.current.accessToken) {
      return this.current.accessToken;
    }
    return (await this.refreshOnce()).accessToken;
  }

  private refreshOnce(): Promise<Session> {
    if (!this.inflight) {
      const previous = this.current;
      this.inflight = refresh(this.broker, previous.refreshToken, { site: previous.site })
        .then((next) => {
          // The site does not say whose tokens a refresh returns: keep the principal.
          this.current = { ...next, principal: next.principal?.userLogin ? next.principal : previous.principal,
            site: next.site || previous.site };
          for (const listener of this.listeners) listener(this.current);
          return this.current;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }
}

/** Script sessions: issues again when the token would expire within the margin (single flight). */
export class ScriptTokenSource {
  private current: Session | undefined;
  private inflight: Promise<Session> | undefined;
  private readonly margin: number;
  private readonly now: () => number;

  constructor(
    private readonly broker: Broker, private readonly scriptName: string, private readonly scriptKey: string,
    private readonly options: ScriptSessionOptions & TokenSourceOptions = {},
  ) {
    this.margin = options.marginSeconds ?? 60;
    this.now = options.now ?? Date.now;
  }

  /** The last session issued, if any. */
  get session(): Session | undefined {
    return this.current;
  }

  /** An access token valid for at least the margin; `signal` stops this caller's wait only. */
  async accessToken(options: { signal?: AbortSignal } = {}): Promise<string> {
    if (!this.inflight && this.current && !expiresWithin(this.current, this.margin, this.now())) {
      return this.current.accessToken;
    }
    if (!this.inflight) {
      // The shared call carries no caller's signal: one caller giving up must not fail the others.
      const { signal: _ignored, ...shared } = this.options;
      this.inflight = scriptSession(this.broker, this.scriptName, this.scriptKey, shared)
        .then((session) => (this.current = session))
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return (await waitFor(this.inflight, options.signal)).accessToken;
  }
}

/** The token object shotgun-nodejs's ShotgunApiClient takes as its `token`. */
export interface ShotgunToken {
  token_type: string;
  access_token: string;
  /** Seconds until the access token expires, from now. */
  expires_in: number;
  refresh_token: string;
}

/** `client.token = toShotgunToken(session)` for a shotgun-nodejs ShotgunApiClient. */
export function toShotgunToken(session: Session, now: number = Date.now()): ShotgunToken {
  const expire = session.expireTime?.getTime() ?? now;
  return {
    token_type: session.tokenType || "Bearer",
    access_token: session.accessToken,
    expires_in: Math.max(0, Math.floor((expire - now) / 1000)),
    refresh_token: session.refreshToken,
  };
}
