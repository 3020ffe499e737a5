#!/bin/sh
# Runs the Go client's tests (unit tests and the test against the real broker
# and fake site) in GOPATH mode, after build.sh's check that the committed
# generated code matches the proto. Usage: test.sh [BUILD_DIR] [go test flags...]
# The binaries come from CREDBROKER_BROKER_BINARY and
# CREDBROKER_FAKE_SITE_BINARY (defaults: <repo>/build/...), which ctest sets.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-${CREDBROKER_GO_BUILD_DIR:-$repo/build-go}}
[ $# -gt 0 ] && shift
"$here/build.sh" "$build"
build=$(cd "$build" && pwd)

GO111MODULE=off
GOPROXY=off
GOFLAGS=
GOPATH="$build/gopath:/usr/share/gocode"
GOCACHE=${GOCACHE:-$build/gocache}
CREDBROKER_BROKER_BINARY=${CREDBROKER_BROKER_BINARY:-$repo/build/broker/credential-broker}
CREDBROKER_FAKE_SITE_BINARY=${CREDBROKER_FAKE_SITE_BINARY:-$repo/build/tests/fake_shotgrid/fake-shotgrid}
export GO111MODULE GOPROXY GOFLAGS GOPATH GOCACHE CREDBROKER_BROKER_BINARY CREDBROKER_FAKE_SITE_BINARY

exec go test -count=1 -timeout 300s "$@" github.com/studio-example/credential-broker/clients/go
