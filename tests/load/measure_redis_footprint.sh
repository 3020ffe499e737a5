#!/usr/bin/env bash
# Measures what the broker keeps in Redis: bytes per held session (1,000 held
# sessions made by broker-custody logins, used_memory before and after, and
# MEMORY USAGE of one session key) and bytes per pending challenge (MEMORY
# USAGE of a challenge record and of the person's live-challenge window).
#
# usage: tests/load/measure_redis_footprint.sh [SESSIONS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
SESSIONS="${1:-1000}"

cmake --build "$BUILD_DIR" --target credential-broker fake-shotgrid login_burst_benchmark >/dev/null
# shellcheck source=tests/load/lib.sh
source "$ROOT/tests/load/lib.sh"

REDIS_PORT=""
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" \
    >"$WORK/redis.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  if redis-cli -p "$port" ping >/dev/null 2>&1; then REDIS_PORT=$port; PIDS+=($pid); break; fi
  kill "$pid" 2>/dev/null || true
done
[[ -n "$REDIS_PORT" ]] || { echo "redis-server did not start" >&2; exit 1; }
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

"$ROOT/tests/load/write_load_fixtures.sh" "$SESSIONS" "$WORK/fixtures.json"
start_fake_site --fixtures "$WORK/fixtures.json"

head -c 32 /dev/urandom >"$WORK/seal.key"
start_broker "log_level: warn
seal_key_file: $WORK/seal.key
store:
  redis:
    address: 127.0.0.1:$REDIS_PORT"
BROKER="$TARGET"

burst() {
  CREDBROKER_PASSWORD=load-password-1 "$BUILD_DIR/tests/load/login_burst_benchmark" \
    --broker "$BROKER" --calls "$1" --username load --users "$1" \
    --password-env CREDBROKER_PASSWORD "${@:2}" >/dev/null
}
used() { rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

before=$(used)
burst "$SESSIONS" --custody broker
after=$(used)
session_key=$(rcli --scan --pattern 'credbroker:session/*' | awk 'NR == 1')
echo "held sessions:    $(rcli --scan --pattern 'credbroker:session/*' | wc -l)"
echo "bytes per session (used_memory delta / sessions): $(((after - before) / SESSIONS))"
echo "bytes per session (MEMORY USAGE of one key):       $(rcli memory usage "$session_key")"

curl -s -X POST -H 'Content-Type: application/json' -d '{"two_factor":true}' \
  "$SITE/_fake/settings" >/dev/null
burst 1
challenge_key=$(rcli --scan --pattern 'credbroker:challenge/*' | awk 'NR == 1')
window_key=$(rcli --scan --pattern 'credbroker:challenges/*' | awk 'NR == 1')
echo "bytes per challenge record (MEMORY USAGE):         $(rcli memory usage "$challenge_key")"
echo "bytes of a person's live-challenge window:         $(rcli memory usage "$window_key")"
echo "plain usernames in the challenge record: $(rcli --raw get "$challenge_key" | grep -c load- || true)"
