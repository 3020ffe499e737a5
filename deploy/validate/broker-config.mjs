// Prints broker.yaml as rendered into the ConfigMap credential-broker-config-*
// of a rendered overlay, so deploy/check.sh can start the real broker on it.
// Usage: node broker-config.mjs RENDERED.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const objects = parseAllDocuments(readFileSync(process.argv[2], "utf8")).map((d) => d.toJS()).filter(Boolean);
const configMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("credential-broker-config"));
if (!configMap?.data?.["broker.yaml"]) {
  console.error("no ConfigMap credential-broker-config-* with a broker.yaml key");
  process.exit(1);
}
process.stdout.write(configMap.data["broker.yaml"]);
