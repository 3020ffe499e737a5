#!/usr/bin/env bash
# The deployment's own check, offline. For each kustomize overlay
# (deploy/k8s/overlays/single and deploy/k8s/overlays/ha) it:
#   1. renders it with `kubectl kustomize`;
#   2. lints the sources and the rendered output with yamllint (deploy/.yamllint);
#   3. validates every rendered object against its schema: Kubernetes' from the
#      npm package kubernetes-models, cert-manager's and the Prometheus
#      Operator's from their @kubernetes-models packages (deploy/validate/);
#   4. asserts the properties the deployment must keep (deploy/validate/properties.mjs);
#   5. given the broker binary, starts it on the overlay's *rendered* broker.yaml
#      (certificates, seal key, keyring, policy and Redis password made on the
#      spot) and checks that it starts and stops with exit 0.
# It also renders and validates the planned metrics component
# (deploy/k8s/components/metrics-planned), which no overlay enables.
# Usage: deploy/check.sh [BROKER_BINARY]   (from anywhere; ctest passes the binary)
# Exits 77 (skipped) without kubectl, 1 on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BROKER="${1:-}"
OVERLAYS=(single ha)

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failures=0
pass() { printf 'ok    %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failures=$((failures + 1)); }
indent() { sed 's/^/      /'; }

# 0. Tools. 77 tells ctest the check was skipped, not passed.
if ! command -v kubectl >/dev/null; then echo "skip  kubectl not found: nothing rendered" >&2; exit 77; fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "FAIL  node and npm are needed for the schema validation (apt-get install nodejs npm)"; exit 1
fi
# The validator's packages, installed once from package-lock.json; later runs
# reuse them without the network while the lock file is unchanged.
lock_sum="$(sha256sum deploy/validate/package-lock.json | cut -d' ' -f1)"
stamp=deploy/validate/node_modules/.credbroker-lock-sha256
if [[ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]]; then
  if (cd deploy/validate && npm ci --no-audit --no-fund --loglevel=error) >"$scratch/npm.log" 2>&1; then
    echo "$lock_sum" >"$stamp"
    pass "npm ci in deploy/validate (kubernetes-models and schemas installed)"
  else
    indent <"$scratch/npm.log"
    echo "FAIL  npm ci in deploy/validate"; exit 1
  fi
fi
validate() { node deploy/validate/validate.mjs "$@"; }

# 1. Render every overlay.
for overlay in "${OVERLAYS[@]}"; do
  out="$scratch/$overlay.yaml"
  if ! kubectl kustomize "deploy/k8s/overlays/$overlay" >"$out" 2>"$scratch/err"; then
    indent <"$scratch/err"
    echo "FAIL  kubectl kustomize deploy/k8s/overlays/$overlay"; exit 1
  fi
  pass "kubectl kustomize deploy/k8s/overlays/$overlay renders ($(grep -c '^kind:' "$out") objects: $(grep '^kind:' "$out" | awk '{print $2}' | paste -sd, -))"
done

# The planned metrics component, on a copy of the tree (kustomize only accepts
# relative paths below its root): ha plus the component.
cp -r deploy/k8s "$scratch/k8s"
mkdir "$scratch/k8s/overlays/ha-with-planned-metrics"
cat >"$scratch/k8s/overlays/ha-with-planned-metrics/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../ha
components:
  - ../../components/metrics-planned
EOF
planned="$scratch/planned.yaml"
if kubectl kustomize "$scratch/k8s/overlays/ha-with-planned-metrics" >"$planned" 2>"$scratch/err"; then
  pass "components/metrics-planned renders on top of overlays/ha (PLANNED: no overlay enables it; the broker serves no metrics yet)"
else
  indent <"$scratch/err"; fail "components/metrics-planned does not render on top of overlays/ha"
fi

# 2. Lint the sources and each rendering.
if command -v yamllint >/dev/null; then
  lint() { # lint NAME FILE_OR_DIR
    if yamllint -s -c deploy/.yamllint "$2" >"$scratch/lint" 2>&1; then pass "yamllint ($1)"
    else indent <"$scratch/lint"; fail "yamllint ($1)"; fi
  }
  lint "sources under deploy/k8s" deploy/k8s
  for overlay in "${OVERLAYS[@]}"; do lint "rendered overlays/$overlay" "$scratch/$overlay.yaml"; done
  [[ -s "$planned" ]] && lint "rendered ha + components/metrics-planned" "$planned"
else
  fail "yamllint not installed (apt-get install yamllint)"
fi

# 3. Schemas, offline.
for overlay in "${OVERLAYS[@]}"; do
  if validate "$scratch/$overlay.yaml" >"$scratch/schema" 2>&1; then
    pass "overlays/$overlay: every object valid against its schema ($(tail -1 "$scratch/schema"))"
    grep '^ok' "$scratch/schema" | indent
  else
    grep -v '^ok' "$scratch/schema" | indent; fail "overlays/$overlay: schema validation"
  fi
done
if [[ -s "$planned" ]]; then
  if validate "$planned" >"$scratch/schema" 2>&1; then
    pass "ha + components/metrics-planned: every object valid against its schema ($(tail -1 "$scratch/schema"))"
  else
    grep -v '^ok' "$scratch/schema" | indent; fail "ha + components/metrics-planned: schema validation"
  fi
fi

# 4. Properties of each rendering.
for overlay in "${OVERLAYS[@]}"; do
  if node deploy/validate/properties.mjs "$overlay" "$scratch/$overlay.yaml" >"$scratch/props" 2>&1; then :; fi
  while IFS= read -r line; do
    case "$line" in
      "ok  "*) pass "${line#ok    }" ;;
      "FAIL"*) fail "${line#FAIL  }" ;;
      *) echo "      $line" ;;
    esac
  done <"$scratch/props"
