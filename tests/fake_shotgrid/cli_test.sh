#!/usr/bin/env bash
# Exercises the fake-shotgrid binary as scripts use it: banner line, --port-file, real
# requests over curl (token endpoint and /api3/json), bad-flag exit status 2, and exit 0 on SIGTERM.
set -euo pipefail
bin="$1"
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

set +e
"$bin" --no-such-flag 2>"$dir/err"; rc=$?
set -e
[ "$rc" = 2 ] || fail "bad flag exit $rc"
grep -q -- "--no-such-flag" "$dir/err" || fail "bad flag not named"
set +e
"$bin" --auth-mode kerberos 2>/dev/null; rc=$?
set -e
[ "$rc" = 2 ] || fail "bad --auth-mode exit $rc"
set +e
"$bin" --session-token-lifetime 0 2>/dev/null; rc=$?
set -e
[ "$rc" = 2 ] || fail "bad --session-token-lifetime exit $rc"

"$bin" --quiet --two-factor --token-lifetime 1234 --session-token-lifetime 4321 \
  --port-file "$dir/port" >"$dir/out" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
port="$(cat "$dir/port")"
[[ "$port" =~ ^[0-9]+$ ]] || fail "port file holds '$port'"
[ "$(cat "$dir/out")" = "fake-shotgrid listening on http://127.0.0.1:$port" ] || fail "banner: $(cat "$dir/out")"

body="$(curl -sS -X POST "http://127.0.0.1:$port/api/v1/auth/access_token" \
  -d grant_type=client_credentials -d client_id=ingest-bot -d client_secret=ingest-bot-key-0001)"
echo "$body" | grep -q '"expires_in":1234' || fail "token answer: $body"
body="$(curl -sS -X POST "http://127.0.0.1:$port/api/v1/auth/access_token" \
  -d grant_type=password -d username=alice -d password=alice-password-1)"
echo "$body" | grep -q '"code":106' || fail "2FA answer: $body"
body="$(curl -sS "http://127.0.0.1:$port/_fake/settings")"
echo "$body" | grep -q '"session_token_lifetime":4321' || fail "settings: $body"
# /api3/json as shotgun_api3 sends it.
body="$(curl -sS -H 'Content-Type: application/json; charset=utf-8' \
  -d '{"method_name":"info","params":[]}' "http://127.0.0.1:$port/api3/json")"
echo "$body" | grep -q '"version":\[8,0,0\]' || fail "api3 info: $body"
# Query-string parameters and no Content-Length at all, as `curl -X POST` sends.
body="$(curl -sS --max-time 2 -X POST \
  "http://127.0.0.1:$port/api/v1/auth/access_token?grant_type=session_token&session_token=bob-session-token-0001")"
echo "$body" | grep -q '"token_type":"Bearer"' || fail "query-string answer: $body"

kill -TERM "$pid"
set +e
wait "$pid"; rc=$?
set -e
[ "$rc" = 0 ] || fail "exit status after SIGTERM: $rc"

# --fixtures replaces the built-in people; SIGINT also exits 0.
cat >"$dir/fixtures.json" <<'JSON'
{"users":[{"login":"zed","password":"zed-pw","totp_secret":"JBSWY3DPEHPK3PXP","backup_codes":[],"active":true,"session_token":"zed-session"}],
 "scripts":[{"name":"only-bot","key":"only-key"}]}
JSON
rm -f "$dir/port"
"$bin" --quiet --listen 127.0.0.1:0 --fixtures "$dir/fixtures.json" --port-file "$dir/port" >/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
port="$(cat "$dir/port")"
body="$(curl -sS "http://127.0.0.1:$port/api/v1/auth/access_token" -d grant_type=password -d username=zed -d password=zed-pw)"
echo "$body" | grep -q '"token_type":"Bearer"' || fail "fixture user: $body"
body="$(curl -sS "http://127.0.0.1:$port/api/v1/auth/access_token" -d grant_type=password -d username=alice -d password=alice-password-1)"
echo "$body" | grep -q '"code":102' || fail "built-in user still present: $body"
kill -INT "$pid"
set +e
wait "$pid"; rc=$?
set -e
[ "$rc" = 0 ] || fail "exit status after SIGINT: $rc"

set +e
"$bin" --fixtures "$dir/missing.json" 2>/dev/null; rc=$?
set -e
[ "$rc" = 2 ] || fail "missing fixtures exit $rc"
echo PASS
