#!/usr/bin/env bash
# Installs the Debian 12 packages the broker, its tests and its demo need,
# asking apt only for what is missing (so a machine that has them all makes no
# network call). Runs as root, or through sudo when it is there.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libcurl4-openssl-dev libssl-dev openssl
  libyaml-cpp-dev nlohmann-json3-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev googletest grpc-proto
  oathtool procps curl
  python3 python3-grpcio python3-protobuf python3-pytest python3-requests yamllint clang-format
  golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev
  golang-golang-x-oauth2-dev
  protoc-gen-go protoc-gen-go-grpc chromium
  clang libclang-rt-14-dev
  redis-server libhiredis-dev
  linux-perf libbenchmark-dev prometheus-cpp-dev
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# Node.js and npm may come from outside Debian (NodeSource's nodejs ships its
# own npm and conflicts with Debian's npm package): ask for them only if absent.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "Installing missing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
