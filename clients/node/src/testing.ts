// Test support (also used by examples/web-login's browser tests): RFC 6238
// TOTP codes, and the real broker and fake ShotGrid site started as processes
// on ports the OS picks, found through CREDBROKER_BROKER_BINARY and
// CREDBROKER_FAKE_SITE_BINARY, with node:test hooks that start and stop them.
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before } from "node:test";
import { Broker, ConnectOptions, connect } from "./broker";
import { BrokerError } from "./errors";

const REPO = path.resolve(__dirname, "..", "..", "..", "..");
export const BROKER_BINARY =
  process.env.CREDBROKER_BROKER_BINARY || path.join(REPO, "build", "broker", "credential-broker");
export const FAKE_SITE_BINARY =
  process.env.CREDBROKER_FAKE_SITE_BINARY || path.join(REPO, "build", "tests", "fake_shotgrid", "fake-shotgrid");

/** The fake site's users: login, password, base32 TOTP secret. */
export const USERS = {
  alice: { login: "alice", password: "alice-password-1", secret: "JBSWY3DPEHPK3PXP" },
  bob: { login: "bob", password: "bob-password-1", secret: "KRUGKIDCN5RCA43F" },
  carol: { login: "carol", password: "carol-password-1", secret: "MNQXE33MFVZWKY3S" },
  dave: { login: "dave", password: "dave-password-1", secret: "MRQXMZJNONSWG4TF" },
  erin: { login: "erin", password: "erin-password-1", secret: "MVZGS3RNONSWG4TF" },
  frank: { login: "frank", password: "frank-password-1", secret: "MZZGC3TLFVZWKY3S" },
  grace: { login: "grace", password: "grace-password-1", secret: "M5ZGCY3FFVZWKY3S" },
  heidi: { login: "heidi", password: "heidi-password-1", secret: "NBSWSZDJFVZWKY3S" },
} as const;

function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of text.replace(/=+$/, "").toUpperCase()) {
    const index = alphabet.indexOf(c);
    if (index < 0) throw new Error("not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 6 digits). */
export function totp(base32Secret: string, unixSeconds: number = Date.now() / 1000): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const digest = createHmac("sha1", base32Decode(base32Secret)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, "0");
}

async function waitForPort(file: string, child: ChildProcess, name: string): Promise<number> {
  for (let i = 0; i < 1500; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited early with ${child.exitCode}`);
    try {
      const text = fs.readFileSync(file, "utf8").trim();
      if (text) return Number(text);
    } catch {
      // not written yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${name} wrote no port file`);
}

function stopped(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));
}

export interface StartOptions {
  /** Extra YAML appended to the broker's configuration. */
  brokerConfig?: string;
  /** Listener TLS for the broker: PEM files. */
  tls?: { certFile: string; keyFile: string };
  /** Extra fake-site flags. */
  siteArgs?: string[];
}

/** What GET /_fake/stats answers (the fields the tests read). */
export interface SiteStats {
  requests: Record<string, number>;
  entity_reads: number;
  api3: { by_method_and_auth: Record<string, number> } & Record<string, unknown>;
  launcher: Record<"create" | "poll" | "approve" | "reject", number>;
}

/** A broker configuration that polls a browser login at the site every 100 ms (tests need not wait 2 s). */
export const FAST_BROWSER_LOGIN = "browser_login:\n  poll_interval_ms: 100\n";

/** A running fake site and broker. */
export class Stack {
  private constructor(
    readonly dir: string, readonly brokerAddress: string, readonly siteUrl: string,
    private readonly broker: ChildProcess, private readonly site: ChildProcess,
  ) {}

