#!/usr/bin/env bash
# Logins at a fixed rate against a site that answers at once: what latency
# the broker adds. Runs BeginLogin (2FA on, so each call ends in a challenge:
# one site call, one sealed record, one store write, one audit line) on a fixed
# schedule of RATE calls a second through the broker, then through the
# constant-answer baseline, then sends the same token requests straight to the
# site at the same rate (site_rate: the site's own answer time), ROUNDS times
# in turn. Prints every run, the medians, and the broker-added latency: the
# broker's percentile less the site's.
#
# usage: tests/load/run_login_rate.sh [RATE] [SECONDS] [ROUNDS]     (default 1000 10 1)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
RATE="${1:-1000}"
SECONDS_PER_RUN="${2:-10}"
ROUNDS="${3:-1}"

cmake --build "$BUILD_DIR" --target credential-broker fake-shotgrid constant_broker unary_load \
  site_rate >/dev/null
# shellcheck source=tests/load/lib.sh
source "$ROOT/tests/load/lib.sh"

# 100 people, each logged in again and again: a challenge each time (the
# oldest of a person's challenges beyond 3 is replaced), no failures.
"$ROOT/tests/load/write_load_fixtures.sh" 100 "$WORK/fixtures.json"
start_fake_site --two-factor --fixtures "$WORK/fixtures.json"
BROKER_LOG=/dev/null start_broker
"$BUILD_DIR/tests/load/constant_broker" --port-file "$WORK/baseline.port" 2>/dev/null &
PIDS+=($!)
wait_for_file "$WORK/baseline.port"

users="$(seq -s, -f 'load-%g' 0 99)"
echo "BeginLogin at $RATE a second for $SECONDS_PER_RUN s, site answering at once, $(nproc) cores," \
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
export CREDBROKER_PASSWORD=load-password-1
for ((round = 1; round <= ROUNDS; round++)); do
  for side in broker baseline; do
    "$BUILD_DIR/tests/load/unary_load" \
      --target "127.0.0.1:$(cat "$WORK/$side.port")" --method begin_login --usernames "$users" \
      --password-env CREDBROKER_PASSWORD --rate "$RATE" --duration-s "$SECONDS_PER_RUN" \
      --connections 4 --streams 50 --label "$side" | tail -1 | tee -a "$WORK/results"
  done
  "$BUILD_DIR/tests/load/site_rate" --url "$SITE" \
    --usernames "$users" --password-env CREDBROKER_PASSWORD --rate "$RATE" \
    --duration-s "$SECONDS_PER_RUN" --label site | tail -1 | tee -a "$WORK/results"
done

median() { # LABEL FIELD
  sed -n "s/^RESULT label=$1 .* $2=\([^ ]*\).*/\1/p" "$WORK/results" | sort -g |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo "medians of $ROUNDS round(s), ms:"
for label in broker baseline site; do
  echo "  $label: p50 $(median $label p50_ms), p99 $(median $label p99_ms), p999 $(median $label p999_ms)"
done
echo "broker-added (broker less site): p50 $(awk -v b="$(median broker p50_ms)" \
  -v s="$(median site p50_ms)" 'BEGIN {printf "%.3f", b - s}') ms, p99 $(awk \
  -v b="$(median broker p99_ms)" -v s="$(median site p99_ms)" 'BEGIN {printf "%.3f", b - s}') ms"
