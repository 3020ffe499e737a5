// Properties the rendered credential-broker manifests must keep, for
// deploy/check.sh. Usage: node properties.mjs single|ha RENDERED.yaml
// Prints one "ok"/"FAIL" line per property; exits 1 on any failure.
import { readFileSync } from "node:fs";
import { parseAllDocuments, parse } from "yaml";

// The alerts' runbook anchors and the metric names they use must exist in the
// runbook itself, so a renamed heading or metric cannot leave a dead link.
const operationsDoc = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
const anchor = (heading) => heading.trim().toLowerCase().replace(/[^a-z0-9 _-]/g, "").replace(/ /g, "-");
const runbookAnchors = new Set([...operationsDoc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => anchor(m[1])));
const documentedMetrics = new Set([...operationsDoc.matchAll(/^\| `((?:credbroker|grpc_server)_[a-z_]+)`/gm)].map((m) => m[1]));

const [overlay, file] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const objects = parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);
const find = (kind, name) => objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const all = (kind) => objects.filter((o) => o.kind === kind);

let failures = 0;
const check = (what, predicate) => {
  let ok = false;
  try { ok = Boolean(predicate()); } catch { ok = false; }
  console.log(`${ok ? "ok  " : "FAIL"}  [${overlay}] ${what}`);
  if (!ok) failures++;
};

const deployment = find("Deployment", "credential-broker");
const pod = deployment?.spec?.template?.spec ?? {};
const broker = (pod.containers ?? []).find((c) => c.name === "broker") ?? {};
const configMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("credential-broker-config"));
const config = parse(configMap?.data?.["broker.yaml"] ?? "{}") ?? {};
const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
const mounts = Object.fromEntries((broker.volumeMounts ?? []).map((m) => [m.mountPath, m]));
const secretVolume = (secret) => Object.values(volumes).find((v) => v.secret?.secretName === secret);
const mountedSecret = (secret, path) => {
  const volume = secretVolume(secret);
  return volume && mounts[path]?.name === volume.name && mounts[path].readOnly === true;
};
const sameLabels = (a, b) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
const clientLabel = { "credbroker-client": "true" };

// Restricted Pod Security profile, resources, lifecycle.
const sc = broker.securityContext ?? {};
check("restricted Pod Security: runAsNonRoot (pod and container), seccomp RuntimeDefault",
  () => pod.securityContext.runAsNonRoot === true && sc.runAsNonRoot !== false &&
        (pod.securityContext.seccompProfile?.type === "RuntimeDefault" || sc.seccompProfile?.type === "RuntimeDefault"));
check("restricted Pod Security: all capabilities dropped, no privilege escalation, read-only root filesystem",
  () => sc.capabilities.drop.includes("ALL") && !(sc.capabilities.add ?? []).length &&
        sc.allowPrivilegeEscalation === false && sc.readOnlyRootFilesystem === true);
check("restricted Pod Security: only configMap, secret and emptyDir volumes; no host namespaces or ports",
  () => Object.values(volumes).every((v) => v.configMap || v.secret || v.emptyDir || v.projected) &&
        !pod.hostNetwork && !pod.hostPID && !pod.hostIPC && (broker.ports ?? []).every((p) => !p.hostPort));
check("resources: CPU and memory requests and limits",
  () => broker.resources.requests.cpu && broker.resources.requests.memory &&
        broker.resources.limits.cpu && broker.resources.limits.memory);
check("no service account token mounted", () => pod.automountServiceAccountToken === false);

// Defaults as the broker applies them when broker.yaml leaves the key out.
const preStop = broker.lifecycle?.preStop?.sleep?.seconds ?? 0;
const drain = config.server?.drain_seconds ?? 5;
const shutdownGrace = config.server?.shutdown_grace_seconds ?? 20;
check(`preStop sleeps (${preStop} s) before SIGTERM`, () => preStop >= 3);
check(`broker.yaml: server.drain_seconds (${drain}) within 0..300`,
  () => Number.isInteger(drain) && drain >= 0 && drain <= 300);
check(`terminationGracePeriodSeconds (${pod.terminationGracePeriodSeconds}) > preStop (${preStop}) + server.drain_seconds (${drain}) + server.shutdown_grace_seconds (${shutdownGrace})`,
  () => pod.terminationGracePeriodSeconds > preStop + drain + shutdownGrace);

// Probes on the plaintext health-only listener.
check("readinessProbe: native gRPC probe of credbroker.v1.CredentialBroker (follows the store) on the health port 8081",
  () => broker.readinessProbe.grpc.port === 8081 &&
        broker.readinessProbe.grpc.service === "credbroker.v1.CredentialBroker");
check("livenessProbe: native gRPC probe of the process's own health (\"\") on the health port 8081",
  () => broker.livenessProbe.grpc.port === 8081 && broker.livenessProbe.grpc.service === "");
