#!/usr/bin/env bash
# Scenario: cache-hit IssueScriptSession through the broker next to the
# constant-answer baseline (constant_broker), run alternately so both see the
# same machine load. Two cases:
#   own-key   the caller sends the script's key, callers are not identified
#             (every caller is "anonymous"): cache lookup under a digest of
#             the key, audit line;
#   keyring   the caller sends no key and a service token
#             (authorization: Bearer): caller identity, policy (method,
#             script, sudo_as), keyring, cache lookup, audit line.
# Each case: start the fake site and a broker, warm the script-token cache
# with one call, then ROUNDS x (broker run, baseline run) of SECONDS each
# after a warm-up, with unary_load at 8 connections x 10 streams. Prints each
# run, the medians, the ratio broker/baseline, and the broker's audit lines
# against the calls it answered. All traffic is on loopback.
#
# With PROFILE=FILE.svg, also records the broker with perf (cpu-clock) during
# one more run of the PROFILE_CASE case (default keyring) and draws a flame
# graph (fold_perf_stacks.py, flamegraph_svg.py); the summary of the samples
# is kept next to the SVG, and with FOLDED=FILE the folded stacks too.
#
# usage: tests/load/run_hot_path.sh [ROUNDS] [SECONDS]
#        env: CONNECTIONS=8 STREAMS=10 CLIENT_THREADS=1 CASES="own-key keyring"
#             (cases: own-key keyring held-memory held-redis)
#             PROFILE=docs/profiles/cache-hit-before.svg PROFILE_CASE=keyring
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
ROUNDS="${1:-5}"
SECONDS_PER_RUN="${2:-10}"
CONNECTIONS="${CONNECTIONS:-8}"
STREAMS="${STREAMS:-10}"
CLIENT_THREADS="${CLIENT_THREADS:-1}"
CASES="${CASES:-own-key keyring}"
PROFILE="${PROFILE:-}"
PROFILE_CASE="${PROFILE_CASE:-keyring}"
((ROUNDS >= 1 && ROUNDS <= 20 && SECONDS_PER_RUN >= 1 && SECONDS_PER_RUN <= 60)) || {
  echo "ROUNDS must be 1..20 and SECONDS 1..60" >&2
  exit 2
}

cmake --build "$BUILD_DIR" --target credential-broker fake-shotgrid constant_broker unary_load \
  >/dev/null
# shellcheck source=tests/load/lib.sh
source "$ROOT/tests/load/lib.sh"
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# The fake site: one script, ingest-bot, with its key.
SCRIPT=ingest-bot
export HOT_PATH_SCRIPT_KEY=ingest-bot-key-0001
"$ROOT/tests/load/write_load_fixtures.sh" 1 "$WORK/fixtures.json"
"$BUILD_DIR/tests/fake_shotgrid/fake-shotgrid" --quiet --listen 127.0.0.1:0 \
  --fixtures "$WORK/fixtures.json" --port-file "$WORK/site.port" >/dev/null 2>&1 &
PIDS+=($!)
wait_for_file "$WORK/site.port"
SITE="http://127.0.0.1:$(cat "$WORK/site.port")"

# The keyring, a service token (the config holds its SHA-256) and the policy.
mkdir -m 700 "$WORK/keys"
printf '%s\n' "$HOT_PATH_SCRIPT_KEY" >"$WORK/keys/$SCRIPT"
export HOT_PATH_SERVICE_TOKEN="load-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOKEN_SHA256="$(printf %s "$HOT_PATH_SERVICE_TOKEN" | sha256sum | cut -d' ' -f1)"
cat >"$WORK/policy.yaml" <<YAML
callers:
  - identity: load-driver
    methods: [IssueScriptSession]
    scripts: [$SCRIPT]
    sudo_as: ["pipeline-*"]
YAML

