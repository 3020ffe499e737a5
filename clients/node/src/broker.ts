// Channel set-up and a promise-based broker stub: connect() builds a grpc-js
// channel (insecure on loopback, TLS with a CA bundle, mTLS with a client
// certificate) and attaches the service bearer token to every call.
import * as fs from "node:fs";
import {
  CallOptions, ChannelCredentials, ChannelOptions, ClientUnaryCall, credentials, Interceptor,
  Metadata, ServiceError,
} from "@grpc/grpc-js";
import {
  AccessToken, BeginLoginRequest, CredentialBrokerClient, DeepPartial, GetAccessTokenRequest,
  IssueScriptSessionRequest, LoginResult, RefreshSessionRequest, RevokeSessionRequest,
  RevokeSessionResponse, Session, SubmitSecondFactorRequest,
} from "./generated/credbroker/v1/broker";
import { toBrokerError } from "./errors";

export interface ConnectOptions {
  /** PEM CA bundle that signed the broker's certificate: turns TLS on. */
  caFile?: string;
  /** PEM client certificate and key for mTLS (turns TLS on; both or neither). */
  clientCert?: string;
  clientKey?: string;
  /** TLS with the system's roots when no caFile is given. */
  tls?: boolean;
  /** Expected name in the broker's certificate when it differs from the address's host. */
  serverName?: string;
  /** Service token sent on every call as `authorization: Bearer <token>`. */
  serviceToken?: string;
  /** Deadline of each call in seconds (default 20). */
  timeoutSeconds?: number;
  /** Extra grpc-js interceptors (e.g. for metrics or tests). */
  interceptors?: Interceptor[];
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
}

type Unary<Req, Res> = (
  request: Req, metadata: Metadata, options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** The broker's methods as promises; failures reject with a BrokerError. */
export class Broker {
  readonly client: CredentialBrokerClient;
  private readonly serviceToken: string | undefined;
  private readonly timeoutMs: number;

  constructor(client: CredentialBrokerClient, options: ConnectOptions = {}) {
    this.client = client;
    this.serviceToken = options.serviceToken;
    this.timeoutMs = (options.timeoutSeconds ?? 20) * 1000;
  }

  beginLogin(request: DeepPartial<BeginLoginRequest>): Promise<LoginResult> {
    return this.call(this.client.beginLogin, BeginLoginRequest.fromPartial(request));
  }
  submitSecondFactor(request: DeepPartial<SubmitSecondFactorRequest>): Promise<LoginResult> {
    return this.call(this.client.submitSecondFactor, SubmitSecondFactorRequest.fromPartial(request));
  }
  refreshSession(request: DeepPartial<RefreshSessionRequest>): Promise<Session> {
    return this.call(this.client.refreshSession, RefreshSessionRequest.fromPartial(request));
  }
  issueScriptSession(request: DeepPartial<IssueScriptSessionRequest>): Promise<Session> {
    return this.call(this.client.issueScriptSession, IssueScriptSessionRequest.fromPartial(request));
  }
  getAccessToken(request: DeepPartial<GetAccessTokenRequest>): Promise<AccessToken> {
    return this.call(this.client.getAccessToken, GetAccessTokenRequest.fromPartial(request));
  }
  revokeSession(request: DeepPartial<RevokeSessionRequest>): Promise<RevokeSessionResponse> {
    return this.call(this.client.revokeSession, RevokeSessionRequest.fromPartial(request));
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }

  private call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    const metadata = new Metadata();
    if (this.serviceToken) metadata.set("authorization", `Bearer ${this.serviceToken}`);
    const options: Partial<CallOptions> = { deadline: new Date(Date.now() + this.timeoutMs) };
    return new Promise<Res>((resolve, reject) => {
      method.call(this.client, request, metadata, options, (error, response) => {
        if (error) reject(toBrokerError(error));
        else resolve(response);
      });
    });
  }
}

/** Channel credentials for the options: insecure unless a CA, client cert or `tls` is given. */
export function channelCredentials(options: ConnectOptions = {}): ChannelCredentials {
  const { caFile, clientCert, clientKey } = options;
  if (Boolean(clientCert) !== Boolean(clientKey)) {
    throw new Error("clientCert and clientKey go together");
  }
  if (!caFile && !clientCert && !options.tls) return credentials.createInsecure();
  return credentials.createSsl(
    caFile ? fs.readFileSync(caFile) : null,
    clientKey ? fs.readFileSync(clientKey) : null,
    clientCert ? fs.readFileSync(clientCert) : null,
  );
}

/** A Broker for `address` ("host:port"). */
export function connect(address: string, options: ConnectOptions = {}): Broker {
  const channelOptions: ChannelOptions = { ...(options.channelOptions ?? {}) };
  if (options.serverName) {
    channelOptions["grpc.ssl_target_name_override"] = options.serverName;
    channelOptions["grpc.default_authority"] = options.serverName;
  }
  if (options.interceptors) channelOptions.interceptors = options.interceptors;
  const client = new CredentialBrokerClient(address, channelCredentials(options), channelOptions);
  return new Broker(client, options);
}
