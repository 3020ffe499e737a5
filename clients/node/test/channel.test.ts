// Tests of connect(): TLS with a CA bundle against the real broker, and mTLS
// plus the service bearer token against a local grpc-js server that requires a
// client certificate and records what each call carried.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { Metadata, Server, ServerCredentials, ServerUnaryCall, status } from "@grpc/grpc-js";
import { BrokerError, connect, scriptSession } from "../src/index";
import {
  CredentialBrokerService, ErrorDetail, IssueScriptSessionRequest, RichStatus, Session,
} from "../src/generated/credbroker/v1/broker";
import { Any } from "../src/generated/google/protobuf/any";
import { Stack, makeCertificates, rejection } from "../src/testing";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "credbroker-node-tls-"));
const certs = makeCertificates(dir);
after(() => fs.rmSync(dir, { recursive: true, force: true }));


describe("the real broker with listener TLS", () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start({ tls: { certFile: certs.certFile, keyFile: certs.keyFile } });
  });
  after(async () => {
    await stack?.stop();
  });

  test("a CA bundle, client certificate and service token: the call works", async () => {
    const broker = connect(stack.brokerAddress, {
      caFile: certs.caFile, clientCert: certs.clientCert, clientKey: certs.clientKey, serviceToken: "svc-token-1",
    });
    try {
      const session = await scriptSession(broker, "render-farm", "render-farm-key-0002");
      assert.equal(session.principal?.scriptName, "render-farm");
    } finally {
      broker.close();
    }
  });

  test("a plaintext channel to a TLS broker fails as UNAVAILABLE without a reason", async () => {
    const broker = connect(stack.brokerAddress, { timeoutSeconds: 5 });
    try {
      const error = await rejection(scriptSession(broker, "render-farm", "render-farm-key-0002"));
      assert.equal(error.code, status.UNAVAILABLE);
      assert.equal(error.reason, "");
      assert.ok(error.retryable);
    } finally {
      broker.close();
    }
  });
});

describe("mTLS and the service token, seen from the server", () => {
  let server: Server;
  let address: string;
  const seen: string[][] = [];
  before(async () => {
    server = new Server();
    const unimplemented = (_call: unknown, callback: (error: object) => void) =>
      callback({ code: status.UNIMPLEMENTED, details: "not in this test" });
    server.addService(CredentialBrokerService, {
      beginLogin: unimplemented, submitSecondFactor: unimplemented, refreshSession: unimplemented,
      getAccessToken: unimplemented, revokeSession: unimplemented,
      issueScriptSession: (call: ServerUnaryCall<IssueScriptSessionRequest, Session>,
        callback: (error: object | null, value?: Session) => void) => {
        seen.push(call.metadata.get("authorization").map(String));
        if (call.request.scriptKey === "wrong") {
          // The broker's rich status, packed by hand: RichStatus{details: [Any(ErrorDetail)]}.
          const detail = ErrorDetail.encode({
            reason: "UPSTREAM_UNAVAILABLE", attemptsLeft: 0, retryAfter: { seconds: 2, nanos: 500_000_000 },
            metadata: { site: "main" },
          }).finish();
          const rich = RichStatus.encode({
            code: status.UNAVAILABLE, message: "site down",
            details: [Any.fromPartial({ typeUrl: "type.googleapis.com/credbroker.v1.ErrorDetail", value: detail })],
          }).finish();
          const trailers = new Metadata();
          trailers.set("grpc-status-details-bin", Buffer.from(rich));
          callback({ code: status.UNAVAILABLE, details: "site down", metadata: trailers });
          return;
        }
        callback(null, Session.fromPartial({ accessToken: "t", tokenType: "Bearer",
          principal: { scriptName: call.request.scriptName } }));
      },
    });
    const credentials = ServerCredentials.createSsl(fs.readFileSync(certs.caFile),
      [{ cert_chain: fs.readFileSync(certs.certFile), private_key: fs.readFileSync(certs.keyFile) }], true);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", credentials, (error, p) => (error ? reject(error) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });
  after(() => {
    server?.forceShutdown();
  });

  test("the client certificate is presented and the bearer token sent on every call", async () => {
    const broker = connect(address, {
      caFile: certs.caFile, clientCert: certs.clientCert, clientKey: certs.clientKey, serviceToken: "svc-token-2",
    });
    try {
      await scriptSession(broker, "ingest-bot", "k");
      await scriptSession(broker, "ingest-bot", "k");
      assert.deepEqual(seen, [["Bearer svc-token-2"], ["Bearer svc-token-2"]]);

      const error = await rejection(scriptSession(broker, "ingest-bot", "wrong"));
      assert.equal(error.reason, "UPSTREAM_UNAVAILABLE");
      assert.equal(error.retryAfterSeconds, 2.5);
      assert.deepEqual(error.metadata, { site: "main" });
      assert.equal(error.message, "site down");
      // UNAVAILABLE on IssueScriptSession: tried the service config's 4 times.
      assert.equal(seen.length, 2 + 4);
    } finally {
      broker.close();
    }
  });

  test("without a client certificate the handshake is refused", async () => {
    const broker = connect(address, { caFile: certs.caFile, timeoutSeconds: 5 });
    try {
      const error = await rejection(scriptSession(broker, "ingest-bot", "k"));
      assert.equal(error.code, status.UNAVAILABLE);
      assert.equal(seen.length, 2 + 4); // refused at the handshake: nothing more reached the server
    } finally {
      broker.close();
    }
  });

  test("clientCert without clientKey is refused up front", () => {
    assert.throws(() => connect(address, { caFile: certs.caFile, clientCert: certs.clientCert }), /go together/);
  });
});