done

# 5. The real binary accepts each overlay's rendered broker.yaml.
if [[ -n "$BROKER" ]]; then
  for overlay in "${OVERLAYS[@]}"; do
    work="$scratch/run-$overlay"
    mkdir -p "$work/keys"
    if ! node deploy/validate/broker-config.mjs "$scratch/$overlay.yaml" >"$work/rendered.yaml"; then
      fail "overlays/$overlay: no rendered broker.yaml"; continue
    fi
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=broker \
      -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
    head -c 32 /dev/urandom >"$work/seal.key"
    cp "$work/tls.crt" "$work/ca.crt"
    printf 'key-0001' >"$work/keys/ingest-bot"
    printf 'placeholder-redis-password\n' >"$work/password"
    cp deploy/k8s/base/policy.yaml "$work/policy.yaml"
    # Mounted paths become the files above; ports are picked by the OS; Redis
    # points at a closed loopback port (the broker connects in the background,
    # so a Redis that is down does not stop its start).
    sed -e "s#/etc/credbroker/tls/#$work/#g" -e "s#/etc/credbroker/seal/#$work/#" \
      -e "s#/etc/credbroker/clients-ca/#$work/#" -e "s#/etc/credbroker/keys#$work/keys#" \
      -e "s#/etc/credbroker/policy/#$work/#" -e "s#/etc/credbroker/redis/#$work/#" \
      -e 's#0.0.0.0:50051#0.0.0.0:0#' -e 's#0.0.0.0:8081#127.0.0.1:0#' \
      -e 's#^\( *address:\) .*#\1 127.0.0.1:1#' \
      "$work/rendered.yaml" >"$work/broker.yaml"
    # Every path outside comments must now point into $work.
    left="$(sed -e 's/^[[:space:]]*#.*//' -e 's/[[:space:]]#.*//' "$work/broker.yaml" | grep -o '/etc/credbroker[^ ]*' | head -1 || true)"
    if [[ -n "$left" ]]; then
      fail "overlays/$overlay: broker.yaml names a mounted path the check does not provide: $left"
      continue
    fi
    "$BROKER" --config "$work/broker.yaml" --port-file "$work/port" 2>"$work/log" &
    pid=$!
    for _ in $(seq 1 250); do [[ -s "$work/port" ]] || ! kill -0 "$pid" 2>/dev/null && break; sleep 0.02; done
    if [[ -s "$work/port" ]]; then
      kill -TERM "$pid"
      store=memory; grep -q '"kind":"redis"' "$work/log" && store=redis
      if wait "$pid"; then pass "overlays/$overlay: the broker starts on the rendered broker.yaml ($store store) and stops with exit 0"
      else indent <"$work/log"; fail "overlays/$overlay: the broker did not exit 0 on SIGTERM"; fi
    else
      indent <"$work/log"
      fail "overlays/$overlay: the broker refused the rendered broker.yaml"
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
else
  echo "skip  no broker binary given: the rendered broker.yaml files were not run (deploy/check.sh BROKER_BINARY)"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all deploy checks passed"
