#!/bin/sh
# Builds the Go client in GOPATH mode (Debian's Go, no module proxy): makes a
# GOPATH in the build directory whose src/credbroker/client is a symlink to
# this folder, generates credbrokerv1/ from the proto with protoc, then builds
# and vets the package. Usage: build.sh [BUILD_DIR]   (default: <repo>/build-go)
# test.sh runs the same set-up, then `go test`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-${CREDBROKER_GO_BUILD_DIR:-$repo/build-go}}
mkdir -p "$build"
build=$(cd "$build" && pwd)

# The GOPATH: our package at the import path credbroker/client, Debian's
# packaged libraries (grpc, protobuf, genproto, x/net) after it.
mkdir -p "$build/gopath/src/credbroker"
ln -sfn "$here" "$build/gopath/src/credbroker/client"

# Generated code: written to a temporary directory, then moved into place, so
# a failed protoc leaves the previous output alone.
gen=$(mktemp -d "$build/gen.XXXXXX")
trap 'rm -rf "$gen"' EXIT
map=Mcredbroker/v1/broker.proto=credbroker/client/credbrokerv1
protoc -I "$repo/proto" -I /usr/include \
  --go_out="$gen" --go_opt=module=credbroker/client --go_opt="$map" \
  --go-grpc_out="$gen" --go-grpc_opt=module=credbroker/client --go-grpc_opt="$map" \
  credbroker/v1/broker.proto
rm -rf "$here/credbrokerv1"
mv "$gen/credbrokerv1" "$here/credbrokerv1"
# The service config every client ships, embedded by policy.go (go:embed
# takes only files inside the package's folder).
cp "$here/../service_config.json" "$here/service_config.json.tmp"
mv "$here/service_config.json.tmp" "$here/service_config.json"

GO111MODULE=off
GOPROXY=off
GOFLAGS=
GOPATH="$build/gopath:/usr/share/gocode"
GOCACHE=${GOCACHE:-$build/gocache}
export GO111MODULE GOPROXY GOFLAGS GOPATH GOCACHE

go build credbroker/client credbroker/client/credbrokerv1
go vet credbroker/client
