#!/usr/bin/env bash
# The demo: builds everything, starts a fake ShotGrid site with two-factor
# authentication on and a credential broker in front of it, then logs a person
# in through the broker in two steps, refreshes the tokens, and gets a
# script-key session, printing what happens at each step.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/install-deps.sh"
echo "== Building (first time: a few minutes)"
BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh" >/dev/null

WORK="$(mktemp -d)"
SITE_PID=""
BROKER_PID=""
cleanup() {
  # SIGINT, as Ctrl-C would: the broker stops without a rollout's drain delay.
  [[ -n "$BROKER_PID" ]] && kill -INT "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
  [[ -n "$SITE_PID" ]] && kill "$SITE_PID" 2>/dev/null && wait "$SITE_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_file() {
  for _ in $(seq 1 500); do
    [[ -s "$1" ]] && return 0
    sleep 0.02
  done
  echo "timed out waiting for $1" >&2
  return 1
}

echo "== Starting the fake ShotGrid site (two-factor authentication on)"
"$BUILD_DIR/tests/fake_shotgrid/fake-shotgrid" --two-factor --quiet \
  --listen 127.0.0.1:0 --port-file "$WORK/site.port" >"$WORK/site.out" 2>&1 &
SITE_PID=$!
wait_for_file "$WORK/site.port"
SITE_URL="http://127.0.0.1:$(cat "$WORK/site.port")"
echo "   site at $SITE_URL"

cat >"$WORK/broker.yaml" <<YAML
listen: 127.0.0.1:0
default_site: studio
sites:
  - name: studio
    url: $SITE_URL
YAML
echo "== Starting the credential broker"
"$BUILD_DIR/broker/credential-broker" --config "$WORK/broker.yaml" \
  --port-file "$WORK/broker.port" 2>"$WORK/broker.log" &
BROKER_PID=$!
wait_for_file "$WORK/broker.port"
BROKER="127.0.0.1:$(cat "$WORK/broker.port")"
echo "   broker at $BROKER"
echo

# alice is one of the fake site's people; her authenticator app is played by
# oathtool with her TOTP secret. Her password reaches the example through the
# environment, never the command line.
CODE="$(oathtool --totp -b JBSWY3DPEHPK3PXP)"
echo "$CODE" | CREDBROKER_PASSWORD=alice-password-1 CREDBROKER_SCRIPT_KEY=ingest-bot-key-0001 \
  "$BUILD_DIR/clients/cpp/two-step-login-example" "$BROKER" alice ingest-bot

echo
echo "== The same two-step login from the credbroker CLI, as bob (username, password, code on stdin)"
printf '%s\n%s\n%s\n' bob bob-password-1 "$(oathtool --totp -b KRUGKIDCN5RCA43F)" |
  "$BUILD_DIR/clients/cpp/credbroker" --broker "$BROKER" login --format json |
  sed -E 's/"(access|refresh)_token": "(.{6})[^"]*"/"\1_token": "\2... (shortened)"/g'

echo
echo "== The broker's audit trail (one JSON line per step; no secrets):"
grep '"event":"audit"' "$WORK/broker.log" || true
