// The flows callers use: login() with the two-factor step, refresh(), revoke(),
// scriptSession(), exchangeSessionToken(), and the caller-custody token
// sources (single-flight refresh, invalidate() after the site refused a token).
import { Broker, CallSettings } from "./broker";
import { BrokerError } from "./errors";
import { ClientInfo, CredentialKind, Session, TokenCustody } from "./generated/credbroker/v1/broker";

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
  /** REST tokens (the default), or a session token for /api3/json clients (caller custody only). */
  kind?: CredentialKind;
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
    kind: options.kind ?? CredentialKind.CREDENTIAL_KIND_REST,
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
  /** REST tokens (the default), or a session token for /api3/json clients. */
  kind?: CredentialKind;
  /**
   * The token the site refused (401, or fault 102 for a session token): the
   * broker drops it and issues a fresh one, once for all callers reporting it.
   */
  rejectedToken?: string;
}

/**
 * A script-key session (no refresh token: ask again when it expires). An
 * empty key asks the broker's keyring for it.
 */
export function scriptSession(
  broker: Broker, scriptName: string, scriptKey: string, options: ScriptSessionOptions = {},
): Promise<Session> {
  return broker.issueScriptSession({
    site: options.site ?? "", scriptName, scriptKey, sudoAsLogin: options.sudoAs ?? "",
    kind: options.kind ?? CredentialKind.CREDENTIAL_KIND_REST, rejectedToken: options.rejectedToken ?? "",
  }, options);
}

/**
 * Exchanges a ShotGrid session token (from shotgun_api3, Toolkit or the web
 * session) for REST tokens: a refresh token with caller custody (the
 * default), a sessionId with broker custody. The principal is empty.
 */
export function exchangeSessionToken(
  broker: Broker, sessionToken: string, options: { site?: string; custody?: TokenCustody } & CallSettings = {},
): Promise<Session> {
  const { site, custody, ...settings } = options;
  return broker.exchangeSessionToken({
    site: site ?? "", sessionToken, custody: custody ?? TokenCustody.TOKEN_CUSTODY_CALLER,
  }, settings);
}

export interface TokenSourceOptions {
  /** The token returned stays valid at least this long (default 60 s). */
  marginSeconds?: number;
  /** Clock in milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

/**
 * What an HTTP client of the site needs from a token source (the three
 * sources here, and BrokerShotgunClient's argument).
 */
export interface TokenSource {
  /** A REST access token to send as `Authorization: Bearer`. */
  accessToken(options?: { signal?: AbortSignal }): Promise<string>;
  /**
   * The site refused `token` (401): the next accessToken() gets a fresh one
   * from the broker. A token already replaced changes nothing.
   */
  invalidate(token?: string): void;
  /** The site's base URL (Session.site_url) once the broker has said it; "" before. */
  readonly siteUrl: string;
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
export class SessionTokenSource implements TokenSource {
  private current: Session;
  private inflight: Promise<Session> | undefined;
  /** The site refused the current access token: refresh before handing it out again. */
  private stale = false;
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

  get siteUrl(): string {
    return this.current.siteUrl;
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
    if (!this.inflight && !this.stale && !expiresWithin(this.current, this.margin, this.now())) {
      return this.current.accessToken;
    }
    return (await waitFor(this.refreshOnce(), options.signal)).accessToken;
  }

  /** The site refused `token`: the next accessToken() refreshes, unless that token was already replaced. */
  invalidate(token?: string): void {
    if (token === undefined || token === this.current.accessToken) this.stale = true;
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
            site: next.site || previous.site, siteUrl: next.siteUrl || previous.siteUrl };
          this.stale = false;
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

/**
 * Script sessions: issues again when the token would expire within the
 * margin (single flight). With `kind: CREDENTIAL_KIND_SESSION_TOKEN` the
 * token is the script's session token, kept until invalidate() (session
 * tokens carry no lifetime). invalidate() after the site refused the token
 * sends it to the broker as `rejectedToken`.
 */
export class ScriptTokenSource implements TokenSource {
  private current: Session | undefined;
  private inflight: Promise<Session> | undefined;
  /** The token the site refused, sent with the next IssueScriptSession. */
  private rejected: string | undefined;
  private readonly sessionKind: boolean;
  private readonly margin: number;
  private readonly now: () => number;

  constructor(
    private readonly broker: Broker, private readonly scriptName: string, private readonly scriptKey: string = "",
    private readonly options: Omit<ScriptSessionOptions, "rejectedToken"> & TokenSourceOptions = {},
  ) {
    this.sessionKind = options.kind === CredentialKind.CREDENTIAL_KIND_SESSION_TOKEN;
    this.margin = options.marginSeconds ?? 60;
    this.now = options.now ?? Date.now;
  }

  /** The last session issued, if any. */
  get session(): Session | undefined {
    return this.current;
  }

  get siteUrl(): string {
    return this.current?.siteUrl ?? "";
  }

  /**
   * The token of the source's kind: the REST access token, valid for at
   * least the margin, or the session token. `signal` stops this caller's wait only.
   */
  async token(options: { signal?: AbortSignal } = {}): Promise<string> {
    if (!this.inflight && this.current && !this.needsNew(this.current)) return this.tokenOf(this.current);
    if (!this.inflight) {
      // The shared call carries no caller's signal: one caller giving up must not fail the others.
      const { signal: _ignored, ...shared } = this.options;
      const rejectedToken = this.rejected;
      this.inflight = scriptSession(this.broker, this.scriptName, this.scriptKey, { ...shared, rejectedToken })
        .then((session) => {
          this.rejected = undefined;
          return (this.current = session);
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.tokenOf(await waitFor(this.inflight, options.signal));
  }

  /** The REST access token (the default kind); for a session-token source use token(). */
  accessToken(options: { signal?: AbortSignal } = {}): Promise<string> {
    if (this.sessionKind) return Promise.reject(new TypeError("a session-token source has no access token: use token()"));
    return this.token(options);
  }

  /**
   * The site refused `token` (401, or fault 102 for a session token): the
   * next token() asks the broker for a fresh one, reporting this one. A token
   * already replaced changes nothing.
   */
  invalidate(token?: string): void {
    if (!this.current) return;
    const current = this.tokenOf(this.current);
    if (token !== undefined && token !== current) return;
    this.rejected = current;
    this.current = undefined;
  }

  private tokenOf(session: Session): string {
    return this.sessionKind ? session.sessionToken : session.accessToken;
  }

  private needsNew(session: Session): boolean {
    return !this.sessionKind && expiresWithin(session, this.margin, this.now());
  }
}
