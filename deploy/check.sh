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
#      spot), reads its /metrics, and checks that SIGTERM drains and stops it
#      with exit 0.
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

# 2. Lint the sources and each rendering.
if command -v yamllint >/dev/null; then
  lint() { # lint NAME FILE_OR_DIR
    if yamllint -s -c deploy/.yamllint "$2" >"$scratch/lint" 2>&1; then pass "yamllint ($1)"
    else indent <"$scratch/lint"; fail "yamllint ($1)"; fi
  }
  lint "sources under deploy/k8s" deploy/k8s
  for overlay in "${OVERLAYS[@]}"; do lint "rendered overlays/$overlay" "$scratch/$overlay.yaml"; done
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
# A free loopback port for metrics_listen: the check cannot learn an OS-picked one.
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'; }
# GET URL to stdout; node, not curl, as node is needed anyway.
http_get() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) })
    .then(async (r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); process.stdout.write(await r.text()); })
    .catch((e) => { console.error(e.cause?.message ?? e.message); process.exit(1); });' "$1"
}
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
    # Mounted paths become the files above; the API and health ports are
    # picked by the OS; Redis points at a closed loopback port (the broker
    # connects in the background, so a Redis that is down does not stop its start).
    metrics_port="$(free_port)"
    sed -e "s#/etc/credbroker/tls/#$work/#g" -e "s#/etc/credbroker/seal/#$work/#" \
      -e "s#/etc/credbroker/clients-ca/#$work/#" -e "s#/etc/credbroker/keys#$work/keys#" \
      -e "s#/etc/credbroker/policy/#$work/#" -e "s#/etc/credbroker/redis/#$work/#" \
      -e 's#0.0.0.0:50051#0.0.0.0:0#' -e 's#0.0.0.0:8081#127.0.0.1:0#' \
      -e "s#0.0.0.0:9090#127.0.0.1:$metrics_port#" \
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
      # The series the shipped alerts need at start, and none of the secrets
      # made above.
      scraped=false
      for _ in $(seq 1 10); do
        if http_get "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics" 2>"$work/http"; then scraped=true; break; fi
        sleep 0.2
      done
      if $scraped; then
        missing=()
        for series in 'credbroker_build_info{' 'credbroker_store_reachable' \
                      'credbroker_certificate_expiry_seconds{certificate="listener"}' \
                      'credbroker_certificate_expiry_seconds{certificate="client_ca"}'; do
          grep -qF "$series" "$work/metrics" || missing+=("$series")
        done
        if ((${#missing[@]} > 0)); then fail "overlays/$overlay: /metrics lacks ${missing[*]}"
        elif grep -qF -e key-0001 -e placeholder-redis-password "$work/metrics"; then fail "overlays/$overlay: /metrics shows a secret"
        else pass "overlays/$overlay: /metrics on metrics_listen serves build info, store reachability and both certificates' expiry, and no secret"; fi
      else
        indent <"$work/http"; fail "overlays/$overlay: no /metrics on metrics_listen (127.0.0.1:$metrics_port)"
      fi
      kill -TERM "$pid"
      store=memory; grep -q '"kind":"redis"' "$work/log" && store=redis
      if wait "$pid"; then
        # SIGTERM drains (server.drain_seconds) before it stops accepting.
        events="$(grep -o '"event":"\(draining\|shutting_down\|stopped\)"' "$work/log" | cut -d'"' -f4 | paste -sd' ' -)"
        if [[ "$events" == "draining shutting_down stopped" ]]; then
          pass "overlays/$overlay: the broker starts on the rendered broker.yaml ($store store); SIGTERM drains, then it stops with exit 0"
        else
          indent <"$work/log"; fail "overlays/$overlay: SIGTERM logged '$events', not 'draining shutting_down stopped'"
        fi
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