# The held-session cases log load-0 in once per run (broker custody; the site
# has no 2FA) and then ask for the held session's access token: from the
# memory store, or from a redis-server of their own.
export HOT_PATH_PASSWORD=load-password-1
if [[ " $CASES " == *" held-redis "* ]]; then
  REDIS_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK" >/dev/null 2>&1 &
  PIDS+=($!)
  head -c 32 /dev/urandom >"$WORK/seal.key"
  for _ in $(seq 100); do
    [[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] && break
    sleep 0.05
  done
fi

write_config() { # CASE FILE
  cat >"$2" <<YAML
listen: 127.0.0.1:0
default_site: main
log_level: info
sites:
  - name: main
    url: $SITE
YAML
  if [[ "$1" == held-redis ]]; then
    cat >>"$2" <<YAML
seal_key_file: $WORK/seal.key
store:
  redis:
    address: 127.0.0.1:$REDIS_PORT
YAML
  fi
  if [[ "$1" == keyring ]]; then
    cat >>"$2" <<YAML
callers:
  service_tokens:
    - identity: load-driver
      sha256: $TOKEN_SHA256
keyring_dir: $WORK/keys
policy_file: $WORK/policy.yaml
YAML
  fi
}

# The load for a case, against TARGET; prints unary_load's output.
load() { # CASE TARGET LABEL SECONDS WARMUP
  local args=(--target "$2" --connections "$CONNECTIONS" --streams "$STREAMS"
    --threads "$CLIENT_THREADS" --duration-s "$4" --warmup-s "$5" --label "$3")
  if [[ "$1" == held-* ]]; then
    args+=(--method get_access_token --login load-0 --password-env HOT_PATH_PASSWORD)
  elif [[ "$1" == keyring ]]; then
    args+=(--method issue_script_session --script "$SCRIPT" --token-env HOT_PATH_SERVICE_TOKEN)
  else
    args+=(--method issue_script_session --script "$SCRIPT" --script-key-env HOT_PATH_SCRIPT_KEY)
  fi
  "$BUILD_DIR/tests/load/unary_load" "${args[@]}"
}

field() { # NAME RESULT_LINE
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

median() {
  sort -g | awk '{v[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR+1)/2];
    else print (v[NR/2] + v[NR/2+1]) / 2}'
}

audit_lines() {
  grep -c '"event":"audit"' "$1" || true
}

"$BUILD_DIR/tests/load/constant_broker" --port-file "$WORK/baseline.port" 2>/dev/null &
BASELINE_PID=$!
PIDS+=($BASELINE_PID)
wait_for_file "$WORK/baseline.port"
BASELINE="127.0.0.1:$(cat "$WORK/baseline.port")"

echo "hot path: cases $CASES, $ROUNDS rounds x ${SECONDS_PER_RUN} s each of"
echo "broker and baseline alternately, $CONNECTIONS connections x $STREAMS streams," \
  "$CLIENT_THREADS client thread(s), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"

for CASE in $CASES; do
  write_config "$CASE" "$WORK/broker-$CASE.yaml"
  rm -f "$WORK/broker.port"
  LOG="$WORK/broker-$CASE.log"
  "$BUILD_DIR/broker/credential-broker" --config "$WORK/broker-$CASE.yaml" \
    --port-file "$WORK/broker.port" 2>"$LOG" &
  BROKER_PID=$!
  PIDS+=($BROKER_PID)
  wait_for_file "$WORK/broker.port"
  BROKER="127.0.0.1:$(cat "$WORK/broker.port")"
  # With Redis, calls are served once the broker's connection is up.
  [[ "$CASE" == held-redis ]] && sleep 0.5

  # One call fills the cache (the only site call of the case), then a short
  # run warms both servers and the connections.
  warm="$(load "$CASE" "$BROKER" warm-cache 1 0 | tail -1)"
  [[ "$(field ok "$warm")" -ge 1 && "$(field failed "$warm")" == 0 ]] || {
    echo "the broker did not answer the warm-up for $CASE:" >&2
    load "$CASE" "$BROKER" warm-cache 1 0 >&2 || true
    tail -5 "$LOG" >&2
    exit 1
  }
  load "$CASE" "$BASELINE" warm-baseline 1 0 >/dev/null

  echo
  echo "case $CASE (broker pid $BROKER_PID, threads $(awk '/^Threads:/ {print $2}' \
    "/proc/$BROKER_PID/status"))"
  printf '  %-9s %5s %9s %9s %9s %9s %7s\n' run round qps p50_ms p99_ms p999_ms failed
  : >"$WORK/broker.results"
  : >"$WORK/baseline.results"
  answered=0
  audit_before="$(audit_lines "$LOG")"
  for ((round = 1; round <= ROUNDS; round++)); do
    for side in broker baseline; do
      target="$BROKER"
      [[ "$side" == baseline ]] && target="$BASELINE"
      out="$(load "$CASE" "$target" "$side" "$SECONDS_PER_RUN" 1)" || true
      line="$(tail -1 <<<"$out")"
      grep -v '^RESULT\|connections x' <<<"$out" | sed 's/^/    /' || true
      printf '  %-9s %5s %9s %9s %9s %9s %7s\n' "$side" "$round" "$(field qps "$line")" \
        "$(field p50_ms "$line")" "$(field p99_ms "$line")" "$(field p999_ms "$line")" \
        "$(field failed "$line")"
      echo "$line" >>"$WORK/$side.results"
      [[ "$side" == broker ]] && answered=$((answered + $(field answered "$line")))
      # Each held-session run's own login is audited too.
      [[ "$side" == broker && "$CASE" == held-* ]] && answered=$((answered + 1))
    done
  done
  rss_kib="$(awk '/^VmRSS:/ {print $2}' "/proc/$BROKER_PID/status")"
  threads="$(awk '/^Threads:/ {print $2}' "/proc/$BROKER_PID/status")"

  # Audit lines are counted once the broker has stopped and flushed.
  if [[ -n "$PROFILE" && "$CASE" == "$PROFILE_CASE" ]]; then
    mkdir -p "$(dirname "$PROFILE")"
    PERF_DATA="$WORK/perf.data"
    perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$BROKER_PID" -o "$PERF_DATA" \
      -- sleep "$((SECONDS_PER_RUN + 1))" >/dev/null 2>"$WORK/perf.log" &
    PERF_PID=$!
    sleep 0.5
    out="$(load "$CASE" "$BROKER" broker-profiled "$SECONDS_PER_RUN" 0)" || true
    answered=$((answered + $(field answered "$(tail -1 <<<"$out")")))
    [[ "$CASE" == held-* ]] && answered=$((answered + 1))
    echo "  profiled run (perf attached, not in the medians):"
    tail -1 <<<"$out" | sed 's/^/    /'
    wait "$PERF_PID" || true
    perf script -i "$PERF_DATA" 2>/dev/null | c++filt |
      python3 "$ROOT/tests/load/fold_perf_stacks.py" --summary "${PROFILE%.svg}.summary.txt" \
        >"$WORK/stacks.folded"
    python3 "$ROOT/tests/load/flamegraph_svg.py" \
      --title "broker, cache-hit IssueScriptSession ($CASE case), perf cpu-clock" \
      <"$WORK/stacks.folded" >"$PROFILE"
    [[ -n "${FOLDED:-}" ]] && cp "$WORK/stacks.folded" "$FOLDED"
    sed 's/^/    /' "${PROFILE%.svg}.summary.txt"
    echo "  flame graph: $PROFILE (summary next to it)"
  fi
  stop "$BROKER_PID"
  audit_after="$(audit_lines "$LOG")"

  b_qps="$(while read -r l; do field qps "$l"; done <"$WORK/broker.results" | median)"
  c_qps="$(while read -r l; do field qps "$l"; done <"$WORK/baseline.results" | median)"
  echo "  medians:"
  for side in broker baseline; do
    printf '    %-9s qps %s  p50 %s ms  p99 %s ms  p999 %s ms\n' "$side" \
      "$(while read -r l; do field qps "$l"; done <"$WORK/$side.results" | median)" \
      "$(while read -r l; do field p50_ms "$l"; done <"$WORK/$side.results" | median)" \
      "$(while read -r l; do field p99_ms "$l"; done <"$WORK/$side.results" | median)" \
      "$(while read -r l; do field p999_ms "$l"; done <"$WORK/$side.results" | median)"
  done
  awk -v b="$b_qps" -v c="$c_qps" 'BEGIN {printf "  ratio broker/baseline (median qps): %.2f\n",
    (c > 0 ? b / c : 0)}'
  echo "  broker at the end: $threads threads, ${rss_kib} KiB resident"
  echo "  audit lines written in the timed runs: $((audit_after - audit_before)); calls the" \
    "broker answered in them (warm-up included): $answered"
done
