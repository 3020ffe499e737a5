#!/bin/sh
# Builds the Go client in GOPATH mode (Debian's Go, no module proxy): makes a
# GOPATH in the build directory where the module path links to this folder,
# checks that the committed generated code (credbrokerv1/, from the proto with
# protoc) and the embedded service_config.json are what generating them again
# gives, byte for byte, then builds and vets the package.
# Usage: build.sh [--regenerate] [BUILD_DIR]   (default: <repo>/build-go)
# --regenerate replaces the committed files with the freshly generated ones.
# test.sh runs the same set-up, then `go test`.
set -eu

regenerate=false
if [ "${1:-}" = --regenerate ]; then
  regenerate=true
  shift
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-${CREDBROKER_GO_BUILD_DIR:-$repo/build-go}}
mkdir -p "$build"
build=$(cd "$build" && pwd)
module=github.com/studio-example/credential-broker/clients/go

# The GOPATH: our package at its module path, Debian's packaged libraries
# (grpc, protobuf, genproto, x/net, x/oauth2) after it.
mkdir -p "$build/gopath/src/$(dirname "$module")"
ln -sfn "$here" "$build/gopath/src/$module"

gen=$(mktemp -d "$build/gen.XXXXXX")
trap 'rm -rf "$gen"' EXIT
map=Mcredbroker/v1/broker.proto=$module/credbrokerv1
protoc -I "$repo/proto" -I /usr/include \
  --go_out="$gen" --go_opt=module="$module" --go_opt="$map" \
  --go-grpc_out="$gen" --go-grpc_opt=module="$module" --go-grpc_opt="$map" \
  credbroker/v1/broker.proto
# go:embed takes only files inside the package's folder: policy.go embeds
# this copy of the service config every client ships.
cp "$here/../service_config.json" "$gen/service_config.json"

if $regenerate; then
  rm -rf "$here/credbrokerv1"
  mv "$gen/credbrokerv1" "$here/credbrokerv1"
  mv "$gen/service_config.json" "$here/service_config.json"
elif ! diff -r "$gen/credbrokerv1" "$here/credbrokerv1" >&2 ||
     ! diff "$gen/service_config.json" "$here/service_config.json" >&2; then
  echo "build.sh: the committed generated code is not what the proto and service config give;" \
    "run clients/go/build.sh --regenerate and commit the result" >&2
  exit 1
fi

GO111MODULE=off
GOPROXY=off
GOFLAGS=
GOPATH="$build/gopath:/usr/share/gocode"
GOCACHE=${GOCACHE:-$build/gocache}
export GO111MODULE GOPROXY GOFLAGS GOPATH GOCACHE

go build "$module" "$module/credbrokerv1"
go vet "$module"
