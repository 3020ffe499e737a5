// Example web backend: a person signs in to ShotGrid through the credential
// broker (password, then the two-factor code; or "Sign in with ShotGrid",
// approved in the browser, on sites that refuse passwords), and the backend
// lists their projects with the access token, refreshing it when it expires.
//
// Environment: BROKER_ADDR (host:port, required), PORT (default 3000; 0 picks
// one), SHOTGRID_URL (the site's REST base; default the site URL the broker
// answers with the session), HOST (default 127.0.0.1); optional
// BROKER_CA_FILE, BROKER_CLIENT_CERT, BROKER_CLIENT_KEY, BROKER_SERVICE_TOKEN
// for a TLS / mTLS broker.
//
// The password goes to the broker once and is then forgotten: the server-side
// session (in memory, keyed by a random HttpOnly SameSite=Strict cookie) holds
// only the challenge id (or the browser login's request id), then the tokens.
"use strict";
const crypto = require("node:crypto");
const path = require("node:path");
const express = require("express");
const { BrokerError, SessionTokenSource, beginBrowserLogin, connect, revoke } = require("credbroker-client");

const COOKIE = "sid";
const IDLE_MS = 30 * 60 * 1000;
/** How long one page load waits at the broker for the browser approval before the page asks again. */
const APPROVAL_WAIT_SECONDS = 20;

