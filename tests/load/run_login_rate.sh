#!/usr/bin/env bash
# Logins at a fixed rate against a site that answers at once: what latency
# the broker adds. Runs BeginLogin (2FA on, so each call ends in a challenge:
# one site call, one sealed record, one store write, one audit line) on a fixed
# schedule of RATE calls a second through the broker, then through the
# constant-answer baseline, and prints both runs' latency percentiles.
#
# usage: tests/load/run_login_rate.sh [RATE] [SECONDS]     (default 1000 10)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
RATE="${1:-1000}"
SECONDS_PER_RUN="${2:-10}"

cmake --build "$BUILD_DIR" --target credential-broker fake-shotgrid constant_broker unary_load \
  >/dev/null
# shellcheck source=tests/load/lib.sh
source "$ROOT/tests/load/lib.sh"

# 100 people, each logged in again and again: a challenge each time (the
# oldest of a person's challenges beyond 3 is replaced), no failures.
"$ROOT/tests/load/write_load_fixtures.sh" 100 "$WORK/fixtures.json"
"$BUILD_DIR/tests/fake_shotgrid/fake-shotgrid" --two-factor --quiet --listen 127.0.0.1:0 \
  --fixtures "$WORK/fixtures.json" --port-file "$WORK/site.port" >/dev/null 2>&1 &
PIDS+=($!)
wait_for_file "$WORK/site.port"
cat >"$WORK/broker.yaml" <<YAML
listen: 127.0.0.1:0
default_site: main
sites:
  - name: main
    url: http://127.0.0.1:$(cat "$WORK/site.port")
YAML
"$BUILD_DIR/broker/credential-broker" --config "$WORK/broker.yaml" --port-file "$WORK/broker.port" \
  2>/dev/null &
PIDS+=($!)
"$BUILD_DIR/tests/load/constant_broker" --port-file "$WORK/baseline.port" 2>/dev/null &
PIDS+=($!)
wait_for_file "$WORK/broker.port"
wait_for_file "$WORK/baseline.port"

users="$(seq -s, -f 'load-%g' 0 99)"
echo "BeginLogin at $RATE a second for $SECONDS_PER_RUN s, site answering at once, $(nproc) cores," \
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for side in broker baseline; do
  CREDBROKER_PASSWORD=load-password-1 "$BUILD_DIR/tests/load/unary_load" \
    --target "127.0.0.1:$(cat "$WORK/$side.port")" --method begin_login --usernames "$users" \
    --password-env CREDBROKER_PASSWORD --rate "$RATE" --duration-s "$SECONDS_PER_RUN" \
    --connections 4 --streams 50 --label "$side" | tail -1
done
