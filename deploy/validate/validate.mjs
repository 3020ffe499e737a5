// Offline schema validation of rendered credential-broker manifests, for
// deploy/check.sh. Usage: node validate.mjs FILE...   (multi-document YAML)
// Each object is validated against the OpenAPI schema of its apiVersion and
// kind: Kubernetes' own from `kubernetes-models`, cert-manager's and the
// Prometheus Operator's from their @kubernetes-models packages. An object of a
// kind with no schema here fails: nothing is skipped silently.
// Limit: these schemas accept fields they do not define (as the API server's
// non-strict mode does), so a misspelt optional field passes; deploy/check.sh
// asserts the fields that matter by name.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion -> module exporting one class per kind.
const modules = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "cert-manager.io/v1": "@kubernetes-models/cert-manager/cert-manager.io/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

let failures = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      console.log(`FAIL  ${file}: YAML: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    const { apiVersion, kind } = object;
    const name = `${kind}/${object.metadata?.name ?? "?"}`;
    const module = modules[apiVersion];
    const Model = module ? (await import(module))[kind] : undefined;
    if (!Model) {
      console.log(`FAIL  ${name}: no schema for ${apiVersion} ${kind} (add its module to deploy/validate/validate.mjs)`);
      failures++;
      continue;
    }
    checked++;
    try {
      new Model(object).validate();
      console.log(`ok    ${name} (${apiVersion}, schema from ${module.split("/").slice(0, module.startsWith("@") ? 2 : 1).join("/")})`);
    } catch (error) {
      failures++;
      const details = (error.errors ?? [{ instancePath: "", message: error.message }])
        .slice(0, 5)
        .map((e) => `${e.instancePath || "/"} ${e.message}`)
        .join("; ");
      console.log(`FAIL  ${name} (${apiVersion}): ${details}`);
    }
  }
}
console.log(`${checked} object(s) validated, ${failures} failure(s)`);
process.exit(failures > 0 ? 1 : 0);
