// Run by `npm start` / `npm test` (prestart, pretest): makes sure the parent
// package credbroker-client (clients/node, linked as file:../..) has its own
// dependencies installed and is built (protoc + ts-proto code generation, tsc).
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const client = path.resolve(__dirname, "..", "..", "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const run = (...args) => execFileSync(npm, args, { cwd: client, stdio: ["ignore", "inherit", "inherit"] });

if (!fs.existsSync(path.join(client, "node_modules", ".bin", "tsc"))) {
  console.error(`Installing the dependencies of ${client}`);
  run("ci", "--no-audit", "--no-fund");
}
console.error(`Building ${client}`);
run("run", "--silent", "build");
