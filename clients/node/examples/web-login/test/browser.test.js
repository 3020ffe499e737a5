// Browser tests of the web login example: Debian's Chromium, driven by
// playwright-core, against `node server.js` talking to the real broker and
// fake ShotGrid site: password and two-factor code on a password site, and
// "Sign in with ShotGrid" approved in the site's page on an SSO site.
// Screenshots of every page land in $CREDBROKER_ARTIFACTS_DIR (default:
// test-artifacts/ beside this folder).
"use strict";
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");
const { FAST_BROWSER_LOGIN, Stack, USERS, totp } = require("credbroker-client/testing");

const EXAMPLE = path.resolve(__dirname, "..");
const ARTIFACTS = process.env.CREDBROKER_ARTIFACTS_DIR || path.join(EXAMPLE, "test-artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/**
 * Starts `node server.js` on a port the OS picks; resolves with its URL and
 * output. `{ siteUrl: false }`: no SHOTGRID_URL, the site URL comes from the broker.
 */
async function startServer(stack, { siteUrl = true } = {}) {
  const env = { ...process.env, BROKER_ADDR: stack.brokerAddress, PORT: "0" };
  if (siteUrl) env.SHOTGRID_URL = stack.siteUrl;
  else delete env.SHOTGRID_URL;
  const child = spawn(process.execPath, [path.join(EXAMPLE, "server.js")], {
    cwd: EXAMPLE, env, stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { text: "" };
  child.stderr.on("data", (chunk) => (output.text += chunk));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output.text}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${output.text}`)));
    child.stdout.on("data", (chunk) => {
      output.text += chunk;
      const match = /"event":"listening","url":"([^"]+)"/.exec(output.text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  return { child, url, output };
}

async function stopServer(server) {
  if (server && server.child.exitCode === null) {
    const done = new Promise((resolve) => server.child.once("exit", resolve));
    server.child.kill("SIGTERM");
    await done;
  }
}

/** Chromium with a throwaway profile. */
async function launchChromium() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "credbroker-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
    viewport: { width: 900, height: 700 },
  });
  return { context, profile };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Registers, in the calling describe(), a fake site and broker, the example's
 * server and Chromium; the returned object holds them once `before` has run.
 */
function useWorld(stackOptions = {}, serverOptions = {}) {
  let profile;
  const world = {
    /** A fresh page with no cookies, so each test starts signed out. */
    async freshPage() {
      await world.context.clearCookies();
      return world.context.newPage();
    },
  };
  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    world.stack = await Stack.start(stackOptions);
    world.server = await startServer(world.stack, serverOptions);
    ({ context: world.context, profile } = await launchChromium());
  });
  after(async () => {
    await world.context?.close();
    await stopServer(world.server);
    await world.stack?.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });
  return world;
}

describe("web login example in Chromium", () => {
  const world = useWorld();

  async function signIn(page, user, password) {
    await page.goto(world.server.url);
    await page.fill("#username", user);
    await page.fill("#password", password);
    await page.click("#login");
  }

  test("happy path: password, TOTP code, then the projects", async () => {
    const page = await world.freshPage();
    const first = await page.goto(world.server.url);
    assert.equal(first.headers()["cache-control"], "no-store");
    await page.fill("#username", USERS.alice.login);
    await shot(page, "01-login");
    await page.fill("#password", USERS.alice.password);
    await page.click("#login");

    await page.waitForSelector("#code");
    assert.ok(page.url().endsWith("/verify"));
    assert.ok(!(await page.content()).includes(USERS.alice.password), "the password came back to the browser");
    await shot(page, "02-verify");
    await page.fill("#code", totp(USERS.alice.secret));
    await page.click("#verify");

    await page.waitForSelector("#projects");
    assert.ok(page.url().endsWith("/projects"));
    assert.equal(await page.textContent("#user"), "alice");
    const projects = await page.$$eval("#projects li", (items) => items.map((li) => li.textContent));
    assert.ok(projects.includes("Feature Film A"), JSON.stringify(projects));
    await shot(page, "03-projects");

    const cookies = await world.context.cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0].name, "sid");
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(cookies[0].sameSite, "Strict");
    assert.ok(!cookies[0].value.includes(USERS.alice.password));
    assert.ok(!world.server.output.text.includes(USERS.alice.password), "the password reached the server's log");

    // Signing out revokes the refresh token and forgets the session.
    await page.click("#logout");
    await page.waitForSelector("#login");
    await page.goto(`${world.server.url}/projects`);
    await page.waitForSelector("#login");
    await page.close();
  });

  test("the projects page refreshes the access token before and when it expires", async () => {
    const page = await world.freshPage();
    const base = (await world.stack.requests()).refresh_token;
    const refreshes = async () => (await world.stack.requests()).refresh_token - base;
    // Tokens that live 30 s are within the 60 s margin: refreshed before each use.
    await world.stack.control("settings", { token_lifetime: 30 });
    try {
      await signIn(page, USERS.heidi.login, USERS.heidi.password);
      await page.fill("#code", totp(USERS.heidi.secret));
      await page.click("#verify");
      await page.waitForSelector("#projects li");
      assert.equal(await refreshes(), 1);
      await page.reload();
      await page.waitForSelector("#projects li");
      assert.equal(await refreshes(), 2);
    } finally {
      await world.stack.control("settings", { token_lifetime: 600 });
    }
    await page.reload(); // refreshed once more, now to a 600 s token
    await page.waitForSelector("#projects li");
    assert.equal(await refreshes(), 3);

    // The site's clock moves past the token's life: the site answers 401, the backend refreshes once.
    await world.stack.control("clock", { offset_seconds: 4000 });
    try {
      await page.reload();
      await page.waitForSelector("#projects li");
      assert.equal(await page.textContent("#user"), "heidi");
      assert.equal(await refreshes(), 4);
      await page.reload();
      await page.waitForSelector("#projects li");
      assert.equal(await refreshes(), 4);
    } finally {
      await world.stack.control("clock", { offset_seconds: 0 });
    }
    await page.close();
  });

  test("a wrong code shows the attempts left", async () => {
    const page = await world.freshPage();
    await signIn(page, USERS.bob.login, USERS.bob.password);
    await page.waitForSelector("#code");
    await page.fill("#code", "000000");
    await page.click("#verify");
    await page.waitForSelector("#error");
    assert.match(await page.textContent("#error"), /4 attempts left/);
    assert.ok(page.url().endsWith("/verify"));
    await shot(page, "04-wrong-code");
    await page.close();
  });

  test("a wrong password shows an error and keeps no password", async () => {
    const page = await world.freshPage();
    await signIn(page, USERS.carol.login, "not-her-password");
    await page.waitForSelector("#error");
    assert.equal(await page.textContent("#error"), "Wrong username or password.");
    assert.equal(await page.inputValue("#username"), "carol");
    assert.equal(await page.inputValue("#password"), "");
    assert.ok(!(await page.content()).includes("not-her-password"));
    await shot(page, "05-wrong-password");
    await page.close();
  });

  test("five wrong codes send the person back to the start", async () => {
    const page = await world.freshPage();
    await signIn(page, USERS.dave.login, USERS.dave.password);
    for (let i = 0; i < 5; i++) {
      await page.waitForSelector("#code");
      await page.fill("#code", "000000");
      await page.click("#verify");
      await page.waitForSelector("#error");
    }
    await page.waitForSelector("#login");
    assert.equal(new URL(page.url()).pathname, "/");
    assert.match(await page.textContent("#error"), /sign in again/i);
    await shot(page, "06-attempts-exhausted");
    await page.close();
  });

  test("an expired challenge sends the person back to the start", async () => {
    // A broker whose challenges live 1 s, with its own site and backend.
    const shortStack = await Stack.start({ brokerConfig: "challenge:\n  lifetime_seconds: 1\n" });
    const shortServer = await startServer(shortStack);
    try {
      const page = await world.freshPage();
      await page.goto(shortServer.url);
      await page.fill("#username", USERS.erin.login);
      await page.fill("#password", USERS.erin.password);
      await page.click("#login");
      await page.waitForSelector("#code");
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await page.fill("#code", totp(USERS.erin.secret));
      await page.click("#verify");
      await page.waitForSelector("#login");
      assert.equal(new URL(page.url()).pathname, "/");
      assert.match(await page.textContent("#error"), /expired or was already used/);
      await shot(page, "07-challenge-expired");
      await page.close();
    } finally {
      await stopServer(shortServer);
      await shortStack.stop();
    }
  });
});

describe("Sign in with ShotGrid on a site that refuses passwords, in Chromium", () => {
  // No SHOTGRID_URL: the projects' site comes from the broker's session.
  const world = useWorld({ siteArgs: ["--auth-mode", "sso"], brokerConfig: FAST_BROWSER_LOGIN }, { siteUrl: false });

  /** Clicks the approval link; resolves with the site's approval page the browser opened beside. */
  async function openApproval(page) {
    await page.waitForSelector("#approval-link");
    const [approval] = await Promise.all([world.context.waitForEvent("page"), page.click("#approval-link")]);
    await approval.waitForSelector("#approve");
    return approval;
  }

  test("a password is refused; the person approves in ShotGrid and the page ends signed in", async () => {
    const base = await world.stack.stats();
    const page = await world.freshPage();
    await page.goto(world.server.url);
    await page.fill("#username", USERS.alice.login);
    await page.fill("#password", USERS.alice.password);
    await page.click("#login");
    await page.waitForSelector("#error");
    assert.match(await page.textContent("#error"), /single sign-on/);
    assert.equal(await page.locator("#password").count(), 0, "the password form is still offered");
    await shot(page, "10-sso-password-refused");

    await page.click("#browser-login");
    const approval = await openApproval(page);
    assert.ok(page.url().endsWith("/browser-login") || page.url().endsWith("/browser-login/wait"), page.url());
    await shot(page, "11-sso-waiting-for-approval");
    assert.equal(await approval.textContent("#app-name"), "ShotGrid sign-in (web)");
    assert.equal(await approval.textContent("#machine-id"), "127.0.0.1");
    await approval.fill("#login", USERS.alice.login);
    await approval.fill("#password", USERS.alice.password);
    await shot(approval, "12-sso-approval-page");
    await approval.click("#approve");
    await approval.waitForSelector("#result");
    assert.match(await approval.textContent("#result"), /Approved/);
    await approval.close();

    await page.waitForSelector("#projects li", { timeout: 30_000 });
    assert.ok(page.url().endsWith("/projects"));
    assert.equal(await page.textContent("#user"), "alice");
    const projects = await page.$$eval("#projects li", (items) => items.map((li) => li.textContent));
    assert.deepEqual(projects, ["Feature Film A", "Commercial B"]);
    await shot(page, "13-sso-projects");
    assert.ok(!world.server.output.text.includes(USERS.alice.password), "the password reached the server's log");

    const now = await world.stack.stats();
    assert.equal(now.launcher.create - base.launcher.create, 1);
    assert.equal(now.launcher.approve - base.launcher.approve, 1);
    assert.equal(now.requests.session_token - base.requests.session_token, 1); // the broker's exchange
    assert.equal(now.requests.password - base.requests.password, 1); // the refused attempt only

    // Later visitors see only the browser sign-in.
    await world.context.clearCookies();
    await page.goto(world.server.url);
    await page.waitForSelector("#browser-login");
    assert.equal(await page.locator("#password").count(), 0);
    await page.close();
  });

  test("an approval declined in ShotGrid sends the person back to the start", async () => {
    const page = await world.freshPage();
    await page.goto(world.server.url);
    await page.click("#browser-login");
    const approval = await openApproval(page);
    await approval.click("#reject");
    await approval.waitForSelector("#result");
    await approval.close();
    await page.waitForSelector("#browser-login", { timeout: 30_000 });
    assert.equal(new URL(page.url()).pathname, "/");
    assert.match(await page.textContent("#error"), /declined in ShotGrid or has expired/);
    await shot(page, "14-sso-declined");
    await page.close();
  });
});
