#!/usr/bin/env bash
# Resident memory per held challenge and per held session with the memory
# store: N 2FA challenges (BeginLogin against a site with 2FA on), then N held
# sessions (BeginLogin with broker custody, 2FA off), each by a different
# person, through the real broker and fake site. The broker's VmRSS is read
# before and after each N, once a warm-up batch has made the broker's fixed
# allocations (gRPC and curl pools, thread arenas), and the difference is
# divided by the logins that succeeded. Logins go in batches of BATCH
# concurrent calls, one batch after the other; a batch's failed logins are
# counted and not retried (each person logs in once). PHASES=challenges or
# PHASES=sessions runs one of the two.
#
# usage: [PHASES="challenges sessions"] tests/load/measure_memory_footprint.sh [N] [BATCH]
#        (default 100000 200)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
N="${1:-100000}"
BATCH="${2:-200}"
PHASES="${PHASES:-challenges sessions}"
WARM="$BATCH"

cmake --build "$BUILD_DIR" --target credential-broker fake-shotgrid login_burst_benchmark >/dev/null
# shellcheck source=tests/load/lib.sh
source "$ROOT/tests/load/lib.sh"

ulimit -n "$(ulimit -Hn)"
# People: WARM + N for challenges, then WARM + N for sessions.
"$ROOT/tests/load/write_load_fixtures.sh" $((2 * (WARM + N))) "$WORK/fixtures.json"
start_fake_site --two-factor --fixtures "$WORK/fixtures.json"

# Challenges live an hour (the most the config allows) so none expires while
# the rest are made.
start_broker "log_level: warn
challenge:
  lifetime_seconds: 3600"

HELD=0
FAILED=0
STARTED=$(date +%s)
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$BROKER_PID/status"; }
# logins FIRST COUNT [flags]: COUNT logins of load-FIRST .. in batches of
# BATCH; adds the successes to HELD and the failures to FAILED.
logins() {
  local first=$1 count=$2 done=0 size ok
  while ((done < count)); do
    size=$((count - done < BATCH ? count - done : BATCH))
    CREDBROKER_PASSWORD=load-password-1 "$BUILD_DIR/tests/load/login_burst_benchmark" \
      --broker "$TARGET" --calls "$size" --username load \
      --users "$size" --first $((first + done)) --password-env CREDBROKER_PASSWORD "${@:3}" \
      >"$WORK/batch.out" 2>&1 || true
    ok=$(sed -n 's/^succeeded: *//p' "$WORK/batch.out")
    HELD=$((HELD + ${ok:-0}))
    FAILED=$((FAILED + size - ${ok:-0}))
    done=$((done + size))
    if ((done % 10000 == 0)); then
      echo "  $done sent, $HELD held, $FAILED failed, $(($(date +%s) - STARTED)) s" >&2
    fi
  done
}
# measure WHAT FIRST [flags]: a warm-up batch, then N logins, with VmRSS around them.
measure() {
  local what=$1 first=$2 before after
  logins "$first" "$WARM" "${@:3}"
  sleep 2
  before=$(rss_kib)
  HELD=0 FAILED=0 STARTED=$(date +%s)
  logins $((first + WARM)) "$N" "${@:3}"
  sleep 2
  after=$(rss_kib)
  echo "$what: $HELD held ($FAILED logins failed) in $(($(date +%s) - STARTED)) s;" \
    "broker VmRSS $before KiB -> $after KiB; $(((after - before) * 1024 / (HELD > 0 ? HELD : 1)))" \
    "bytes each"
}

echo "memory store, $N of each in batches of $BATCH, $(nproc) cores," \
  "load average $(cut -d' ' -f1 /proc/loadavg)"
if [[ " $PHASES " == *" challenges "* ]]; then
  measure "held challenges" 0
fi
if [[ " $PHASES " == *" sessions "* ]]; then
  curl -s -X POST -H 'Content-Type: application/json' -d '{"two_factor":false}' \
    "$SITE/_fake/settings" >/dev/null
  measure "held sessions" $((WARM + N)) --custody broker
fi
echo "broker threads: $(awk '/^Threads:/ {print $2}' "/proc/$BROKER_PID/status")"
