#!/usr/bin/env bash
# Scenario: N concurrent BeginLogin calls (default 1,000) by N different people
# through the broker against a fake site that answers every token request in
# 300 ms (2FA on, so each login ends in a challenge). Prints the load tool's
# figures. (One person's logins beyond the failure budget's places in flight
# are refused at once: docs/api.md, "Guessing limits".)
#
# With PROFILE_DIR set, `perf record -a -e cpu-clock -g` records the whole
# machine during the burst (PROFILE_DIR/burst.data) and the CPU time of the
# broker, of the fake site and of everything else (the load tool included) is
# printed.
#
# usage: [PROFILE_DIR=DIR] tests/load/run_login_burst.sh [CALLS] [LATENCY_MS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CALLS="${1:-1000}"
LATENCY_MS="${2:-300}"

cmake --build "$BUILD_DIR" --target credential-broker fake-shotgrid login_burst_benchmark >/dev/null
# shellcheck source=tests/load/lib.sh
source "$ROOT/tests/load/lib.sh"

ulimit -n "$(ulimit -Hn)"
"$ROOT/tests/load/write_load_fixtures.sh" "$CALLS" "$WORK/fixtures.json"
start_fake_site --two-factor --fixtures "$WORK/fixtures.json"
curl -s -X POST -H 'Content-Type: application/json' -d "{\"latency_ms\":$LATENCY_MS}" \
  "$SITE/_fake/faults" >/dev/null

start_broker "log_level: warn"

PERF_PID=
if [[ -n "${PROFILE_DIR:-}" ]]; then
  mkdir -p "$PROFILE_DIR"
  perf record -q -a -e cpu-clock -g -o "$PROFILE_DIR/burst.data" 2>/dev/null &
  PERF_PID=$!
  sleep 0.5
fi

echo "scenario: $CALLS concurrent BeginLogin, site latency ${LATENCY_MS} ms, $(nproc) cores," \
  "load average $(cut -d' ' -f1 /proc/loadavg)"
CREDBROKER_PASSWORD=load-password-1 "$BUILD_DIR/tests/load/login_burst_benchmark" \
  --broker "$TARGET" --calls "$CALLS" --username load --users "$CALLS" \
  --password-env CREDBROKER_PASSWORD --broker-pid "$BROKER_PID" &
TOOL_PID=$!
status=0
wait "$TOOL_PID" || status=$?
if [[ -n "$PERF_PID" ]]; then
  kill -INT "$PERF_PID"
  wait "$PERF_PID" || true
  # cpu-clock samples carry their period in nanoseconds.
  perf script -i "$PROFILE_DIR/burst.data" -F comm,pid,period 2>/dev/null | awk -v broker="$BROKER_PID" \
    -v site="$SITE_PID" -v tool="$TOOL_PID" '
      {ns = $NF; pid = $(NF - 1)}
      pid == broker {b += ns; next}
      pid == site {s += ns; next}
      pid == tool {t += ns; next}
      pid != 0 {o += ns}
      END {printf "CPU while profiled: broker %d ms, fake site %d ms, load tool %d ms, other processes %d ms\n",
             b / 1e6, s / 1e6, t / 1e6, o / 1e6}'
fi
echo "site saw: $(curl -s "$SITE/_fake/stats" | grep -o '"password":[0-9]*') token requests"
exit $status
