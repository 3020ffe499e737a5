#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, builds, then runs the
# unit and integration tests (real broker and fake site processes on
# loopback) under ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/install-deps.sh"
BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build.sh"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 300 -j "$(nproc)"
