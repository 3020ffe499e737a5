// The real shotgun-nodejs (BrokerShotgunClient) against the fake site through
// the real broker, whose tokens live 100 s: it reads projects for a held
// session and for a script; every refresh is the broker's (shotgun-nodejs's
// requests pass a recording proxy and none reaches the token endpoint, while
// the site counts the broker's refreshes); a 401 sends the token back to the
// broker (a refresh by session id, or rejected_token for a script) and the
// request goes once more, and only once.
import assert from "node:assert/strict";
import * as http from "node:http";
import { after, before, describe, test } from "node:test";
import { InterceptingCall, Interceptor } from "@grpc/grpc-js";
import { Broker, HeldSessionTokenSource, ScriptTokenSource, TokenCustody, connect, login } from "../src/index";
import { BrokerShotgunClient } from "../src/shotgun";
import { Stack, USERS, totp } from "../src/testing";

const { RequestError } = require("shotgun-nodejs") as { RequestError: new (...args: never[]) => Error };

/**
 * Stands between shotgun-nodejs and the site: forwards each request and
 * records it, so a test sees every request shotgun-nodejs sent. With
 * `refuseAll` it answers 401 itself, like a site that refuses every token.
 */
class RecordingProxy {
  readonly seen: Array<{ method: string; path: string; authorization: string }> = [];
  refuseAll = false;
  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(target: string): Promise<RecordingProxy> {
    let proxy: RecordingProxy | undefined;
    const server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      proxy!.seen.push({ method: req.method!, path: req.url!.split("?")[0], authorization: req.headers.authorization ?? "" });
      if (proxy!.refuseAll) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"errors":[{"status":401,"code":102}]}');
        return;
      }
      const headers = { ...req.headers } as Record<string, string>;
      delete headers.host;
      delete headers.connection;
      const answer = await fetch(target + req.url, {
        method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    proxy = new RecordingProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** The requests seen since `from`, as "METHOD path". */
  since(from: number): string[] {
    return this.seen.slice(from).map((r) => `${r.method} ${r.path}`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("shotgun-nodejs through the broker", () => {
  let stack: Stack;
  let broker: Broker;
  let proxy: RecordingProxy;
  const calls: Record<string, number> = {};
  const rejectedTokens: string[] = [];

  before(async () => {
    stack = await Stack.start({ siteArgs: ["--token-lifetime", "100"] });
    proxy = await RecordingProxy.start(stack.siteUrl);
    // Counts the broker calls by method, and what IssueScriptSession reported as rejected.
    const recording: Interceptor = (options, next) => {
      const method = options.method_definition.path.split("/").pop()!;
      calls[method] = (calls[method] ?? 0) + 1;
      return new InterceptingCall(next(options), {
        sendMessage(message, send) {
          if (method === "IssueScriptSession" && message.rejectedToken) rejectedTokens.push(message.rejectedToken);
          send(message);
        },
      });
    };
    broker = connect(stack.brokerAddress, { interceptors: [recording] });
  });
  after(async () => {
    broker?.close();
    await proxy?.close();
    await stack?.stop();
  });

  async function heldSession(user: keyof typeof USERS) {
    const { login: name, password, secret } = USERS[user];
    return login(broker, name, password, null, { code: totp(secret), custody: TokenCustody.TOKEN_CUSTODY_BROKER });
  }

  const projectNames = (page: { data: Array<{ attributes?: Record<string, unknown> }> }) =>
    page.data.map((p) => p.attributes?.name);

  test("a held session reads projects; each refresh is the broker's, none is shotgun-nodejs's", async () => {
    const session = await heldSession("alice");
    // Tokens live 100 s: asking for 120 s makes the broker refresh at the site before every answer.
    const tokens = new HeldSessionTokenSource(broker, session.sessionId, { minValiditySeconds: 120 });
    const shotgun = new BrokerShotgunClient(tokens, { siteUrl: proxy.url });
    const base = await stack.stats();
    const seen = proxy.seen.length;
    const asked = calls.GetAccessToken ?? 0;

    for (let i = 0; i < 3; i++) {
      const page = await shotgun.entityReadAll({ entity: "projects" });
      assert.deepEqual(projectNames(page), ["Feature Film A", "Commercial B"]);
    }

    // shotgun-nodejs sent the three reads and nothing else: no token request of its own.
    assert.deepEqual(proxy.since(seen), Array(3).fill("GET /api/v1/entity/projects"));
    const bearers = proxy.seen.slice(seen).map((r) => r.authorization);
    assert.ok(bearers.every((b) => /^Bearer \S+$/.test(b)), JSON.stringify(bearers));
    assert.equal(new Set(bearers).size, 3);
    // The site saw three refreshes, and shotgun-nodejs sent none: they were the broker's, one per GetAccessToken.
    const now = await stack.stats();
    assert.equal(now.requests.refresh_token - base.requests.refresh_token, 3);
    assert.equal((calls.GetAccessToken ?? 0) - asked, 3);
    for (const grant of ["password", "client_credentials", "session_token", "other"]) {
      assert.equal(now.requests[grant], base.requests[grant], grant);
    }
    assert.equal(now.entity_reads - base.entity_reads, 3);
  });

  test("a held session's token refused with 401: the broker refreshes once and the request goes once more", async () => {
    const session = await heldSession("bob");
    const tokens = new HeldSessionTokenSource(broker, session.sessionId); // 60 s: the 100 s token is kept
    const shotgun = new BrokerShotgunClient(tokens, { siteUrl: proxy.url });
    await shotgun.entityReadAll({ entity: "projects" });
    const base = await stack.stats();
    const refreshes = calls.RefreshSession ?? 0;
    const seen = proxy.seen.length;

    await stack.control("clock", { offset_seconds: 150 }); // past the access token's life, not the refresh token's
    try {
      const page = await shotgun.entityReadAll({ entity: "projects" });
      assert.deepEqual(projectNames(page), ["Feature Film A", "Commercial B"]);
      assert.deepEqual(proxy.since(seen), Array(2).fill("GET /api/v1/entity/projects"));
      const [refused, fresh] = proxy.seen.slice(seen).map((r) => r.authorization);
      assert.notEqual(refused, fresh);
      const now = await stack.stats();
      assert.equal(now.requests.refresh_token - base.requests.refresh_token, 1);
      assert.equal((calls.RefreshSession ?? 0) - refreshes, 1);
      assert.equal(now.entity_reads - base.entity_reads, 2);
      // The fresh token is kept: the next read asks nobody.
      const asked = calls.GetAccessToken ?? 0;
      await shotgun.entityReadAll({ entity: "projects" });
      assert.equal(calls.GetAccessToken ?? 0, asked);
      assert.equal((await stack.stats()).requests.refresh_token, now.requests.refresh_token);
    } finally {
      await stack.control("clock", { offset_seconds: 0 });
    }
  });

  test("a script reads projects at the site the broker names; a 401 reports the token as rejected_token", async () => {
    const base = await stack.stats();
    const tokens = new ScriptTokenSource(broker, "ingest-bot", "ingest-bot-key-0001");
    const shotgun = new BrokerShotgunClient(tokens); // the site's URL comes from the broker's answer
    // Another process of the same service, holding the same cached token.
    const other = new BrokerShotgunClient(new ScriptTokenSource(broker, "ingest-bot", "ingest-bot-key-0001"));
    assert.deepEqual(projectNames(await shotgun.entityReadAll({ entity: "projects" })), ["Feature Film A", "Commercial B"]);
    assert.equal(shotgun.siteUrl, stack.siteUrl);
    await other.entityReadAll({ entity: "projects" });
    const first = tokens.session!.accessToken;
    assert.equal(first, (other.tokens as ScriptTokenSource).session!.accessToken);
    assert.equal((await stack.stats()).requests.client_credentials - base.requests.client_credentials, 1);

    await stack.control("clock", { offset_seconds: 4000 }); // the cached token is now refused at the site
    try {
      const reads = (await stack.stats()).entity_reads;
      assert.deepEqual(projectNames(await shotgun.entityReadAll({ entity: "projects" })), ["Feature Film A", "Commercial B"]);
      assert.deepEqual(rejectedTokens, [first]);
      const fresh = tokens.session!.accessToken;
      assert.notEqual(fresh, first);
      let now = await stack.stats();
      assert.equal(now.requests.client_credentials - base.requests.client_credentials, 2);
      assert.equal(now.entity_reads - reads, 2);

      // The other process reports the same token later: the broker already replaced it and calls nobody.
      await other.entityReadAll({ entity: "projects" });
      assert.deepEqual(rejectedTokens, [first, first]);
      assert.equal((other.tokens as ScriptTokenSource).session!.accessToken, fresh);
      now = await stack.stats();
      assert.equal(now.requests.client_credentials - base.requests.client_credentials, 2);
      assert.equal(now.requests.refresh_token, base.requests.refresh_token);
    } finally {
      await stack.control("clock", { offset_seconds: 0 });
    }
  });

  test("a site that refuses every token: one retry, then shotgun-nodejs's RequestError", async () => {
    const tokens = new ScriptTokenSource(broker, "render-farm", "render-farm-key-0002");
    const shotgun = new BrokerShotgunClient(tokens, { siteUrl: proxy.url });
    const seen = proxy.seen.length;
    const reported = rejectedTokens.length;
    proxy.refuseAll = true;
    try {
      const error = await shotgun.entityReadAll({ entity: "projects" }).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof RequestError, String(error));
      assert.equal((error as unknown as { resp: { status: number } }).resp.status, 401);
      assert.equal(proxy.seen.length - seen, 2);
      assert.equal(rejectedTokens.length - reported, 1);
    } finally {
      proxy.refuseAll = false;
    }
  });

  test("shotgun-nodejs's own login is off", async () => {
    const tokens = new ScriptTokenSource(broker, "ingest-bot", "ingest-bot-key-0001");
    const shotgun = new BrokerShotgunClient(tokens, { siteUrl: stack.siteUrl });
    assert.equal(await shotgun.getAuthorizationHeader(), `Bearer ${tokens.session!.accessToken}`);
    const base = (await stack.stats()).requests;
    await assert.rejects(shotgun.connect(), /the broker logs in/);
    await assert.rejects(shotgun.refreshToken(), /the broker refreshes/);
    assert.equal(shotgun.token, null);
    assert.throws(() => {
      (shotgun as unknown as { token: object }).token = { access_token: "a", refresh_token: "r", expires_in: 600 };
    }, TypeError);
    assert.deepEqual((await stack.stats()).requests, base);
  });
});
