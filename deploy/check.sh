#!/usr/bin/env bash
# Renders the kustomize base offline and checks the result: yamllint (when it
# is installed) and a few properties the deployment must keep. Exits non-zero
# on any failure. Usage: deploy/check.sh [BROKER_BINARY]   (from anywhere)
# With a broker binary, it also starts the broker on the shipped broker.yaml
# (TLS files and seal key made on the spot, ports picked by the OS) and checks
# that it starts and stops cleanly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

out="$(mktemp)"; err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT
failures=0
pass() { printf 'ok    %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}

# 1. Render.
# 77 tells ctest the check was skipped, not passed.
if ! command -v kubectl >/dev/null; then echo "skip  kubectl not found: nothing rendered" >&2; exit 77; fi
if ! kubectl kustomize deploy/k8s >"$out" 2>"$err"; then
  cat "$err" >&2
  echo "FAIL  kubectl kustomize deploy/k8s" >&2
  exit 1
fi
if [[ -s "$err" ]]; then sed 's/^/      kustomize: /' "$err"; fi
pass "kubectl kustomize deploy/k8s renders ($(grep -c '^kind:' "$out") objects: $(grep '^kind:' "$out" | awk '{print $2}' | paste -sd, -))"

# 2. Lint.
if command -v yamllint >/dev/null; then
  for target in "$out" deploy/k8s; do
    name="$target"; [[ "$target" == "$out" ]] && name="rendered output"
    if yamllint -s -c deploy/.yamllint "$target" >/dev/null 2>&1; then
      pass "yamllint ($name)"
    else
      yamllint -s -c deploy/.yamllint "$target" | sed 's/^/      /' || true
      fail "yamllint ($name)"
    fi
  done
else
  echo "skip  yamllint not installed (apt-get install yamllint)"
fi

# 3. Properties of the rendered manifests.
# Text of the Deployment's readiness probe (up to the next sibling key).
probe="$(awk '{i=match($0,/[^ ]/)} /readinessProbe:/{p=1;d=i;next} p&&i<=d{p=0} p' "$out")"
# The NetworkPolicy's ingress peer selector labels.
peer="$(awk '/^kind: NetworkPolicy/{n=1} n&&/- from:/{f=1;next} f&&/ports:/{exit} f' "$out")"
grace="$(awk '/terminationGracePeriodSeconds:/{print $2}' "$out")"

check "pod runs as non-root (runAsNonRoot: true)" grep -q 'runAsNonRoot: true' "$out"
check "read-only root filesystem" grep -q 'readOnlyRootFilesystem: true' "$out"
check "all capabilities dropped" bash -c 'grep -A1 "drop:" "$1" | grep -q -- "- ALL"' _ "$out"
check "no privilege escalation" grep -q 'allowPrivilegeEscalation: false' "$out"
check "resources: requests and limits set" grep -q 'limits:' "$out"
check "exactly one replica (in-memory store)" grep -qx '  replicas: 1' "$out"
check "terminationGracePeriodSeconds > 20 (broker drains 20 s)" test "${grace:-0}" -gt 20
check "readinessProbe is a native gRPC probe of credbroker.v1.CredentialBroker on the health port 8081" \
  bash -c 'grep -q "grpc:" <<<"$1" && grep -q "port: 8081" <<<"$1" && grep -q "service: credbroker.v1.CredentialBroker" <<<"$1"' _ "$probe"
check "livenessProbe present" grep -q 'livenessProbe:' "$out"
check "broker.yaml serves health-only plaintext on 0.0.0.0:8081" grep -q 'health_listen: 0.0.0.0:8081' "$out"
check "broker.yaml listens on 0.0.0.0:50051 with listener TLS" \
  bash -c 'grep -q "listen: 0.0.0.0:50051" "$1" && grep -q "cert_file: /etc/credbroker/tls/tls.crt" "$1"' _ "$out"
check "Secrets referenced: credbroker-tls, credbroker-seal-key, credbroker-script-keys" \
  bash -c 'grep -q "secretName: credbroker-tls" "$1" && grep -q "secretName: credbroker-seal-key" "$1" && grep -q "secretName: credbroker-script-keys" "$1"' _ "$out"
check "callers identified by client certificates; keyring and policy mounted as directories" \
  bash -c 'grep -q "client_ca_file: /etc/credbroker/clients-ca/ca.crt" "$1" && grep -q "mountPath: /etc/credbroker/keys" "$1" && grep -q "mountPath: /etc/credbroker/policy" "$1"' _ "$out"
check "no Secret objects or literal secret values rendered" \
  bash -c '! grep -qE "^kind: Secret|stringData:|BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)|tls\.(crt|key):|seal\.key:|password:|api_key:|script_key:" "$1"' _ "$out"
check "Service: ClusterIP, port 50051 named grpc" \
  bash -c 'grep -q "type: ClusterIP" "$1" && grep -B1 -q "port: 50051" "$1"  && grep -q "name: grpc" "$1"' _ "$out"
check "NetworkPolicy ingress only from credbroker-client: \"true\" (and nothing else in that selector)" \
  bash -c 'grep -q "credbroker-client: \"true\"" <<<"$1" && ! grep -q "app.kubernetes.io" <<<"$1"' _ "$peer"
check "NetworkPolicy egress: DNS (53) and HTTPS (443)" \
  bash -c 'grep -q "port: 53" "$1" && grep -q "port: 443" "$1"' _ "$out"
check "no PodDisruptionBudget (meaningless with one replica)" bash -c '! grep -q "^kind: PodDisruptionBudget" "$1"' _ "$out"

# 4. The real binary accepts the shipped configuration.
BROKER="${1:-}"
if [[ -n "$BROKER" ]]; then
  work="$(mktemp -d)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=broker \
    -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
  head -c 32 /dev/urandom >"$work/seal.key"
  cp "$work/tls.crt" "$work/ca.crt"
  mkdir -p "$work/keys" && printf 'key-0001' >"$work/keys/ingest-bot"
  cp deploy/k8s/policy.yaml "$work/policy.yaml"
  sed -e "s#/etc/credbroker/tls/#$work/#g" -e "s#/etc/credbroker/seal/#$work/#" \
    -e "s#/etc/credbroker/clients-ca/#$work/#" -e "s#/etc/credbroker/keys#$work/keys#" \
    -e "s#/etc/credbroker/policy/#$work/#" \
    -e 's#0.0.0.0:50051#0.0.0.0:0#' -e 's#0.0.0.0:8081#127.0.0.1:0#' \
    deploy/k8s/broker.yaml >"$work/broker.yaml"
  "$BROKER" --config "$work/broker.yaml" --port-file "$work/port" 2>"$work/log" &
  pid=$!
  for _ in $(seq 1 250); do [[ -s "$work/port" ]] || ! kill -0 "$pid" 2>/dev/null && break; sleep 0.02; done
  if [[ -s "$work/port" ]]; then
    kill -TERM "$pid"
    if wait "$pid"; then pass "the broker starts on deploy/k8s/broker.yaml and stops with exit 0"
    else fail "the broker on deploy/k8s/broker.yaml did not exit 0 on SIGTERM"; fi
  else
    sed 's/^/      /' "$work/log"
    fail "the broker refused deploy/k8s/broker.yaml"
    kill "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all deploy checks passed"
