// BrokerShotgunClient: Autodesk's shotgun-nodejs REST client with its
// authorization taken from a broker token source ("credbroker-client/shotgun";
// shotgun-nodejs is an optional peer dependency). shotgun-nodejs asks
// getAuthorizationHeader() before every request; here that answers the
// source's access token, so shotgun-nodejs never logs in, never holds a
// refresh token and never refreshes one by itself: every refresh is the
// broker's. A request the site answers 401 reports its token to the source
// (invalidate: `rejected_token` for a script, a refresh by session id for a
// held session) and is sent once more with a fresh token.
import { AsyncLocalStorage } from "node:async_hooks";
import type { TokenSource } from "./session";

/** A request as shotgun-nodejs's request()/requestRaw() take it. */
export interface ShotgunRequest {
  method?: string;
  /** Below the API base path (`/entity/projects`) unless skipBasePathPrepend. */
  path: string;
  headers?: Record<string, string>;
  query?: object;
  body?: unknown;
  requestId?: string;
  skipBasePathPrepend?: boolean;
}

/** The HTTP answer requestRaw() resolves with (a node-fetch Response). */
export interface ShotgunResponse {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<any>;
  text(): Promise<string>;
}

/** A JSON:API record of the REST API. */
export interface ShotgunRecord {
  type: string;
  id: number;
  attributes?: Record<string, any>;
  relationships?: Record<string, unknown>;
  links?: Record<string, string>;
}

/** One page of entityReadAll()/entitySearch(). */
export interface PaginatedRecordResponse {
  data: ShotgunRecord[];
  links: Record<string, string>;
  pageSize: number | undefined;
  reachedEnd(): boolean;
  getNext(options: { client: ShotgunApiClient }): Promise<PaginatedRecordResponse | undefined>;
  getPrev(options: { client: ShotgunApiClient }): Promise<PaginatedRecordResponse | undefined>;
}

type Fields = string | string[];

/**
 * shotgun-nodejs 4.x's ShotgunApiClient, typed here because the package ships
 * no type declarations.
 */
export interface ShotgunApiClient {
  siteUrl: string;
  apiBasePath: string;
  debug: boolean | undefined;
  request(params: ShotgunRequest): Promise<any>;
  requestRaw(params: ShotgunRequest): Promise<ShotgunResponse>;
  getAuthorizationHeader(): Promise<string>;
  entityRead(options: { entity: string; entityId: number; fields?: Fields; options?: object }): Promise<ShotgunRecord>;
  entityReadAll(options: {
    entity: string; filter?: object; fields?: Fields; sort?: Fields; pageSize?: number; pageNumber?: number;
    options?: object;
  }): Promise<PaginatedRecordResponse>;
  entitySearch(options: {
    entity: string; filters: unknown; fields?: Fields; sort?: Fields; pageSize?: number; pageNumber?: number;
  }): Promise<PaginatedRecordResponse>;
  entityCreate(options: { entity: string; data: object }): Promise<ShotgunRecord>;
  entityUpdate(options: { entity: string; entityId: number; data: object }): Promise<ShotgunRecord>;
  entityDelete(options: { entity: string; entityId: number }): Promise<unknown>;
  entityRevive(options: { entity: string; entityId: number }): Promise<unknown>;
  entityBatch(options: { requests: object[] }): Promise<unknown>;
  entityItemUpload(options: {
    entity: string; entityId: number; fieldName?: string; targetFileName: string; uploadFileBlob: unknown;
    additionalUploadData?: object;
  }): Promise<void>;
  schemaGet(options: { entity?: string; isFieldsWanted?: boolean; projectId?: number }): Promise<unknown>;
  schemaFieldCreate(options: { entity: string; schemaFieldDefinition: object }): Promise<unknown>;
  schemaFieldUpdate(options: {
    entity: string; fieldName: string; schemaFieldDefinition: object; projectId?: number;
  }): Promise<unknown>;
  schemaFieldDelete(options: { entity: string; fieldName: string }): Promise<unknown>;
  schemaFieldRevive(options: { entity: string; fieldName: string }): Promise<unknown>;
  preferencesGet(options: { names?: string[] }): Promise<unknown>;
}

