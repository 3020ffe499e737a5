// Browser-approved login, the app session launcher that Toolkit uses on SSO
// and Autodesk Identity sites (and that works on password sites too): the
// broker starts a request at the site, the person approves it in a browser at
// the approval URL, and CompleteBrowserLogin answers the session.
import { Broker, CallSettings, MAX_BROWSER_WAIT_SECONDS } from "./broker";
import { BrokerError } from "./errors";
import { BrowserLoginChallenge, CredentialKind, Session, TokenCustody } from "./generated/credbroker/v1/broker";

export interface BrowserLoginOptions extends CallSettings {
  /** The broker's site name; empty or absent means its default site. */
  site?: string;
  /** Shown to the person on the approval page (default: the broker's name). */
  appName?: string;
  /** Shown to the person on the approval page (default: the broker's host name). */
  machineId?: string;
  /** REST tokens (the default), or a session token (caller custody only). */
  kind?: CredentialKind;
  /** Who keeps the refresh token of a REST login (default the caller). */
  custody?: TokenCustody;
}

export interface AwaitApprovalOptions {
  /** How long each CompleteBrowserLogin waits at the broker (default 30 s, at most 60 s). */
  waitSeconds?: number;
  /** Stops waiting (the call under way is cancelled). */
  signal?: AbortSignal;
}

/** Told the approval URL once the request exists: show it, or open the person's browser at it. */
export type ApprovalHandler = (challenge: BrowserLoginChallenge) => void | Promise<void>;

/** BeginBrowserLogin with the options' defaults: the challenge holds the approval URL and the broker's request id. */
export function beginBrowserLogin(broker: Broker, options: BrowserLoginOptions = {}): Promise<BrowserLoginChallenge> {
  const { site, appName, machineId, kind, custody, ...settings } = options;
  return broker.beginBrowserLogin({
    site: site ?? "", appName: appName ?? "", machineId: machineId ?? "",
    kind: kind ?? CredentialKind.CREDENTIAL_KIND_REST, custody: custody ?? TokenCustody.TOKEN_CUSTODY_CALLER,
  }, settings);
}

function pause(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener("abort", abort);
      resolve();
    };
    const timer = setTimeout(done, seconds * 1000);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/**
 * Waits until the person approved `requestId` and answers the session. Asks
 * CompleteBrowserLogin again while it answers APPROVAL_PENDING (after its
 * retry_after, at most 2 s); rejects with the BrokerError CHALLENGE_NOT_FOUND
 * when the person rejected the request or it expired.
 */
export async function awaitBrowserApproval(
  broker: Broker, requestId: string, options: AwaitApprovalOptions = {},
): Promise<Session> {
  const { waitSeconds, signal } = options;
  if (waitSeconds !== undefined && !(waitSeconds >= 0 && waitSeconds <= MAX_BROWSER_WAIT_SECONDS)) {
    throw new RangeError(`waitSeconds must be between 0 and ${MAX_BROWSER_WAIT_SECONDS}`);
  }
  const wait = waitSeconds === undefined ? undefined
    : { seconds: Math.floor(waitSeconds), nanos: Math.round((waitSeconds % 1) * 1e9) };
  for (;;) {
    try {
      return await broker.completeBrowserLogin({ requestId, wait }, { signal });
    } catch (error) {
      if (!(error instanceof BrokerError && error.is("APPROVAL_PENDING"))) throw error;
      await pause(Math.min(error.retryAfterSeconds ?? 0, 2), signal);
    }
  }
}

/**
 * The whole browser-approved login: starts it, hands the challenge to
 * `onApproval` (which shows or opens the approval URL), then waits for the
 * person's approval. `options.signal` stops it at any step.
 */
export async function browserLogin(
  broker: Broker, onApproval: ApprovalHandler, options: BrowserLoginOptions & AwaitApprovalOptions = {},
): Promise<Session> {
  const { waitSeconds, ...begin } = options;
  const challenge = await beginBrowserLogin(broker, begin);
  await onApproval(challenge);
  return awaitBrowserApproval(broker, challenge.requestId, { waitSeconds, signal: options.signal });
}
