// The package as npm would publish it: `npm pack` (dry run) holds the built
// library, its type declarations and the service config, and no tests; the
// `exports` entries resolve to files in it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";

const root = path.resolve(__dirname, "..", "..");

test("npm pack holds the built library, its types and the service config, and no tests", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
  const files = new Set<string>(JSON.parse(out)[0].files.map((f: { path: string }) => f.path));
  for (const wanted of ["package.json", "README.md", "dist/src/index.js", "dist/src/index.d.ts",
    "dist/src/testing.js", "dist/src/generated/service_config.js", "dist/src/generated/credbroker/v1/broker.js"]) {
    assert.ok(files.has(wanted), `${wanted} missing from the package`);
  }
  assert.deepEqual([...files].filter((f) => f.startsWith("dist/test/") || f.startsWith("src/")), []);
  const manifest = require(path.join(root, "package.json"));
  assert.equal(manifest.private, undefined);
  assert.equal(manifest.scripts.prepare, "npm run build");
  for (const entry of Object.values(manifest.exports) as Array<string | { types: string; default: string }>) {
    for (const file of typeof entry === "string" ? [entry] : [entry.types, entry.default]) {
      assert.ok(files.has(path.normalize(file)), `exports names ${file}, which is not in the package`);
    }
  }
});
