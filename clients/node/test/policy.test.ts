// The connection policy every client shares: plaintext only to this machine
// unless allowInsecure, never a service token in the clear off this machine, a
// default deadline on every call, AbortSignal, and retries of UNAVAILABLE only
// for calls that are safe to repeat. Checked against a local grpc-js server
// that fails on demand and counts attempts.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { Server, ServerCredentials, ServerUnaryCall, status } from "@grpc/grpc-js";
import { BrokerError, ScriptTokenSource, connect, isLoopback, login, refresh, revoke, scriptSession } from "../src/index";
import {
  CredentialBrokerClient, CredentialBrokerService, LoginResult, RefreshSessionRequest, Session,
} from "../src/generated/credbroker/v1/broker";
import { rejection } from "../src/testing";

describe("where plaintext and the service token may go", () => {
  for (const address of ["192.0.2.10:50051", "broker.studio.lan:50051", "dns:///broker.studio.lan:443", "[2001:db8::1]:50051"]) {
    test(`${address}: plaintext needs allowInsecure, a token never goes in the clear`, () => {
      assert.equal(isLoopback(address), false);
      assert.throws(() => connect(address, { tls: false }), /refusing plaintext/);
      connect(address, { allowInsecure: true }).close();
      connect(address).close(); // TLS with the system roots
      assert.throws(() => connect(address, { allowInsecure: true, serviceToken: "svc" }), /service token in the clear/);
      assert.throws(() => connect(address, { allowInsecure: true, serviceToken: () => "svc" }), /service token in the clear/);
    });
  }
  for (const address of ["127.0.0.1:1", "localhost:1", "[::1]:1", "unix:/tmp/broker.sock"]) {
    test(`${address} is loopback: plaintext with a token is fine`, () => {
      assert.equal(isLoopback(address), true);
      connect(address, { serviceToken: "svc" }).close();
    });
  }
});

