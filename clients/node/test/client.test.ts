// Tests of the client against the real broker and fake ShotGrid site: login
// with the two-factor step, error reasons, token sources.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { InterceptingCall, Interceptor, status } from "@grpc/grpc-js";
import {
  Broker, BrokerError, CodePrompt, ScriptTokenSource, SecondFactorRequiredError, SessionTokenSource, TokenCustody,
  connect, login, refresh, revoke, scriptSession,
} from "../src/index";
import { Stack, USERS, rejection, totp } from "../src/testing";


describe("credbroker client against the real broker", () => {
  let stack: Stack;
  let broker: Broker;
  before(async () => {
    stack = await Stack.start();
    broker = connect(stack.brokerAddress);
  });
  after(async () => {
    broker?.close();
    await stack?.stop();
  });

  test("login answers the challenge with a TOTP code from the provider", async () => {
    const prompts: CodePrompt[] = [];
    const session = await login(broker, USERS.alice.login, USERS.alice.password, (prompt) => {
      prompts.push(prompt);
      return totp(USERS.alice.secret);
    });
    assert.equal(prompts.length, 1);
    assert.equal(prompts[0].attemptsLeft, 5);
    assert.match(prompts[0].challengeId, /^[0-9a-f]{64}$/);
    assert.ok(prompts[0].expireTime instanceof Date);
    assert.equal(prompts[0].previousError, undefined);
    assert.equal(session.tokenType, "Bearer");
    assert.equal(session.principal?.userLogin, "alice");
    assert.ok(session.accessToken && session.refreshToken);
    assert.ok(session.expireTime!.getTime() > Date.now());
    const requests = await stack.requests();
    assert.equal(requests.password, 2); // BeginLogin, then the grant with the code
  });

  test("a wrong code reports attemptsLeft and the provider is asked again", async () => {
    const prompts: CodePrompt[] = [];
    const session = await login(broker, USERS.bob.login, USERS.bob.password, async (prompt) => {
      prompts.push(prompt);
      return prompts.length === 1 ? "000000" : totp(USERS.bob.secret);
    });
    assert.equal(session.principal?.userLogin, "bob");
    assert.deepEqual(prompts.map((p) => p.attemptsLeft), [5, 4]);
    const error = prompts[1].previousError!;
    assert.equal(error.reason, "INVALID_SECOND_FACTOR");
    assert.equal(error.code, status.UNAUTHENTICATED);
    assert.equal(error.codeName, "UNAUTHENTICATED");
    assert.equal(error.attemptsLeft, 4);
    assert.ok(error.is("INVALID_SECOND_FACTOR"));
  });

  test("submitting to a used challenge is CHALLENGE_NOT_FOUND", async () => {
    const first = await broker.beginLogin({ username: USERS.grace.login, password: USERS.grace.password });
    const challengeId = first.challenge!.challengeId;
    const wrong = await rejection(broker.submitSecondFactor({ challengeId, code: "123456" }));
    assert.equal(wrong.reason, "INVALID_SECOND_FACTOR");
    assert.equal(wrong.attemptsLeft, 4);
    const done = await broker.submitSecondFactor({ challengeId, code: totp(USERS.grace.secret) });
    assert.equal(done.session?.principal?.userLogin, "grace");
    const again = await rejection(broker.submitSecondFactor({ challengeId, code: "123456" }));
    assert.equal(again.reason, "CHALLENGE_NOT_FOUND");
    assert.equal(again.code, status.FAILED_PRECONDITION);
  });

  test("a wrong password is INVALID_CREDENTIALS and the provider is never asked", async () => {
    const before = (await stack.requests()).password;
    let asked = 0;
    const error = await rejection(login(broker, USERS.carol.login, "not-her-password", () => {
      asked++;
      return "000000";
    }));
    assert.equal(error.reason, "INVALID_CREDENTIALS");
    assert.equal(error.code, status.UNAUTHENTICATED);
    assert.equal(error.retryAfterSeconds, undefined);
    assert.equal(asked, 0);
    assert.equal((await stack.requests()).password, before + 1);
  });

  test("five wrong passwords then TOO_MANY_ATTEMPTS with retryAfterSeconds", async () => {
    const before = (await stack.requests()).password;
    for (let i = 0; i < 5; i++) {
      const error = await rejection(login(broker, USERS.dave.login, "wrong", () => "000000"));
      assert.equal(error.reason, "INVALID_CREDENTIALS");
    }
    const error = await rejection(login(broker, USERS.dave.login, "wrong", () => "000000"));
    assert.equal(error.reason, "TOO_MANY_ATTEMPTS");
    assert.equal(error.code, status.RESOURCE_EXHAUSTED);
    assert.ok(error.retryAfterSeconds! > 0, String(error.retryAfterSeconds));
    assert.equal((await stack.requests()).password, before + 5);
  });

  test("reasons that never reach the site", async () => {
    assert.equal((await rejection(broker.beginLogin({ username: "", password: "x" }))).reason, "INVALID_REQUEST");
    assert.equal((await rejection(login(broker, "a", "x", () => "1", { site: "nowhere" }))).reason, "UNKNOWN_SITE");
    const unknown = await rejection(broker.getAccessToken({ sessionId: "s" }));
    assert.equal(unknown.reason, "SESSION_NOT_FOUND");
    assert.equal(unknown.code, status.NOT_FOUND);
  });

  test("SessionTokenSource refreshes once for concurrent callers and keeps the rotated token", async () => {
    const session = await login(broker, USERS.erin.login, USERS.erin.password, () => totp(USERS.erin.secret));
    const base = (await stack.requests()).refresh_token;

    // Valid for 600 s, margin 60 s: no refresh.
    const relaxed = new SessionTokenSource(broker, session);
    assert.equal(await relaxed.accessToken(), session.accessToken);
    assert.equal((await stack.requests()).refresh_token, base);

    // A margin beyond the token's life: every caller needs a refresh; one happens.
    const eager = new SessionTokenSource(broker, session, { marginSeconds: 3600 });
    const refreshed: string[] = [];
    eager.onRefresh((next) => refreshed.push(next.refreshToken));
    const tokens = await Promise.all(Array.from({ length: 8 }, () => eager.accessToken()));
    assert.equal((await stack.requests()).refresh_token, base + 1);
    assert.equal(new Set(tokens).size, 1);
    assert.notEqual(tokens[0], session.accessToken);
    assert.notEqual(eager.refreshToken, session.refreshToken);
    assert.deepEqual(refreshed, [eager.refreshToken]);
    assert.equal(eager.session.principal?.userLogin, "erin");

    // The spent refresh token is refused; forceRefresh with a stale token does nothing.
    assert.equal((await rejection(refresh(broker, session.refreshToken))).reason, "REFRESH_TOKEN_INVALID");
    assert.equal(await eager.forceRefresh(session.accessToken), tokens[0]);
    assert.equal((await stack.requests()).refresh_token, base + 2);

    // Revoked: the next refresh fails with the reason.
    await revoke(broker, eager.refreshToken);
    const error = await rejection(eager.accessToken());
    assert.equal(error.reason, "REFRESH_TOKEN_INVALID");
  });

  test("ScriptTokenSource caches the script session until the margin", async () => {
    let calls = 0;
    const counting: Interceptor = (options, next) => {
      if (options.method_definition.path.endsWith("/IssueScriptSession")) calls++;
      return new InterceptingCall(next(options));
    };
    const counted = connect(stack.brokerAddress, { interceptors: [counting] });
    try {
      const base = (await stack.requests()).client_credentials;
      const source = new ScriptTokenSource(counted, "ingest-bot", "ingest-bot-key-0001");
      const tokens = await Promise.all(Array.from({ length: 5 }, () => source.accessToken()));
      tokens.push(await source.accessToken(), await source.accessToken());
      assert.equal(new Set(tokens).size, 1);
      assert.equal(calls, 1);
      assert.equal((await stack.requests()).client_credentials, base + 1);
      assert.equal(source.session?.principal?.scriptName, "ingest-bot");
      assert.equal(source.session?.refreshToken, "");

      const eager = new ScriptTokenSource(counted, "ingest-bot", "ingest-bot-key-0001", { marginSeconds: 3600 });
      await eager.accessToken();
      await eager.accessToken();
      assert.equal(calls, 3);

      const wrong = await rejection(scriptSession(counted, "ingest-bot", "wrong-key"));
      assert.equal(wrong.reason, "INVALID_SCRIPT_KEY");
    } finally {
      counted.close();
    }
  });
});

describe("login with the code up front, on a broker of its own", () => {
  let stack: Stack;
  let broker: Broker;
  before(async () => {
    stack = await Stack.start();
    broker = connect(stack.brokerAddress);
  });
  after(async () => {
    broker?.close();
    await stack?.stop();
  });

  test("the code up front logs in in one call; the custody is sent", async () => {
    const before = (await stack.requests()).password ?? 0;
    const session = await login(broker, USERS.heidi.login, USERS.heidi.password, null, { code: totp(USERS.heidi.secret) });
    assert.equal(session.principal?.userLogin, "heidi");
    assert.ok(session.refreshToken);
    assert.equal(((await stack.requests()).password ?? 0) - before, 1);
    // Broker custody: a session id and no refresh token (a backup code, as the TOTP code is spent).
    const held = await login(broker, USERS.heidi.login, USERS.heidi.password, null,
      { code: "8714-2295", custody: TokenCustody.TOKEN_CUSTODY_BROKER });
    assert.equal(held.sessionId.length, 64);
    assert.equal(held.refreshToken, "");
    await assert.rejects(login(broker, USERS.grace.login, USERS.grace.password, null), SecondFactorRequiredError);
  });
});
