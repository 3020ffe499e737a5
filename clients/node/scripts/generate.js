// Generates the TypeScript messages and grpc-js client for credbroker.v1 from
// ../../proto with protoc and the ts-proto plugin into src/generated/ (gitignored).
// Files whose content did not change are left alone, so a concurrent tsc
// never sees a half-written tree.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const out = path.join(root, "src", "generated");
const plugin = path.join(root, "node_modules", ".bin",
  process.platform === "win32" ? "protoc-gen-ts_proto.cmd" : "protoc-gen-ts_proto");

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "credbroker-ts-proto-"));
try {
  execFileSync("protoc", [
    `--plugin=protoc-gen-ts_proto=${plugin}`,
    `--ts_proto_out=${scratch}`,
    "--ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,useDate=true,forceLong=number",
    "-I", path.resolve(root, "..", "..", "proto"),
    "-I", "/usr/include",
    "credbroker/v1/broker.proto",
  ], { stdio: "inherit" });

  const wanted = new Set();
  const copy = (relative) => {
    const from = path.join(scratch, relative);
    if (fs.statSync(from).isDirectory()) {
      for (const name of fs.readdirSync(from)) copy(path.join(relative, name));
      return;
    }
    wanted.add(relative);
    const to = path.join(out, relative);
    const text = fs.readFileSync(from);
    if (fs.existsSync(to) && fs.readFileSync(to).equals(text)) return;
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(`${to}.tmp`, text);
    fs.renameSync(`${to}.tmp`, to);
  };
  copy(".");
  const prune = (relative) => {
    const at = path.join(out, relative);
    if (!fs.existsSync(at)) return;
    if (fs.statSync(at).isDirectory()) {
      for (const name of fs.readdirSync(at)) prune(path.join(relative, name));
    } else if (!wanted.has(relative)) {
      fs.rmSync(at);
    }
  };
  prune(".");
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
