#!/usr/bin/env bash
# Writes a fake-site fixtures file with N people, load-0 .. load-(N-1), all
# with the password load-password-1, so a load run logs in N different people
# (each has a failure budget of their own).
#
# usage: tests/load/write_load_fixtures.sh N FILE
set -euo pipefail
N="$1"
{
  printf '{"users":['
  for ((i = 0; i < N; i++)); do
    ((i > 0)) && printf ','
    printf '{"login":"load-%d","password":"load-password-1","totp_secret":"JBSWY3DPEHPK3PXP"}' "$i"
  done
  printf '],"scripts":[{"name":"ingest-bot","key":"ingest-bot-key-0001"}]}\n'
} >"$2"