interface ShotgunApiClientOptions {
  siteUrl: string;
  credentials?: object;
  debug?: boolean;
  apiBasePath?: string;
}

// Loaded here rather than imported: the package has no types, and only this
// entry point of credbroker-client needs it.
const shotgunNodejs = require("shotgun-nodejs") as {
  ShotgunApiClient: new (options: ShotgunApiClientOptions) => ShotgunApiClient;
};

export interface BrokerShotgunClientOptions {
  /**
   * The site's base URL, e.g. https://studio.shotgrid.autodesk.com. Default:
   * the token source's siteUrl (the broker's Session.site_url), known once it
   * has answered a token.
   */
  siteUrl?: string;
  /** shotgun-nodejs's API base path (default /api/v1). */
  apiBasePath?: string;
  /** shotgun-nodejs's request logging (it prints the Authorization header: never in production). */
  debug?: boolean;
}

/**
 * A shotgun-nodejs ShotgunApiClient whose every request carries the access
 * token of `tokens` (a HeldSessionTokenSource, a ScriptTokenSource or a
 * SessionTokenSource). All of shotgun-nodejs's methods work as documented
 * there; its own login (connect(), refreshToken(), `token`) is off.
 */
export class BrokerShotgunClient extends shotgunNodejs.ShotgunApiClient {
  /** The token this request goes with, for getAuthorizationHeader() inside requestRaw(). */
  private readonly tokenInUse = new AsyncLocalStorage<string>();

  constructor(readonly tokens: TokenSource, options: BrokerShotgunClientOptions = {}) {
    super({ siteUrl: options.siteUrl ?? tokens.siteUrl, debug: options.debug, apiBasePath: options.apiBasePath });
  }

  /** `Bearer <access token>` from the token source (shotgun-nodejs calls it before every request). */
  override async getAuthorizationHeader(): Promise<string> {
    return `Bearer ${this.tokenInUse.getStore() ?? (await this.tokens.accessToken())}`;
  }

  /**
   * shotgun-nodejs's requestRaw with the source's token. On a 401 the token
   * goes back to the source as refused and the request is sent once more with
   * a fresh one.
   */
  override async requestRaw(params: ShotgunRequest): Promise<ShotgunResponse> {
    const token = await this.tokens.accessToken();
    const answer = await this.send(params, token);
    if (answer.status !== 401) return answer;
    await answer.text().catch(() => undefined); // frees the connection
    this.tokens.invalidate(token);
    return this.send(params, await this.tokens.accessToken());
  }

  /** Off: the broker logs in. */
  connect(): Promise<never> {
    return Promise.reject(new Error("BrokerShotgunClient: the broker logs in; shotgun-nodejs's connect() is off"));
  }

  /** Off: the broker refreshes. */
  refreshToken(): Promise<never> {
    return Promise.reject(new Error("BrokerShotgunClient: the broker refreshes; shotgun-nodejs's refreshToken() is off"));
  }

  /** Always null: the tokens stay with the token source. */
  get token(): null {
    return null;
  }

  set token(_value: unknown) {
    throw new TypeError("BrokerShotgunClient takes its tokens from the broker's token source, not `token`");
  }

  private send(params: ShotgunRequest, token: string): Promise<ShotgunResponse> {
    // A script source learns the site's URL from the broker's first answer.
    if (!this.siteUrl) this.siteUrl = this.tokens.siteUrl;
    if (!this.siteUrl) {
      return Promise.reject(new Error("the site's URL is not known: pass siteUrl (the broker's session named none)"));
    }
    return this.tokenInUse.run(token, () => super.requestRaw(params));
  }
}
