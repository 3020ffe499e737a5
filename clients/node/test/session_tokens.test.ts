// Session tokens and refused tokens against the real broker and fake site: a
// person's session-token login (with the 2FA step), a script's session token
// shared from the broker's cache, invalidate() on each token source mapping
// to rejected_token (or a refresh), and ExchangeSessionToken.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import {
  CredentialKind, HeldSessionTokenSource, ScriptTokenSource, SessionTokenSource, TokenCustody, exchangeSessionToken,
  login, scriptSession,
} from "../src/index";
import { USERS, rejection, totp, useStack } from "../src/testing";

const SESSION_TOKEN = CredentialKind.CREDENTIAL_KIND_SESSION_TOKEN;

describe("session tokens and refused tokens", () => {
  const world = useStack();

  /** The names of the projects /api3/json answers to a read with this session token. */
  async function api3Projects(sessionToken: string): Promise<string[]> {
    const answer = await fetch(`${world.stack.siteUrl}/api3/json`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ method_name: "read", params: [{ session_token: sessionToken, reject_if_expired: true },
        { type: "Project", filters: [], return_fields: ["name"] }] }),
    });
    const body = (await answer.json()) as { results?: { entities: Array<{ name: string }> }; error_code?: number };
    if (!body.results) throw new Error(`/api3/json fault ${body.error_code}`);
    return body.results.entities.map((p) => p.name);
  }

  /** The REST projects an access token reads. */
  async function restProjects(accessToken: string): Promise<number> {
    const answer = await fetch(`${world.stack.siteUrl}/api/v1/entity/projects`,
      { headers: { authorization: `Bearer ${accessToken}` } });
    return answer.status;
  }

  const pair = async (key: string) => (await world.stack.stats()).api3.by_method_and_auth[key] ?? 0;

  test("a person's session-token login goes through the 2FA step and answers only a session token", async () => {
    const before = await pair("get_session_token.user");
    const session = await login(world.broker, USERS.carol.login, USERS.carol.password, () => totp(USERS.carol.secret),
      { kind: SESSION_TOKEN });
    assert.ok(session.sessionToken);
    assert.equal(session.accessToken, "");
    assert.equal(session.refreshToken, "");
    assert.equal(session.expireTime, undefined);
    assert.equal(session.principal?.userLogin, "carol");
    assert.equal(session.siteUrl, world.stack.siteUrl);
    assert.equal(await pair("get_session_token.user") - before, 2); // without the code (106), then with it
    assert.deepEqual(await api3Projects(session.sessionToken), ["Feature Film A", "Commercial B"]);

    const held = await rejection(login(world.broker, USERS.carol.login, USERS.carol.password, null,
      { code: "8845-2290", kind: SESSION_TOKEN, custody: TokenCustody.TOKEN_CUSTODY_BROKER }));
    assert.equal(held.code, status.INVALID_ARGUMENT);
    assert.equal(held.reason, "INVALID_REQUEST");
  });

  test("a script's session token is shared from the broker's cache and replaced once when reported", async () => {
    const before = await pair("get_session_token.script");
    const first = new ScriptTokenSource(world.broker, "ingest-bot", "ingest-bot-key-0001", { kind: SESSION_TOKEN });
    const second = new ScriptTokenSource(world.broker, "ingest-bot", "ingest-bot-key-0001", { kind: SESSION_TOKEN });
    const token = await first.token();
    assert.equal(await second.token(), token);
    assert.equal(await first.token(), token); // kept: session tokens carry no lifetime
    assert.equal(first.session?.principal?.scriptName, "ingest-bot");
    assert.equal(first.session?.accessToken, "");
    await assert.rejects(first.accessToken(), TypeError);
    assert.equal(await pair("get_session_token.script") - before, 1);
    assert.deepEqual(await api3Projects(token), ["Feature Film A", "Commercial B"]);

    first.invalidate("not-the-token"); // already replaced: nothing happens
    assert.equal(await first.token(), token);
    first.invalidate(token);
    const fresh = await first.token();
    assert.notEqual(fresh, token);
    assert.equal(await pair("get_session_token.script") - before, 2);
    // The second holder reports the same token: the broker has replaced it already and calls nobody.
    second.invalidate(token);
    assert.equal(await second.token(), fresh);
    assert.equal(await pair("get_session_token.script") - before, 2);
  });

  test("rejectedToken: the cached REST token is replaced, any other token changes nothing", async () => {
    const grants = async () => (await world.stack.requests()).client_credentials;
    const before = await grants();
    const cached = await scriptSession(world.broker, "render-farm", "render-farm-key-0002");
    assert.equal(cached.siteUrl, world.stack.siteUrl);
    const unchanged = await scriptSession(world.broker, "render-farm", "render-farm-key-0002",
      { rejectedToken: "some-other-token" });
    assert.equal(unchanged.accessToken, cached.accessToken);
    assert.equal(await grants() - before, 1);
    const replaced = await scriptSession(world.broker, "render-farm", "render-farm-key-0002",
      { rejectedToken: cached.accessToken });
    assert.notEqual(replaced.accessToken, cached.accessToken);
    assert.equal(await grants() - before, 2);
    assert.equal(await restProjects(replaced.accessToken), 200);
  });

  test("invalidate(token) on a person's sources: a refresh, once, and never for a replaced token", async () => {
    const refreshes = async () => (await world.stack.requests()).refresh_token;
    const session = await login(world.broker, USERS.erin.login, USERS.erin.password, () => totp(USERS.erin.secret));
    const base = await refreshes();
    const tokens = new SessionTokenSource(world.broker, session);
    tokens.invalidate(session.accessToken);
    const fresh = await tokens.accessToken();
    assert.notEqual(fresh, session.accessToken);
    tokens.invalidate(session.accessToken);
    assert.equal(await tokens.accessToken(), fresh);
    assert.equal(await refreshes() - base, 1);

    const held = await login(world.broker, USERS.frank.login, USERS.frank.password, null,
      { code: totp(USERS.frank.secret), custody: TokenCustody.TOKEN_CUSTODY_BROKER });
    const source = new HeldSessionTokenSource(world.broker, held.sessionId, { siteUrl: held.siteUrl });
    assert.equal(source.siteUrl, world.stack.siteUrl);
    const token = await source.accessToken();
    assert.equal(await refreshes() - base, 1);
    source.invalidate(token);
    source.invalidate(token); // a second report of the same token adds nothing
    const replaced = await source.accessToken();
    assert.notEqual(replaced, token);
    assert.equal(await refreshes() - base, 2);
    assert.equal(await restProjects(replaced), 200);
  });

  test("ExchangeSessionToken: REST tokens for a session token, held or not; a refused token is INVALID_CREDENTIALS", async () => {
    const grants = async () => (await world.stack.requests()).session_token;
    const before = await grants();
    const mine = await exchangeSessionToken(world.broker, await world.stack.mintSessionToken({ login: USERS.dave.login }));
    assert.ok(mine.accessToken && mine.refreshToken);
    assert.equal(mine.sessionId, "");
    assert.equal(mine.principal?.userLogin ?? "", "");
    assert.equal(mine.siteUrl, world.stack.siteUrl);
    assert.equal(await restProjects(mine.accessToken), 200);

    const held = await exchangeSessionToken(world.broker, await world.stack.mintSessionToken({ login: USERS.dave.login }),
      { custody: TokenCustody.TOKEN_CUSTODY_BROKER });
    assert.match(held.sessionId, /^[0-9a-f]{64}$/);
    assert.equal(held.refreshToken, "");
    assert.equal(await restProjects(await new HeldSessionTokenSource(world.broker, held.sessionId).accessToken()), 200);

    const refused = await rejection(exchangeSessionToken(world.broker, "not-a-session-token"));
    assert.equal(refused.code, status.UNAUTHENTICATED);
    assert.equal(refused.reason, "INVALID_CREDENTIALS");
    assert.ok(!refused.message.includes("not-a-session-token"));
    assert.equal(await grants() - before, 3);

    for (const bad of ["", "x".repeat(5000)]) { // far beyond the longest token the broker takes
      const error = await rejection(exchangeSessionToken(world.broker, bad));
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.equal(error.reason, "INVALID_REQUEST");
    }
    assert.equal(await grants() - before, 3);
  });
});
