#!/usr/bin/env bash
# Scenario: a mixed load on one broker, each method on a fixed schedule of its
# own at the same time (three unary_load drivers, open loop):
#   IssueScriptSession  cache hits (the caller sends the script's key; the
#                       token is cached after the first call), SCRIPT_RATE a second;
#   GetAccessToken      on a session the broker holds (load-0 logged in once
#                       with broker custody), TOKEN_RATE a second;
#   BeginLogin          against a site that answers at once (no 2FA: each call
#                       is one site call and gets the person's tokens; 100
#                       people take turns), LOGIN_RATE a second.
# Prints each method's achieved QPS, latency percentiles and failures, and the
# broker's CPU, threads and resident memory over the run. All on loopback.
#
# usage: tests/load/run_mixed_load.sh [SECONDS] [SCRIPT_RATE TOKEN_RATE LOGIN_RATE]
#        (default 10 s, 4000 2000 200)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
SECONDS_PER_RUN="${1:-10}"
SCRIPT_RATE="${2:-4000}"
TOKEN_RATE="${3:-2000}"
LOGIN_RATE="${4:-200}"

cmake --build "$BUILD_DIR" --target credential-broker fake-shotgrid unary_load >/dev/null
# shellcheck source=tests/load/lib.sh
source "$ROOT/tests/load/lib.sh"

"$ROOT/tests/load/write_load_fixtures.sh" 101 "$WORK/fixtures.json"
start_fake_site --fixtures "$WORK/fixtures.json"
start_broker

export MIXED_SCRIPT_KEY=ingest-bot-key-0001 MIXED_PASSWORD=load-password-1
common=(--target "$TARGET" --duration-s "$SECONDS_PER_RUN" --warmup-s 1 --connections 4
  --streams 50)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$BROKER_PID/stat"; }

echo "mixed load for $SECONDS_PER_RUN s: IssueScriptSession $SCRIPT_RATE/s, GetAccessToken" \
  "$TOKEN_RATE/s, BeginLogin $LOGIN_RATE/s; $(nproc) cores, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
ticks_before=$(cpu_ticks)
"$BUILD_DIR/tests/load/unary_load" "${common[@]}" --rate "$SCRIPT_RATE" \
  --method issue_script_session --script ingest-bot --script-key-env MIXED_SCRIPT_KEY \
  --label IssueScriptSession >"$WORK/script.out" &
script_pid=$!
"$BUILD_DIR/tests/load/unary_load" "${common[@]}" --rate "$TOKEN_RATE" \
  --method get_access_token --login load-0 --password-env MIXED_PASSWORD \
  --label GetAccessToken >"$WORK/token.out" &
token_pid=$!
"$BUILD_DIR/tests/load/unary_load" "${common[@]}" --rate "$LOGIN_RATE" \
  --method begin_login --usernames "$(seq -s, -f 'load-%g' 1 100)" \
  --password-env MIXED_PASSWORD --label BeginLogin >"$WORK/login.out" &
login_pid=$!
status=0
for pid in $script_pid $token_pid $login_pid; do wait "$pid" || status=1; done
ticks_after=$(cpu_ticks)

for out in script token login; do
  grep -v -e '^RESULT' -e ' connections x ' "$WORK/$out.out" || true
done
printf '%-20s %8s %9s %9s %9s %7s\n' method qps p50_ms p99_ms p999_ms failed
for out in script token login; do
  sed -n 's/^RESULT label=\([^ ]*\) .*failed=\([0-9]*\) .*qps=\([0-9]*\) p50_ms=\([^ ]*\) p99_ms=\([^ ]*\) p999_ms=\([^ ]*\) .*/\1 \3 \4 \5 \6 \2/p' \
    "$WORK/$out.out" | awk '{printf "%-20s %8s %9s %9s %9s %7s\n", $1, $2, $3, $4, $5, $6}'
done
# The drivers' warm-up second is in the CPU figure too.
echo "broker CPU: $(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" \
  -v s="$SECONDS_PER_RUN" 'BEGIN {printf "%.0f%% of one core", 100 * t / hz / (s + 1)}'); " \
  "threads: $(awk '/^Threads:/ {print $2}' "/proc/$BROKER_PID/status");" \
  "resident: $(awk '/^VmRSS:/ {printf "%d MiB", $2 / 1024}' "/proc/$BROKER_PID/status")"
echo "audit lines: $(grep -c '"event":"audit"' "$WORK/broker.log")"
exit $status