  static async start(options: StartOptions = {}): Promise<Stack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "credbroker-node-"));
    const site = spawn(FAKE_SITE_BINARY, ["--two-factor", "--quiet", "--listen", "127.0.0.1:0",
      "--port-file", path.join(dir, "site.port"), ...(options.siteArgs ?? [])], { stdio: "ignore" });
    let broker: ChildProcess | undefined;
    try {
      const sitePort = await waitForPort(path.join(dir, "site.port"), site, "fake-shotgrid");
      const siteUrl = `http://127.0.0.1:${sitePort}`;
      // No drain delay: the test stops the broker with SIGTERM and need not wait.
      let config = `listen: 127.0.0.1:0\nserver:\n  drain_seconds: 0\ndefault_site: main\nsites:\n  - name: main\n    url: ${siteUrl}\n`;
      if (options.tls) {
        config += `tls:\n  cert_file: ${options.tls.certFile}\n  key_file: ${options.tls.keyFile}\n`;
      }
      config += options.brokerConfig ?? "";
      fs.writeFileSync(path.join(dir, "broker.yaml"), config);
      const log = fs.openSync(path.join(dir, "broker.log"), "w");
      broker = spawn(BROKER_BINARY, ["--config", path.join(dir, "broker.yaml"),
        "--port-file", path.join(dir, "broker.port")], { stdio: ["ignore", "ignore", log] });
      fs.closeSync(log);
      const brokerPort = await waitForPort(path.join(dir, "broker.port"), broker, "credential-broker");
      return new Stack(dir, `127.0.0.1:${brokerPort}`, siteUrl, broker, site);
    } catch (error) {
      broker?.kill("SIGKILL");
      site.kill("SIGKILL");
      throw error;
    }
  }

  /** GET /_fake/stats: request counters by grant ("password", "refresh_token", ...). */
  async requests(): Promise<Record<string, number>> {
    return (await this.stats()).requests;
  }

  /** GET /_fake/stats, whole: token grants, entity reads, /api3/json calls, launcher events. */
  async stats(): Promise<SiteStats> {
    const answer = await fetch(`${this.siteUrl}/_fake/stats`);
    return (await answer.json()) as SiteStats;
  }

  /**
   * Decides a browser login at the site as the person would (approve as a
   * login, or reject). The site's request id is the last part of the
   * broker's approval URL.
   */
  async decideBrowserLogin(approvalUrl: string, decision: { approveAs: string } | { reject: true }): Promise<void> {
    const id = new URL(approvalUrl).pathname.split("/").pop();
    const body = "approveAs" in decision ? { approve_as: decision.approveAs } : { reject: true };
    const answer = await fetch(`${this.siteUrl}/_fake/app_session_request/${id}`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(`/_fake/app_session_request answered ${answer.status}`);
  }

  /** A session token minted by the site for a person or a script (POST /_fake/session_token). */
  async mintSessionToken(holder: { login: string } | { script: string }): Promise<string> {
    const answer = await fetch(`${this.siteUrl}/_fake/session_token`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(holder),
    });
    if (!answer.ok) throw new Error(`/_fake/session_token answered ${answer.status}`);
    return ((await answer.json()) as { session_token: string }).session_token;
  }

  /** POST /_fake/<what> with a JSON body (settings, clock, faults, reset). */
  async control(what: "settings" | "clock" | "faults" | "reset", body: object = {}): Promise<void> {
    const answer = await fetch(`${this.siteUrl}/_fake/${what}`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(`/_fake/${what} answered ${answer.status}`);
  }

  /** The broker's log (JSON lines on stderr). */
  brokerLog(): string {
    return fs.readFileSync(path.join(this.dir, "broker.log"), "utf8");
  }

  /** Stops both processes (the broker gracefully) and removes the work folder. */
  async stop(): Promise<void> {
    const brokerDone = stopped(this.broker);
    this.broker.kill("SIGTERM");
    const timer = setTimeout(() => this.broker.kill("SIGKILL"), 30_000);
    await brokerDone;
    clearTimeout(timer);
    const siteDone = stopped(this.site);
    this.site.kill("SIGKILL"); // its graceful stop waits out idle keep-alive connections
    await siteDone;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Registers, in the calling describe(), a Stack and a Broker connected to it
 * (with `connectOptions`); the returned object holds both once `before` has run.
 */
export function useStack(options: StartOptions = {}, connectOptions: ConnectOptions = {}): { stack: Stack; broker: Broker } {
  const world = {} as { stack: Stack; broker: Broker };
  before(async () => {
    world.stack = await Stack.start(options);
    world.broker = connect(world.stack.brokerAddress, connectOptions);
  });
  after(async () => {
    world.broker?.close();
    await world.stack?.stop();
  });
  return world;
}

/** A throwaway CA and a certificate for 127.0.0.1/localhost signed by it, plus a client
 *  certificate, made with the openssl command. */
export function makeCertificates(dir: string): {
  caFile: string; certFile: string; keyFile: string; clientCert: string; clientKey: string;
} {
  const f = (name: string) => path.join(dir, name);
  const run = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=credbroker test CA",
    "-keyout", f("ca.key"), "-out", f("ca.pem"));
  for (const [name, ext] of [
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"],
    ["client", "extendedKeyUsage=clientAuth"],
  ]) {
    fs.writeFileSync(f(`${name}.ext`), ext + "\n");
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name === "server" ? "localhost" : "web-backend"}`,
      "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`));
    run("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial",
      "-days", "2", "-extfile", f(`${name}.ext`), "-out", f(`${name}.pem`));
  }
  return {
    caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key"),
    clientCert: f("client.pem"), clientKey: f("client.key"),
  };
}

// The BrokerError a call failed with; fails the test if it succeeded or
// failed some other way.
export async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BrokerError, `not a BrokerError: ${error}`);
    return error;
  }
  assert.fail("the call succeeded");
}