check("broker.yaml: health_listen 0.0.0.0:8081, listen 0.0.0.0:50051 with listener TLS and client certificates",
  () => config.health_listen === "0.0.0.0:8081" && config.listen === "0.0.0.0:50051" &&
        config.tls.cert_file === "/etc/credbroker/tls/tls.crt" && config.tls.key_file === "/etc/credbroker/tls/tls.key" &&
        config.callers.client_ca_file === "/etc/credbroker/clients-ca/ca.crt");
check("broker.yaml: tls.reload_interval_seconds set, within 1..3600, so a renewed certificate is served without a restart",
  () => Number.isInteger(config.tls.reload_interval_seconds) &&
        config.tls.reload_interval_seconds >= 1 && config.tls.reload_interval_seconds <= 3600);

// Metrics: broker.yaml, the container port, the headless Service and the
// ServiceMonitor must agree on one port.
const metricsPort = (broker.ports ?? []).find((p) => p.name === "metrics");
const listenPort = Number(/^[^:]+:(\d+)$/.exec(config.metrics_listen ?? "")?.[1]);
check(`broker.yaml: metrics_listen (${config.metrics_listen}) on port 9090, the container port named metrics (${metricsPort?.containerPort})`,
  () => listenPort === 9090 && metricsPort.containerPort === listenPort && metricsPort.protocol === "TCP");

// Secrets: referenced and mounted read-only, never defined or inlined.
check("Secrets mounted read-only: credbroker-tls, credbroker-seal-key, credbroker-script-keys",
  () => mountedSecret("credbroker-tls", "/etc/credbroker/tls") && mountedSecret("credbroker-seal-key", "/etc/credbroker/seal") &&
        mountedSecret("credbroker-script-keys", "/etc/credbroker/keys") &&
        config.seal_key_file === "/etc/credbroker/seal/seal.key" && config.keyring_dir === "/etc/credbroker/keys");
check("keyring, policy, TLS and client CA mounted as directories (no subPath), so live reloads reach the pod",
  () => ["keys", "policy", "tls", "clients-ca"].every((d) => mounts[`/etc/credbroker/${d}`] && !mounts[`/etc/credbroker/${d}`].subPath) &&
        config.policy_file === "/etc/credbroker/policy/policy.yaml");
check("no Secret objects and no literal secret values",
  () => all("Secret").length === 0 &&
        !/stringData:|BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)|tls\.(crt|key):|seal\.key:|password:|api_key:|script_key:/.test(text));

// Services: ClusterIP and headless, both on 50051 named grpc.
const clusterIp = find("Service", "credential-broker");
const headless = find("Service", "credential-broker-headless");
check("Service credential-broker: ClusterIP, port 50051 named grpc",
  () => clusterIp.spec.type === "ClusterIP" && clusterIp.spec.ports.some((p) => p.name === "grpc" && p.port === 50051));
check("Service credential-broker-headless: clusterIP None, ready pods only, port 50051 named grpc",
  () => headless.spec.clusterIP === "None" && !headless.spec.publishNotReadyAddresses &&
        headless.spec.ports.some((p) => p.name === "grpc" && p.port === 50051));
check("Services select the broker's pods",
  () => [clusterIp, headless].every((s) => Object.entries(s.spec.selector).every(([k, v]) => deployment.spec.template.metadata.labels[k] === v)));

// NetworkPolicy.
const policy = find("NetworkPolicy", "credential-broker");
const ingress = policy?.spec?.ingress ?? [];
const clientRule = ingress.find((r) => r.ports?.every((p) => p.port === 50051));
const metricsRule = ingress.find((r) => r.ports?.every((p) => p.port === metricsPort?.containerPort));
const peers = clientRule?.from ?? [];
check("NetworkPolicy ingress on 50051 only, from pods labelled credbroker-client: \"true\" here or in namespaces so labelled",
  () => clientRule.ports.length > 0 && peers.length === 2 &&
        peers.some((p) => !p.namespaceSelector && sameLabels(p.podSelector.matchLabels, clientLabel)) &&
        peers.some((p) => sameLabels(p.namespaceSelector?.matchLabels, clientLabel) && sameLabels(p.podSelector?.matchLabels, clientLabel)));
const egressPorts = (policy?.spec?.egress ?? []).flatMap((e) => (e.ports ?? []).map((p) => p.port));
check(`NetworkPolicy egress: DNS (53) and HTTPS (443)${overlay === "ha" ? " and Redis (6379)" : ""} only (${egressPorts.join(", ")})`,
  () => egressPorts.includes(53) && egressPorts.includes(443) &&
        egressPorts.every((p) => [53, 443, ...(overlay === "ha" ? [6379] : [])].includes(p)));
