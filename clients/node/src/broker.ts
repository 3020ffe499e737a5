// Channel set-up and a promise-based broker stub: connect() builds a grpc-js
// channel under the clients' connection policy (plaintext only on loopback
// unless allowInsecure, TLS with a CA bundle, mTLS with a client certificate,
// the shipped service config for deadlines and retries) and attaches the
// service bearer token to every call.
import * as fs from "node:fs";
import * as net from "node:net";
import {
  CallOptions, ChannelCredentials, ChannelOptions, ClientUnaryCall, credentials, Interceptor,
  Metadata, ServiceError,
} from "@grpc/grpc-js";
import {
  AccessToken, BeginBrowserLoginRequest, BeginLoginRequest, BrowserLoginChallenge, CompleteBrowserLoginRequest,
  CredentialBrokerClient, DeepPartial, ExchangeSessionTokenRequest, GetAccessTokenRequest, IssueScriptSessionRequest,
  LoginResult, RefreshSessionRequest, RevokeSessionRequest, RevokeSessionResponse, Session, SubmitSecondFactorRequest,
} from "./generated/credbroker/v1/broker";
import { serviceConfig } from "./generated/service_config";
import { toBrokerError } from "./errors";

/** Where the service token comes from: a fixed string, or a function asked before every call (a rotated secret). */
export type ServiceTokenProvider = string | (() => string | Promise<string>);

export interface ConnectOptions {
  /** PEM CA bundle that signed the broker's certificate: turns TLS on. */
  caFile?: string;
  /** PEM client certificate and key for mTLS (turns TLS on; both or neither). */
  clientCert?: string;
  clientKey?: string;
  /**
   * TLS even on loopback (`true`), or plaintext (`false`). Default: plaintext
   * for a loopback address, TLS with the system's roots for any other.
   */
  tls?: boolean;
  /** Allows plaintext to a broker on another machine. Never with a service token. */
  allowInsecure?: boolean;
  /** Expected name in the broker's certificate when it differs from the address's host. */
  serverName?: string;
  /** Service token sent on every call as `authorization: Bearer <token>`. */
  serviceToken?: ServiceTokenProvider;
  /** Default deadline of each call in seconds (10); also bounds calls on `broker.client`. */
  timeoutSeconds?: number;
  /** Extra grpc-js interceptors (e.g. for metrics or tests). */
  interceptors?: Interceptor[];
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
}

/** Options of one call. */
export interface CallSettings {
  /** Cancels the call (it rejects with a CANCELLED BrokerError). */
  signal?: AbortSignal;
  /** This call's deadline, instead of the client's default timeout. */
  deadline?: Date;
  /** This call's timeout in seconds, instead of the client's default. */
  timeoutSeconds?: number;
}

/** Seconds a call may take unless the caller says otherwise. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/** How long CompleteBrowserLogin waits for the approval when `wait` is unset, and at most (docs/api.md). */
export const DEFAULT_BROWSER_WAIT_SECONDS = 30;
export const MAX_BROWSER_WAIT_SECONDS = 60;