describe("deadlines, cancellation and retries", () => {
  let server: Server;
  let address: string;
  let failures = 0;
  let delayMs = 0;
  const attempts: Record<string, number> = {};
  const deadlines: number[] = [];
  const tokens: string[] = [];

  const answer = <T>(method: string, value: T) =>
    (call: ServerUnaryCall<unknown, T>, callback: (error: object | null, value?: T) => void) => {
      attempts[method] = (attempts[method] ?? 0) + 1;
      const deadline = call.getDeadline();
      deadlines.push(deadline instanceof Date ? deadline.getTime() - Date.now() : Number(deadline) - Date.now());
      tokens.push(call.metadata.get("authorization").map(String).join());
      const failing = attempts[method] <= failures;
      setTimeout(() => (failing
        ? callback({ code: status.UNAVAILABLE, details: "down for a moment" })
        : callback(null, value)), delayMs);
    };
  const session = Session.fromPartial({ accessToken: "tok", tokenType: "Bearer" });

  before(async () => {
    server = new Server();
    server.addService(CredentialBrokerService, {
      beginLogin: answer("BeginLogin", LoginResult.fromPartial({ session })),
      submitSecondFactor: answer("SubmitSecondFactor", LoginResult.fromPartial({ session })),
      refreshSession: answer("RefreshSession", session),
      issueScriptSession: answer("IssueScriptSession", session),
      getAccessToken: answer("GetAccessToken", { accessToken: "tok", tokenType: "Bearer" }),
      revokeSession: answer("RevokeSession", {}),
      exchangeSessionToken: answer("ExchangeSessionToken", session),
      beginBrowserLogin: answer("BeginBrowserLogin", { requestId: "r", approvalUrl: "https://site/approve" }),
      completeBrowserLogin: answer("CompleteBrowserLogin", session),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });
  after(() => server?.forceShutdown());
  beforeEach(() => {
    failures = 0;
    delayMs = 0;
    for (const key of Object.keys(attempts)) delete attempts[key];
    deadlines.length = 0;
    tokens.length = 0;
  });

  test("every call carries the default 10 s deadline, or the one asked for", async () => {
    const broker = connect(address);
    try {
      await scriptSession(broker, "ingest-bot", "");
      assert.ok(deadlines[0] > 8000 && deadlines[0] <= 10_100, `deadline ${deadlines[0]} ms`);
      await scriptSession(broker, "ingest-bot", "", { timeoutSeconds: 2 });
      assert.ok(deadlines[1] > 1000 && deadlines[1] <= 2100, `deadline ${deadlines[1]} ms`);
    } finally {
      broker.close();
    }
  });

  test("calls on the raw client are bounded by the service config", async () => {
    const broker = connect(address, { timeoutSeconds: 0.3 });
    try {
      const raw: CredentialBrokerClient = broker.client;
      const refreshed = () => new Promise<number | undefined>((resolve) => {
        raw.refreshSession(RefreshSessionRequest.fromPartial({ refreshToken: "r" }), (error) => resolve(error?.code));
      });
      delayMs = 100; // within 0.3 s (not 3 ns: grpc-js reads "0.3s" as nanoseconds)
      assert.equal(await refreshed(), undefined);
      delayMs = 1500;
      assert.equal(await refreshed(), status.DEADLINE_EXCEEDED);
    } finally {
      broker.close();
    }
  });

  test("CompleteBrowserLogin's deadline is the wait asked for plus the timeout, past the service config's", async () => {
    delayMs = 700;
    const broker = connect(address, { timeoutSeconds: 0.3 });
    try {
      const session = await broker.completeBrowserLogin({ requestId: "r", wait: { seconds: 1, nanos: 0 } });
      assert.equal(session.accessToken, "tok");
      assert.ok(deadlines[0] > 1000 && deadlines[0] <= 1400, `deadline ${deadlines[0]} ms`);
      await broker.completeBrowserLogin({ requestId: "r" }); // unset: the broker waits 30 s
      assert.ok(deadlines[1] > 29_000 && deadlines[1] <= 30_400, `deadline ${deadlines[1]} ms`);
      await broker.completeBrowserLogin({ requestId: "r" }, { timeoutSeconds: 5 });
      assert.ok(deadlines[2] > 4000 && deadlines[2] <= 5100, `deadline ${deadlines[2]} ms`);
      delayMs = 0;
      await broker.beginBrowserLogin({});
      await broker.exchangeSessionToken({ sessionToken: "s" });
      assert.ok(deadlines[3] <= 400 && deadlines[4] <= 400, `deadlines ${deadlines.slice(3)} ms`);
    } finally {
      broker.close();
    }
  });

  test("an AbortSignal cancels the call", async () => {
    delayMs = 1500;
    const broker = connect(address);
    try {
      const controller = new AbortController();
      const pending = scriptSession(broker, "ingest-bot", "", { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const error = await rejection(pending);
      assert.ok(error instanceof BrokerError);
      assert.equal(error.code, status.CANCELLED);
    } finally {
      broker.close();
    }
  });

  test("a token source's waiting caller stops on its own signal; the call goes on for the others", async () => {
    delayMs = 600;
    const broker = connect(address);
    try {
      const source = new ScriptTokenSource(broker, "ingest-bot", "");
      const first = source.accessToken();
      const controller = new AbortController();
      const second = source.accessToken({ signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(second, { name: "AbortError" });
      assert.equal(await first, "tok");
      assert.equal(attempts.IssueScriptSession, 1);
    } finally {
      broker.close();
    }
  });

  test("the service token provider is asked on every call", async () => {
    let n = 0;
    const broker = connect(address, { serviceToken: async () => `svc-${++n}` });
    try {
      await scriptSession(broker, "ingest-bot", "");
      await scriptSession(broker, "ingest-bot", "");
      assert.deepEqual(tokens, ["Bearer svc-1", "Bearer svc-2"]);
    } finally {
      broker.close();
    }
  });

  test("UNAVAILABLE is retried for calls that are safe to repeat", async () => {
    failures = 2;
    const broker = connect(address);
    try {
      assert.equal((await scriptSession(broker, "ingest-bot", "")).accessToken, "tok");
      await revoke(broker, "refresh-1");
      assert.equal((await login(broker, "alice", "pw", null)).accessToken, "tok");
      assert.deepEqual(attempts, { IssueScriptSession: 3, RevokeSession: 3, BeginLogin: 3 });
    } finally {
      broker.close();
    }
  });

  test("UNAVAILABLE is not retried when a repeat could spend something", async () => {
    failures = 1;
    const broker = connect(address);
    try {
      assert.equal((await rejection(broker.beginBrowserLogin({}))).code, status.UNAVAILABLE);
      assert.equal((await rejection(broker.completeBrowserLogin({ requestId: "r" }))).code, status.UNAVAILABLE);
      assert.equal((await rejection(refresh(broker, "refresh-1"))).code, status.UNAVAILABLE);
      assert.equal((await rejection(login(broker, "alice", "pw", null, { code: "123456" }))).code, status.UNAVAILABLE);
      assert.equal((await rejection(broker.submitSecondFactor({ challengeId: "c", code: "123456" }))).code,
        status.UNAVAILABLE);
      assert.deepEqual(attempts,
        { BeginBrowserLogin: 1, CompleteBrowserLogin: 1, RefreshSession: 1, BeginLogin: 1, SubmitSecondFactor: 1 });
    } finally {
      broker.close();
    }
  });
});
