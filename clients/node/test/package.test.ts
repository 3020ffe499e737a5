// The package as npm would publish it: `npm pack` (dry run) holds the built
// library, its type declarations and the service config, and no tests; the
// `exports` (and `typesVersions`) entries resolve to files in it.
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
  // TypeScript's `node` (node10) resolution ignores `exports`: typesVersions maps the same subpaths.
  const subpaths = Object.keys(manifest.exports).filter((k) => k !== "." && !k.endsWith("package.json"));
  assert.deepEqual(Object.keys(manifest.typesVersions["*"]).map((k) => `./${k}`).sort(), subpaths.sort());
  for (const [subpath, [file]] of Object.entries(manifest.typesVersions["*"]) as Array<[string, string[]]>) {
    assert.equal(path.normalize(file), path.normalize(manifest.exports[`./${subpath}`].types));
  }
  // shotgun-nodejs only for "credbroker-client/shotgun": an optional peer, never installed for everyone.
  assert.equal(manifest.dependencies["shotgun-nodejs"], undefined);
  assert.equal(manifest.peerDependenciesMeta["shotgun-nodejs"].optional, true);
});