function log(event, fields = {}) {
  // Structured, and only ever with non-secret fields: no passwords, codes, tokens or cookies.
  console.log(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// ---------------------------------------------------------------- sessions

/** In-memory sessions: id -> { csrf, lastSeen, flash?, challenge?, user?, tokens? }. */
class SessionStore {
  constructor() {
    this.sessions = new Map();
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }
  create() {
    const id = crypto.randomBytes(32).toString("base64url");
    const session = { csrf: crypto.randomBytes(24).toString("base64url"), lastSeen: Date.now() };
    this.sessions.set(id, session);
    return { id, session };
  }
  get(id) {
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) return undefined;
    if (Date.now() - session.lastSeen > IDLE_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = Date.now();
    return session;
  }
  delete(id) {
    this.sessions.delete(id);
  }
  sweep() {
    const now = Date.now();
    for (const [id, session] of this.sessions) if (now - session.lastSeen > IDLE_MS) this.sessions.delete(id);
  }
}

function readCookie(req, name) {
  for (const part of (req.headers.cookie || "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

function setSessionCookie(req, res, id) {
  res.cookie(COOKIE, id, { httpOnly: true, sameSite: "strict", secure: req.secure, path: "/" });
}

// ---------------------------------------------------------------- pages

function page(title, body, { refreshTo } = {}) {
  // A meta refresh, not a script: the Content-Security-Policy allows none.
  const refresh = refreshTo ? `\n<meta http-equiv="refresh" content="1;url=${escapeHtml(refreshTo)}">` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${escapeHtml(title)} · ShotGrid sign-in</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<main class="card">
<header><span class="logo" aria-hidden="true">◆</span> ShotGrid sign-in</header>
${body}
</main>
</body>
</html>`;
}

function errorBox(message) {
  return message ? `<p id="error" class="error" role="alert">${escapeHtml(message)}</p>` : "";
}

/** The browser-approved sign-in: the only one on a site that refuses passwords. */
function browserLoginForm(csrf) {
  return `<form method="post" action="/browser-login">
  <input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
  <button id="browser-login" type="submit" class="secondary">Sign in with ShotGrid</button>
</form>`;
}

function loginPage({ csrf, error, username = "", passwordsRefused = false }) {
  if (passwordsRefused) {
    return page("Sign in", `
<h1>Sign in</h1>
${errorBox(error)}
<p class="hint">You sign in on the ShotGrid site's own page and approve this app there, then come
back here signed in.</p>
${browserLoginForm(csrf)}`);
  }
  return page("Sign in", `
<h1>Sign in</h1>
${errorBox(error)}
<form method="post" action="/login" autocomplete="on">
  <input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" required maxlength="256"
         value="${escapeHtml(username)}" ${username ? "" : "autofocus"}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required
         maxlength="1024" ${username ? "autofocus" : ""}>
  <button id="login" type="submit">Sign in</button>
</form>
<p class="or">or</p>
${browserLoginForm(csrf)}`);
}

function approvalPage({ approvalUrl, expireTime }) {
  const within = expireTime ? ` within ${minutes((expireTime.getTime() - Date.now()) / 1000)}` : "";
  return page("Approve in ShotGrid", `
<h1>Approve in ShotGrid</h1>
<p class="hint">Open ShotGrid, sign in there if it asks, and approve this app${within}. This page
goes on by itself once you have.</p>
<p><a id="approval-link" class="button" href="${escapeHtml(approvalUrl)}" target="_blank" rel="noopener noreferrer">Open ShotGrid to approve</a></p>
<p class="small"><span class="waiting">Waiting for your approval…</span> ·
  <a href="/cancel" id="cancel">Start again</a></p>`, { refreshTo: "/browser-login/wait" });
}

function verifyPage({ csrf, error, username, attemptsLeft }) {
  return page("Two-factor code", `
<h1>Two-factor code</h1>
<p class="hint">Enter the 6-digit code from the authenticator app for <strong>${escapeHtml(username)}</strong>,
or one of your backup codes.</p>
${errorBox(error)}
<form method="post" action="/verify" autocomplete="off">
  <input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
  <label for="code">Code</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required
         maxlength="64" autofocus>
  <button id="verify" type="submit">Verify</button>
</form>
<p class="small">${attemptsLeft} ${attemptsLeft === 1 ? "attempt" : "attempts"} left ·
  <a href="/cancel" id="cancel">Start again</a></p>`);
}

function projectsPage({ csrf, user, projects, error }) {
  const items = projects.map((p) => `<li>${escapeHtml(p)}</li>`).join("\n");
  return page("Projects", `
<div class="who">Signed in as <strong id="user">${escapeHtml(user)}</strong>
  <form method="post" action="/logout" class="inline">
    <input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
    <button id="logout" type="submit" class="link">Sign out</button>
  </form>
</div>
<h1>Projects</h1>
${errorBox(error)}
${projects.length ? `<ul id="projects" class="projects">\n${items}\n</ul>` : `<p id="projects" class="hint">No projects.</p>`}`);
}

function minutes(seconds) {
  const m = Math.max(1, Math.ceil((seconds || 60) / 60));
  return `${m} minute${m === 1 ? "" : "s"}`;
}

/** What to tell the person for a broker failure outside the expected ones. */
function generalMessage(error) {
  if (error instanceof BrokerError) {
    switch (error.reason) {
      case "TOO_MANY_ATTEMPTS":
        return `Too many failed attempts. Try again in ${minutes(error.retryAfterSeconds)}.`;
      case "SSO_REQUIRED":
        return "This site uses single sign-on: use Sign in with ShotGrid.";
      case "INVALID_REQUEST":
        return "Please check what you entered and try again.";
      case "UPSTREAM_UNAVAILABLE":
      case "UPSTREAM_PROTOCOL_ERROR":
      case "STORE_UNAVAILABLE":
        return "ShotGrid cannot be reached right now. Please try again shortly.";
      default:
        if (error.retryable) return "The sign-in service is unavailable. Please try again shortly.";
    }
  }
  return "Something went wrong. Please try again.";
}

// ---------------------------------------------------------------- the app

/**
 * The Express app. `broker` is a credbroker-client Broker, `shotgridUrl` the
 * site whose REST API the access tokens are for (default: the site URL the
 * broker answers with each session).
 */
function createApp({ broker, shotgridUrl = "", tokenMarginSeconds = 60 }) {
  const app = express();
  const store = new SessionStore();
  // Set once the site has answered SSO_REQUIRED: the page then offers only the browser sign-in.
  let passwordsRefused = false;
  app.disable("x-powered-by");
  app.set("trust proxy", false);

  app.use((req, res, next) => {
    res.set({
      "Cache-Control": "no-store",
      Pragma: "no-cache",
      "X-Content-Type-Options": "nosniff",
      "X-Frame-Options": "DENY",
      "Referrer-Policy": "no-referrer",
      "Content-Security-Policy":
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    });
    next();
  });
  app.use("/static", express.static(path.join(__dirname, "public"), { index: false, maxAge: "1h",
    setHeaders: (res) => res.set("Cache-Control", "public, max-age=3600") }));
  app.use(express.urlencoded({ extended: false, limit: "8kb" }));

  // Every visitor has a session (for the CSRF token); sessions are found by cookie only.
  app.use((req, res, next) => {
    const id = readCookie(req, COOKIE);
    let session = store.get(id);
    if (session) {
      req.sessionId = id;
    } else {
      const created = store.create();
      session = created.session;
      req.sessionId = created.id;
      setSessionCookie(req, res, created.id);
    }
    req.session = session;
    next();
  });

  const checkCsrf = (req, res, next) => {
    const sent = typeof req.body?.csrf === "string" ? Buffer.from(req.body.csrf) : Buffer.alloc(0);
    const expected = Buffer.from(req.session.csrf);
    if (sent.length !== expected.length || !crypto.timingSafeEqual(sent, expected)) {
      log("csrf_rejected", { path: req.path });
      res.status(403).send(page("Expired form", `<h1>This form has expired</h1>
<p id="error" class="error">Please <a href="/">start again</a>.</p>`));
      return;
    }
    next();
  };

  /** A fresh session id once the person is signed in (no session fixation). */
  const rotate = (req, res) => {
    const { id, session } = store.create();
    Object.assign(session, req.session, { csrf: session.csrf, lastSeen: Date.now() });
    store.delete(req.sessionId);
    req.sessionId = id;
    req.session = session;
    setSessionCookie(req, res, id);
  };

  const backToStart = (req, res, message) => {
    delete req.session.challenge;
    delete req.session.browserLogin;
    req.session.flash = message;
    res.redirect(303, "/");
  };

  const signedIn = (req, res, session) => {
    req.session.user = session.principal?.userLogin || req.session.challenge?.username || "";
    delete req.session.challenge;
    req.session.tokens = new SessionTokenSource(broker, session, { marginSeconds: tokenMarginSeconds });
    rotate(req, res);
    log("login_succeeded", { user: req.session.user });
    res.redirect(303, "/projects");
  };

  const clientInfo = (req) => ({ address: req.socket.remoteAddress || "", userAgent: req.get("user-agent") || "" });

  app.get("/", (req, res) => {
    if (req.session.tokens) return res.redirect(303, "/projects");
    if (req.session.challenge) return res.redirect(303, "/verify");
    if (req.session.browserLogin) return res.redirect(303, "/browser-login");
    const message = req.session.flash;
    delete req.session.flash;
    res.send(loginPage({ csrf: req.session.csrf, error: message, passwordsRefused }));
  });

  app.post("/login", checkCsrf, async (req, res) => {
    const username = typeof req.body.username === "string" ? req.body.username.trim() : "";
    const password = typeof req.body.password === "string" ? req.body.password : "";
    if (!username || !password) {
      res.status(400).send(loginPage({ csrf: req.session.csrf, username, error: "Enter your username and password." }));
      return;
    }
    let result;
    try {
      result = await broker.beginLogin({ username, password, client: clientInfo(req) });
    } catch (error) {
      const reason = error instanceof BrokerError ? error.reason : "";
      log("login_failed", { user: username, reason });
      if (reason === "SSO_REQUIRED") passwordsRefused = true;
      const message = reason === "INVALID_CREDENTIALS" ? "Wrong username or password." : generalMessage(error);
      res.status(reason === "INVALID_CREDENTIALS" ? 401 : 400)
        .send(loginPage({ csrf: req.session.csrf, username, error: message, passwordsRefused }));
      return;
    }
    if (result.session) return signedIn(req, res, result.session);
    const { challengeId, attemptsLeft, expireTime } = result.challenge;
    req.session.challenge = { id: challengeId, attemptsLeft, expireTime, username };
    log("login_challenged", { user: username });
    res.redirect(303, "/verify");
  });

  app.get("/verify", (req, res) => {
    const challenge = req.session.challenge;
    if (!challenge) return res.redirect(303, "/");
    res.send(verifyPage({ csrf: req.session.csrf, username: challenge.username, attemptsLeft: challenge.attemptsLeft }));
  });

  app.post("/verify", checkCsrf, async (req, res) => {
    const challenge = req.session.challenge;
    if (!challenge) return backToStart(req, res, "Your sign-in expired. Please sign in again.");
    const code = typeof req.body.code === "string" ? req.body.code.replace(/\s+/g, "") : "";
    const again = (status, error) => res.status(status).send(verifyPage({
      csrf: req.session.csrf, username: challenge.username, attemptsLeft: challenge.attemptsLeft, error }));
    if (!code) return again(400, "Enter the code.");
    try {
      const result = await broker.submitSecondFactor({ challengeId: challenge.id, code, client: clientInfo(req) });
      return signedIn(req, res, result.session);
    } catch (error) {
      const reason = error instanceof BrokerError ? error.reason : "";
      log("second_factor_failed", { user: challenge.username, reason });
      if (reason === "INVALID_SECOND_FACTOR" && error.attemptsLeft > 0) {
        challenge.attemptsLeft = error.attemptsLeft;
        const n = error.attemptsLeft;
        return again(401, `That code is not right. ${n} ${n === 1 ? "attempt" : "attempts"} left.`);
      }
      if (reason === "INVALID_SECOND_FACTOR") {
        return backToStart(req, res, "Too many wrong codes. Please sign in again.");
      }
      if (reason === "CHALLENGE_NOT_FOUND") {
        return backToStart(req, res, "Your sign-in expired or was already used. Please sign in again.");
      }
      if (reason === "CHALLENGE_BUSY") return again(409, "Still checking your previous code. Please wait a moment.");
      if (reason === "TOO_MANY_ATTEMPTS") return backToStart(req, res, generalMessage(error));
      return again(503, generalMessage(error));
    }
  });

  // Sign in with ShotGrid: the broker starts a request the person approves at the site.
  app.post("/browser-login", checkCsrf, async (req, res) => {
    let challenge;
    try {
      // The approval page names the app and the machine: this site's name tells the person who asks.
      challenge = await beginBrowserLogin(broker, { appName: "ShotGrid sign-in (web)", machineId: req.hostname });
    } catch (error) {
      log("browser_login_failed", { reason: error instanceof BrokerError ? error.reason : "" });
      return res.status(503).send(loginPage({ csrf: req.session.csrf, error: generalMessage(error), passwordsRefused }));
    }
    delete req.session.challenge;
    const { requestId, approvalUrl, expireTime } = challenge;
    req.session.browserLogin = { requestId, approvalUrl, expireTime };
    log("browser_login_started");
    res.redirect(303, "/browser-login");
  });

  app.get("/browser-login", (req, res) => {
    const pending = req.session.browserLogin;
    if (!pending) return res.redirect(303, "/");
    res.send(approvalPage(pending));
  });

  // Loaded by the approval page's refresh: waits at the broker, then signs in or shows the page again.
  app.get("/browser-login/wait", async (req, res) => {
    const pending = req.session.browserLogin;
    if (!pending) return res.redirect(303, "/");
    // The person may leave meanwhile: stop the broker's wait with the request.
    const gone = new AbortController();
    res.on("close", () => gone.abort());
    try {
      const session = await broker.completeBrowserLogin(
        { requestId: pending.requestId, wait: { seconds: APPROVAL_WAIT_SECONDS, nanos: 0 } }, { signal: gone.signal });
      if (req.session.browserLogin !== pending) return res.redirect(303, "/");
      delete req.session.browserLogin;
      return signedIn(req, res, session);
    } catch (error) {
      if (gone.signal.aborted) return;
      const reason = error instanceof BrokerError ? error.reason : "";
      if (reason === "APPROVAL_PENDING") return res.send(approvalPage(pending));
      log("browser_login_failed", { reason });
      if (reason === "CHALLENGE_NOT_FOUND") {
        return backToStart(req, res, "The sign-in was declined in ShotGrid or has expired. Please sign in again.");
      }
      return backToStart(req, res, generalMessage(error));
    }
  });

  app.get("/cancel", (req, res) => {
    delete req.session.challenge;
    delete req.session.browserLogin;
    res.redirect(303, "/");
  });

  /** GET the site's projects with the person's access token; on a 401, refresh once and retry. */
  async function fetchProjects(tokens) {
    const site = shotgridUrl || tokens.siteUrl;
    if (!site) throw new Error("set SHOTGRID_URL: the broker named no site URL");
    let token = await tokens.accessToken();
    for (let attempt = 0; ; attempt++) {
      const answer = await fetch(`${site}/api/v1/entity/projects`, {
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      });
      if (answer.status === 401 && attempt === 0) {
        log("access_token_rejected");
        token = await tokens.forceRefresh(token);
        continue;
      }
      if (!answer.ok) throw new Error(`ShotGrid answered ${answer.status}`);
      const body = await answer.json();
      return (body.data || []).map((p) => p.attributes?.name ?? `Project ${p.id}`);
    }
  }

  app.get("/projects", async (req, res) => {
    const tokens = req.session.tokens;
    if (!tokens) return res.redirect(303, "/");
    let projects = [];
    let error;
    try {
      projects = await fetchProjects(tokens);
    } catch (failure) {
      if (failure instanceof BrokerError && failure.is("REFRESH_TOKEN_INVALID")) {
        log("session_ended", { user: req.session.user });
        store.delete(req.sessionId);
        const { id, session } = store.create();
        session.flash = "Your ShotGrid session ended. Please sign in again.";
        setSessionCookie(req, res, id);
        return res.redirect(303, "/");
      }
      log("projects_failed", { user: req.session.user, reason: failure instanceof BrokerError ? failure.reason : "" });
      error = failure instanceof BrokerError ? generalMessage(failure) : "ShotGrid cannot be reached right now.";
    }
    res.send(projectsPage({ csrf: req.session.csrf, user: req.session.user, projects, error }));
  });

  app.post("/logout", checkCsrf, async (req, res) => {
    const tokens = req.session.tokens;
    store.delete(req.sessionId);
    res.clearCookie(COOKIE, { path: "/" });
    if (tokens) {
      try {
        await revoke(broker, tokens.refreshToken, { site: tokens.session.site });
      } catch (error) {
        log("revoke_failed", { reason: error instanceof BrokerError ? error.reason : "" });
      }
    }
    res.redirect(303, "/");
  });

  app.use((err, req, res, _next) => {
    log("error", { path: req.path, message: err instanceof BrokerError ? err.reason : err.name });
    res.status(err.status === 413 ? 413 : 500).send(page("Error", `<h1>Something went wrong</h1>
<p id="error" class="error">Please <a href="/">start again</a>.</p>`));
  });

  return app;
}

function main() {
  const brokerAddr = process.env.BROKER_ADDR;
  const shotgridUrl = (process.env.SHOTGRID_URL || "").replace(/\/+$/, "");
  if (!brokerAddr) {
    console.error("Set BROKER_ADDR (host:port of the credential broker) and, optionally, SHOTGRID_URL (the ShotGrid site).");
    process.exit(2);
  }
  const broker = connect(brokerAddr, {
    caFile: process.env.BROKER_CA_FILE || undefined,
    clientCert: process.env.BROKER_CLIENT_CERT || undefined,
    clientKey: process.env.BROKER_CLIENT_KEY || undefined,
    serviceToken: process.env.BROKER_SERVICE_TOKEN || undefined,
  });
  const app = createApp({ broker, shotgridUrl });
  const port = process.env.PORT === undefined ? 3000 : Number(process.env.PORT);
  const host = process.env.HOST || "127.0.0.1";
  const server = app.listen(port, host, () => {
    const { port: actual } = server.address();
    log("listening", { url: `http://${host}:${actual}` });
  });
  const stop = () => {
    server.close(() => {
      broker.close();
      process.exit(0);
    });
    server.closeAllConnections?.();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (require.main === module) main();

module.exports = { createApp };
