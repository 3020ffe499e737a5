# Shared by the load scripts (sourced, not run): a work directory removed on
# exit, the background processes started (PIDS) stopped on exit, a wait for
# the port files that those processes write, and the fake site and broker
# started the same way by every script.
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_for_file() {
  for _ in $(seq 1 500); do [[ -s "$1" ]] && return 0; sleep 0.02; done
  echo "timed out waiting for $1" >&2
  return 1
}

# start_fake_site [FLAGS...]: the fake site on a free loopback port with the
# given flags (e.g. --two-factor --fixtures F); sets SITE (its URL) and SITE_PID.
start_fake_site() {
  "$BUILD_DIR/tests/fake_shotgrid/fake-shotgrid" --quiet --listen 127.0.0.1:0 \
    --port-file "$WORK/site.port" "$@" >/dev/null 2>&1 &
  SITE_PID=$!
  PIDS+=("$SITE_PID")
  wait_for_file "$WORK/site.port"
  SITE="http://127.0.0.1:$(cat "$WORK/site.port")"
}

# start_broker [EXTRA_YAML]: the broker on a free loopback port, its one site
# "main" at $SITE, with EXTRA_YAML added at the top level of its config and
# its logs in $BROKER_LOG (default $WORK/broker.log); sets BROKER_PID and
# TARGET (host:port).
start_broker() {
  cat >"$WORK/broker.yaml" <<YAML
listen: 127.0.0.1:0
default_site: main
sites:
  - name: main
    url: $SITE
${1:-}
YAML
  "$BUILD_DIR/broker/credential-broker" --config "$WORK/broker.yaml" \
    --port-file "$WORK/broker.port" 2>"${BROKER_LOG:-$WORK/broker.log}" &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  wait_for_file "$WORK/broker.port"
  TARGET="127.0.0.1:$(cat "$WORK/broker.port")"
}
