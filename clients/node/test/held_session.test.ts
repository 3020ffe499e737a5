// HeldSessionTokenSource against the real broker and a fake site whose tokens
// live 100 s: concurrent callers asking for 120 s share one GetAccessToken and
// one site refresh; a caller's AbortSignal stops only that caller; the token
// is cached until invalidate(); revoke() ends the session (SESSION_NOT_FOUND);
// a session the site no longer refreshes answers REFRESH_TOKEN_INVALID, then
// SESSION_NOT_FOUND.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { InterceptingCall, Interceptor, status } from "@grpc/grpc-js";
import { Broker, HeldSessionTokenSource, TokenCustody, connect, login } from "../src/index";
import { Stack, USERS, rejection, totp } from "../src/testing";

describe("HeldSessionTokenSource against the real broker", () => {
  let stack: Stack;
  let broker: Broker;
  let calls = 0;
  before(async () => {
    stack = await Stack.start({ siteArgs: ["--token-lifetime", "100"] });
    const counting: Interceptor = (options, next) => {
      if (options.method_definition.path.endsWith("/GetAccessToken")) calls++;
      return new InterceptingCall(next(options));
    };
    broker = connect(stack.brokerAddress, { interceptors: [counting] });
  });
  after(async () => {
    broker?.close();
    await stack?.stop();
  });

  async function heldLogin(user: keyof typeof USERS): Promise<string> {
    const { login: name, password, secret } = USERS[user];
    const session = await login(broker, name, password, null, { code: totp(secret), custody: TokenCustody.TOKEN_CUSTODY_BROKER });
    assert.match(session.sessionId, /^[0-9a-f]{64}$/);
    assert.equal(session.refreshToken, "");
    return session.sessionId;
  }

  test("concurrent callers share one broker call and one site refresh; an abort stops only its caller", async () => {
    const source = new HeldSessionTokenSource(broker, await heldLogin("alice"), { minValiditySeconds: 120 });
    const base = (await stack.requests()).refresh_token;
    const before = calls;
    await stack.control("faults", { latency_ms: 1000 }); // the call stays in flight while all callers arrive
    try {
      const aborted = new AbortController();
      const quitter = source.accessToken({ signal: aborted.signal });
      const waiters = Array.from({ length: 8 }, () => source.accessToken());
      aborted.abort(new Error("the page was closed"));
      await assert.rejects(quitter, { message: "the page was closed" });
      const tokens = await Promise.all(waiters);
      assert.equal(new Set(tokens).size, 1);
      assert.equal(calls - before, 1);
      assert.equal((await stack.requests()).refresh_token, base + 1);
    } finally {
      await stack.control("faults", { latency_ms: 0 });
    }
  });

  test("the token is cached until invalidate(); revoke() ends the session", async () => {
    const source = new HeldSessionTokenSource(broker, await heldLogin("heidi"));
    const base = (await stack.requests()).refresh_token;
    const before = calls;
    const first = await source.accessToken();
    assert.equal(await source.accessToken(), first);
    assert.equal(calls - before, 1);

    source.invalidate();
    // The broker's token still has about 100 s (more than 60): the same one, no site refresh.
    assert.equal(await source.accessToken(), first);
    assert.equal(calls - before, 2);
    assert.equal((await stack.requests()).refresh_token, base);

    await source.revoke();
    await source.revoke(); // idempotent
    const error = await rejection(source.accessToken());
    assert.equal(error.code, status.NOT_FOUND);
    assert.equal(error.reason, "SESSION_NOT_FOUND");
    assert.ok(!error.message.includes(source.sessionId));
    assert.equal(calls - before, 3);
  });

  test("a session the site no longer refreshes is gone", async () => {
    const source = new HeldSessionTokenSource(broker, await heldLogin("bob"), { minValiditySeconds: 120 });
    const base = (await stack.requests()).refresh_token;
    await stack.control("clock", { offset_seconds: 25 * 3600 }); // the site's refresh tokens live 24 h
    try {
      const refused = await rejection(source.accessToken());
      assert.equal(refused.code, status.UNAUTHENTICATED);
      assert.equal(refused.reason, "REFRESH_TOKEN_INVALID");
      const gone = await rejection(source.accessToken());
      assert.equal(gone.code, status.NOT_FOUND);
      assert.equal(gone.reason, "SESSION_NOT_FOUND");
      assert.equal((await stack.requests()).refresh_token, base + 1);
    } finally {
      await stack.control("clock", { offset_seconds: 0 });
    }
  });

  test("an empty session id is refused", () => {
    assert.throws(() => new HeldSessionTokenSource(broker, ""), TypeError);
  });
});