check("NetworkPolicy ingress on the metrics port only from namespaces labelled credbroker-metrics: \"true\"; no other ingress rule",
  () => ingress.length === 2 && metricsRule.ports.length === 1 && metricsRule.from.length === 1 &&
        sameLabels(metricsRule.from[0].namespaceSelector.matchLabels, { "credbroker-metrics": "true" }) &&
        !metricsRule.from[0].podSelector);
check("Service credential-broker-headless: port named metrics onto the container's metrics port; the ClusterIP Service has none",
  () => headless.spec.ports.some((p) => p.name === "metrics" && p.port === metricsPort.containerPort &&
                                        (p.targetPort === "metrics" || p.targetPort === metricsPort.containerPort)) &&
        !clusterIp.spec.ports.some((p) => p.name === "metrics"));
const monitors = all("ServiceMonitor");
check("ServiceMonitor scrapes port metrics at /metrics on the headless Service (components/metrics enabled)",
  () => monitors.length === 1 &&
        Object.entries(monitors[0].spec.selector.matchLabels).every(([k, v]) => headless.metadata.labels[k] === v) &&
        monitors[0].spec.endpoints.some((e) => e.port === "metrics" && (e.path ?? "/metrics") === "/metrics"));

// Alerts: each one routable and documented.
const rules = all("PrometheusRule").flatMap((r) => r.spec.groups.flatMap((g) => g.rules)).filter((r) => r.alert);
const alertNames = new Set(rules.map((r) => r.alert));
check(`PrometheusRule alerts shipped (${rules.length}), with unique names`,
  () => rules.length >= 1 && alertNames.size === rules.length);
const undocumented = rules.filter((r) => {
  const url = /docs\/operations\.md#([a-z0-9_-]+)$/.exec(r.annotations?.runbook_url ?? "");
  return !(r.annotations?.summary && r.annotations?.description && url && runbookAnchors.has(url[1]) &&
           ["warning", "critical"].includes(r.labels?.severity));
}).map((r) => r.alert);
check(`every alert has summary, description, severity warning|critical and a runbook_url to a heading of docs/operations.md${undocumented.length ? ` (not: ${undocumented.join(", ")})` : ""}`,
  () => undocumented.length === 0);
const unknownMetrics = [...new Set(rules.flatMap((r) => r.expr.match(/\b(?:credbroker|grpc_server)_[a-z_]+/g) ?? [])
  .map((m) => m.replace(/_(bucket|sum|count)$/, "")).filter((m) => !documentedMetrics.has(m)))];
check(`alerts use only the metrics docs/operations.md lists${unknownMetrics.length ? ` (unknown: ${unknownMetrics.join(", ")})` : ""}`,
  () => documentedMetrics.size > 0 && unknownMetrics.length === 0);
check("alerts on the broker's own metrics shipped (site down, store unreachable, certificate expiry)",
  () => ["CredentialBrokerSiteDown", "CredentialBrokerStoreUnreachable", "CredentialBrokerCertificateExpiresToday"]
    .every((a) => alertNames.has(a)));

if (overlay === "single") {
  check("exactly one replica, strategy Recreate (memory store)",
    () => deployment.spec.replicas === 1 && deployment.spec.strategy.type === "Recreate");
  check("broker.yaml: memory store", () => config.store?.memory && !config.store?.redis);
  check("no PodDisruptionBudget (meaningless with one replica)", () => all("PodDisruptionBudget").length === 0);
} else {
  const strategy = deployment.spec.strategy;
  check("at least 3 replicas, RollingUpdate with maxUnavailable 0",
    () => deployment.spec.replicas >= 3 && strategy.type === "RollingUpdate" && strategy.rollingUpdate.maxUnavailable === 0);
  const pdb = find("PodDisruptionBudget", "credential-broker");
  check("PodDisruptionBudget over the broker's pods allowing one out at a time",
    () => pdb.spec.maxUnavailable === 1 && sameLabels(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels));
  const spread = pod.topologySpreadConstraints ?? [];
  check("topology spread over zones and over nodes",
    () => ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].every((key) =>
      spread.some((c) => c.topologyKey === key && sameLabels(c.labelSelector.matchLabels, deployment.spec.selector.matchLabels))));
  check("broker.yaml: Redis store with password_file from Secret credbroker-redis, and a shared seal key",
    () => config.store.redis.address && !config.store.memory &&
          config.store.redis.password_file === "/etc/credbroker/redis/password" &&
          mountedSecret("credbroker-redis", "/etc/credbroker/redis") && config.seal_key_file);
  const certificate = find("Certificate", "credential-broker");
  const namespace = deployment.metadata.namespace;
  check(`cert-manager Certificate into credbroker-tls naming both Services in namespace ${namespace}`,
    () => certificate.spec.secretName === "credbroker-tls" &&
          [`credential-broker.${namespace}.svc`, `credential-broker-headless.${namespace}.svc`].every((n) => certificate.spec.dnsNames.includes(n)));
}

process.exit(failures > 0 ? 1 : 0);
