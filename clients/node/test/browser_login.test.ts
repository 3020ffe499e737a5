// Browser-approved login against the real broker and a fake site that
// refuses passwords (SSO): the approval URL and the broker's own request id,
// APPROVAL_PENDING while the person has not decided, the session once
// approved (REST tokens, a held session or a session token), rejection,
// concurrent waiters sharing one result, and an AbortSignal stopping a wait.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import {
  BrokerError, CredentialKind, HeldSessionTokenSource, TokenCustody, awaitBrowserApproval, beginBrowserLogin,
  browserLogin, login,
} from "../src/index";
import { FAST_BROWSER_LOGIN, USERS, rejection, useStack } from "../src/testing";

describe("browser-approved login on an SSO site", () => {
  const world = useStack({ siteArgs: ["--auth-mode", "sso"], brokerConfig: FAST_BROWSER_LOGIN });

  test("a password login is SSO_REQUIRED", async () => {
    const error = await rejection(login(world.broker, USERS.alice.login, USERS.alice.password, null));
    assert.equal(error.code, status.FAILED_PRECONDITION);
    assert.equal(error.reason, "SSO_REQUIRED");
  });

  test("pending until the person approves, then the person's REST session", async () => {
    const base = await world.stack.stats();
    const started = Date.now();
    const challenge = await beginBrowserLogin(world.broker, { appName: "pipeline-tools", machineId: "ws-042" });
    assert.match(challenge.approvalUrl, new RegExp(`^${world.stack.siteUrl}/app_session_request/[^/]+$`));
    const siteId = challenge.approvalUrl.split("/").pop();
    assert.ok(challenge.requestId && challenge.requestId !== siteId, "the broker's id is its own");
    const life = challenge.expireTime!.getTime() - started;
    assert.ok(life > 175_000 && life <= 181_000, `expires in ${life} ms`);

    const pending = await rejection(world.broker.completeBrowserLogin(
      { requestId: challenge.requestId, wait: { seconds: 0, nanos: 0 } }));
    assert.equal(pending.code, status.FAILED_PRECONDITION);
    assert.equal(pending.reason, "APPROVAL_PENDING");
    assert.ok(pending.retryAfterSeconds! > 0, String(pending.retryAfterSeconds));

    const waiting = awaitBrowserApproval(world.broker, challenge.requestId, { waitSeconds: 10 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await world.stack.decideBrowserLogin(challenge.approvalUrl, { approveAs: USERS.bob.login });
    const session = await waiting;
    assert.equal(session.principal?.userLogin, "bob");
    assert.ok(session.accessToken && session.refreshToken);
    assert.equal(session.sessionToken, "");
    assert.equal(session.siteUrl, world.stack.siteUrl);
    assert.ok(session.expireTime!.getTime() > Date.now());

    const now = await world.stack.stats();
    assert.equal(now.launcher.create - base.launcher.create, 1);
    assert.equal(now.launcher.approve - base.launcher.approve, 1);
    assert.equal(now.requests.session_token - base.requests.session_token, 1); // the broker's exchange
    assert.equal(now.requests.password, base.requests.password);

    const used = await rejection(world.broker.completeBrowserLogin({ requestId: challenge.requestId }));
    assert.equal(used.code, status.FAILED_PRECONDITION);
    assert.equal(used.reason, "CHALLENGE_NOT_FOUND");
  });

  test("browserLogin() shows the approval, then answers a held session or a session token", async () => {
    const shown: string[] = [];
    const held = await browserLogin(world.broker, async (challenge) => {
      shown.push(challenge.approvalUrl);
      await world.stack.decideBrowserLogin(challenge.approvalUrl, { approveAs: USERS.carol.login });
    }, { custody: TokenCustody.TOKEN_CUSTODY_BROKER });
    assert.equal(shown.length, 1);
    assert.match(held.sessionId, /^[0-9a-f]{64}$/);
    assert.equal(held.refreshToken, "");
    assert.equal(held.principal?.userLogin, "carol");
    assert.ok(await new HeldSessionTokenSource(world.broker, held.sessionId).accessToken());

    const before = (await world.stack.requests()).session_token;
    const token = await browserLogin(world.broker,
      (challenge) => world.stack.decideBrowserLogin(challenge.approvalUrl, { approveAs: USERS.dave.login }),
      { kind: CredentialKind.CREDENTIAL_KIND_SESSION_TOKEN });
    assert.ok(token.sessionToken);
    assert.equal(token.accessToken, "");
    assert.equal(token.principal?.userLogin, "dave");
    assert.equal((await world.stack.requests()).session_token, before); // nothing to exchange

    const refused = await rejection(beginBrowserLogin(world.broker,
      { kind: CredentialKind.CREDENTIAL_KIND_SESSION_TOKEN, custody: TokenCustody.TOKEN_CUSTODY_BROKER }));
    assert.equal(refused.code, status.INVALID_ARGUMENT);
    assert.equal(refused.reason, "INVALID_REQUEST");
  });

  test("a rejected request is CHALLENGE_NOT_FOUND; concurrent waiters share one result", async () => {
    const rejected = await beginBrowserLogin(world.broker);
    const waiting = rejection(awaitBrowserApproval(world.broker, rejected.requestId, { waitSeconds: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await world.stack.decideBrowserLogin(rejected.approvalUrl, { reject: true });
    const error = await waiting;
    assert.equal(error.code, status.FAILED_PRECONDITION);
    assert.equal(error.reason, "CHALLENGE_NOT_FOUND");

    const shared = await beginBrowserLogin(world.broker);
    const waiters = Array.from({ length: 3 }, () => awaitBrowserApproval(world.broker, shared.requestId, { waitSeconds: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await world.stack.decideBrowserLogin(shared.approvalUrl, { approveAs: USERS.erin.login });
    const sessions = await Promise.all(waiters);
    assert.equal(new Set(sessions.map((s) => s.refreshToken)).size, 1);
    assert.equal(sessions[0].principal?.userLogin, "erin");
  });

  test("an AbortSignal stops a wait at once", async () => {
    const challenge = await beginBrowserLogin(world.broker);
    const controller = new AbortController();
    const started = Date.now();
    const waiting = rejection(awaitBrowserApproval(world.broker, challenge.requestId, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 200);
    const error = await waiting;
    assert.ok(error instanceof BrokerError);
    assert.equal(error.code, status.CANCELLED);
    assert.ok(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`);
    await assert.rejects(awaitBrowserApproval(world.broker, challenge.requestId, { waitSeconds: 61 }), RangeError);
  });
});