type Unary<Req, Res> = (
  request: Req, metadata: Metadata, options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** The broker's methods as promises; failures reject with a BrokerError. */
export class Broker {
  /** The generated client: its channel carries the service config (deadlines, retries). */
  readonly client: CredentialBrokerClient;
  /** The same channel settings without retries, for a login that carries a code. */
  private readonly onceClient: CredentialBrokerClient;
  private readonly serviceToken: ServiceTokenProvider | undefined;
  private readonly timeoutMs: number;

  constructor(client: CredentialBrokerClient, options: ConnectOptions = {}, onceClient?: CredentialBrokerClient) {
    this.client = client;
    this.onceClient = onceClient ?? client;
    this.serviceToken = options.serviceToken;
    this.timeoutMs = (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  }

  /**
   * BeginLogin. With a `secondFactorCode` the call is never retried: a repeat
   * would count twice against the person's failure budget.
   */
  beginLogin(request: DeepPartial<BeginLoginRequest>, settings?: CallSettings): Promise<LoginResult> {
    const client = request.secondFactorCode ? this.onceClient : this.client;
    return this.call(client, client.beginLogin, BeginLoginRequest.fromPartial(request), settings);
  }
  submitSecondFactor(request: DeepPartial<SubmitSecondFactorRequest>, settings?: CallSettings): Promise<LoginResult> {
    return this.call(this.client, this.client.submitSecondFactor, SubmitSecondFactorRequest.fromPartial(request), settings);
  }
  refreshSession(request: DeepPartial<RefreshSessionRequest>, settings?: CallSettings): Promise<Session> {
    return this.call(this.client, this.client.refreshSession, RefreshSessionRequest.fromPartial(request), settings);
  }
  issueScriptSession(request: DeepPartial<IssueScriptSessionRequest>, settings?: CallSettings): Promise<Session> {
    return this.call(this.client, this.client.issueScriptSession, IssueScriptSessionRequest.fromPartial(request), settings);
  }
  getAccessToken(request: DeepPartial<GetAccessTokenRequest>, settings?: CallSettings): Promise<AccessToken> {
    return this.call(this.client, this.client.getAccessToken, GetAccessTokenRequest.fromPartial(request), settings);
  }
  revokeSession(request: DeepPartial<RevokeSessionRequest>, settings?: CallSettings): Promise<RevokeSessionResponse> {
    return this.call(this.client, this.client.revokeSession, RevokeSessionRequest.fromPartial(request), settings);
  }
  exchangeSessionToken(request: DeepPartial<ExchangeSessionTokenRequest>, settings?: CallSettings): Promise<Session> {
    return this.call(this.client, this.client.exchangeSessionToken, ExchangeSessionTokenRequest.fromPartial(request), settings);
  }
  beginBrowserLogin(request: DeepPartial<BeginBrowserLoginRequest>, settings?: CallSettings): Promise<BrowserLoginChallenge> {
    return this.call(this.client, this.client.beginBrowserLogin, BeginBrowserLoginRequest.fromPartial(request), settings);
  }
  /**
   * CompleteBrowserLogin. The broker holds the call open while it waits for
   * the approval (`wait`, 30 s when unset), so the default deadline is that
   * wait plus the client's timeout.
   */
  completeBrowserLogin(request: DeepPartial<CompleteBrowserLoginRequest>, settings: CallSettings = {}): Promise<Session> {
    const message = CompleteBrowserLoginRequest.fromPartial(request);
    const wait = message.wait ? message.wait.seconds + message.wait.nanos / 1e9 : DEFAULT_BROWSER_WAIT_SECONDS;
    const timeoutSeconds = settings.timeoutSeconds ?? this.timeoutMs / 1000 + wait;
    return this.call(this.client, this.client.completeBrowserLogin, message, { ...settings, timeoutSeconds });
  }

  /** Closes the channels. */
  close(): void {
    this.client.close();
    if (this.onceClient !== this.client) this.onceClient.close();
  }

  private async call<Req, Res>(
    client: CredentialBrokerClient, method: Unary<Req, Res>, request: Req, settings: CallSettings = {},
  ): Promise<Res> {
    settings.signal?.throwIfAborted();
    const metadata = new Metadata();
    const token = typeof this.serviceToken === "function" ? await this.serviceToken() : this.serviceToken;
    if (token) metadata.set("authorization", `Bearer ${token}`);
    const deadline = settings.deadline ??
      new Date(Date.now() + (settings.timeoutSeconds !== undefined ? settings.timeoutSeconds * 1000 : this.timeoutMs));
    return new Promise<Res>((resolve, reject) => {
      const call = method.call(client, request, metadata, { deadline }, (error, response) => {
        settings.signal?.removeEventListener("abort", cancel);
        if (error) reject(toBrokerError(error));
        else resolve(response);
      });
      const cancel = () => call.cancel();
      settings.signal?.addEventListener("abort", cancel, { once: true });
    });
  }
}

/** Whether a gRPC target ("host:port", "dns:///host:port", "unix:...") names this machine. */
export function isLoopback(address: string): boolean {
  let target = address;
  if (target.startsWith("unix:") || target.startsWith("unix-abstract:")) return true;
  for (const scheme of ["dns:///", "dns:", "ipv4:", "ipv6:"]) {
    if (target.startsWith(scheme)) {
      target = target.slice(scheme.length);
      break;
    }
  }
  let host: string;
  if (target.startsWith("[")) {
    const end = target.indexOf("]");
    host = target.slice(1, end < 0 ? undefined : end);
  } else if (target.split(":").length === 2) {
    host = target.slice(0, target.lastIndexOf(":"));
  } else {
    host = target;
  }
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (net.isIPv6(host)) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

function usesTls(address: string, options: ConnectOptions): boolean {
  const { caFile, clientCert, clientKey } = options;
  if (Boolean(clientCert) !== Boolean(clientKey)) {
    throw new Error("clientCert and clientKey go together");
  }
  const loopback = isLoopback(address);
  const tls = options.tls ?? Boolean(caFile || clientCert || !(loopback || options.allowInsecure));
  if (!tls) {
    if (caFile || clientCert) throw new Error("a CA file or client certificate needs TLS");
    if (!loopback && !options.allowInsecure) {
      throw new Error(`refusing plaintext to ${address}, which is not this machine: use TLS (caFile) or allowInsecure`);
    }
    if (!loopback && options.serviceToken) {
      throw new Error(`refusing to send the service token in the clear to ${address}: use TLS (caFile)`);
    }
  }
  return tls;
}

/** Channel credentials for the options: TLS unless plaintext is allowed (see ConnectOptions.tls). */
export function channelCredentials(options: ConnectOptions = {}, address = "127.0.0.1"): ChannelCredentials {
  if (!usesTls(address, options)) return credentials.createInsecure();
  const { caFile, clientCert, clientKey } = options;
  return credentials.createSsl(
    caFile ? fs.readFileSync(caFile) : null,
    clientKey ? fs.readFileSync(clientKey) : null,
    clientCert ? fs.readFileSync(clientCert) : null,
  );
}

/** A service-config duration. Nine decimals: grpc-js reads the digits after the point as nanoseconds ("0.3s" would be 3 ns). */
function durationText(seconds: number): string {
  return `${seconds.toFixed(9)}s`;
}

interface MethodConfig {
  name: Array<{ service: string; method?: string }>;
  timeout?: string;
  retryPolicy?: object;
}

/**
 * The shipped service config (clients/service_config.json) with every
 * method's timeout set to `timeoutSeconds`: UNAVAILABLE is retried with
 * backoff for the calls that are safe to repeat, never for SubmitSecondFactor
 * or RefreshSession. CompleteBrowserLogin gets the longest wait on top, so
 * that the per-call deadline (the wait asked for plus the timeout) decides.
 */
export function serviceConfigFor(timeoutSeconds = DEFAULT_TIMEOUT_SECONDS): { methodConfig: MethodConfig[] } {
  const config = JSON.parse(JSON.stringify(serviceConfig)) as { methodConfig: MethodConfig[] };
  const completeBrowserLogin = { service: "credbroker.v1.CredentialBroker", method: "CompleteBrowserLogin" };
  // gRPC refuses a config that names a method twice.
  const methodConfig = config.methodConfig
    .map((entry) => ({
      ...entry, name: entry.name.filter((n) => n.method !== completeBrowserLogin.method), timeout: durationText(timeoutSeconds),
    }))
    .filter((entry) => entry.name.length > 0);
  methodConfig.push({ name: [completeBrowserLogin], timeout: durationText(timeoutSeconds + MAX_BROWSER_WAIT_SECONDS) });
  return { ...config, methodConfig };
}

/** A Broker for `address` ("host:port"). Throws when the options break the connection policy. */
export function connect(address: string, options: ConnectOptions = {}): Broker {
  const creds = channelCredentials(options, address);
  const channelOptions: ChannelOptions = {
    "grpc.service_config": JSON.stringify(serviceConfigFor(options.timeoutSeconds)),
    ...(options.channelOptions ?? {}),
  };
  if (options.serverName) {
    channelOptions["grpc.ssl_target_name_override"] = options.serverName;
    channelOptions["grpc.default_authority"] = options.serverName;
  }
  if (options.interceptors) channelOptions.interceptors = options.interceptors;
  const client = new CredentialBrokerClient(address, creds, channelOptions);
  // grpc-js connects a client on its first call: this one costs nothing until a login with a code.
  const onceClient = new CredentialBrokerClient(address, creds, { ...channelOptions, "grpc.enable_retries": 0 });
  return new Broker(client, options, onceClient);
}
