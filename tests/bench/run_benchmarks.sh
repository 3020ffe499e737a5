#!/usr/bin/env bash
# Builds and runs the hot-path microbenchmarks (Google Benchmark). Extra
# arguments go to the benchmark binary, e.g. --benchmark_filter=TokenCache.
#
# usage: tests/bench/run_benchmarks.sh [BENCHMARK_FLAGS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
cmake --build "$BUILD_DIR" --target credbroker_benchmarks >/dev/null
exec "$BUILD_DIR/tests/bench/credbroker_benchmarks" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true "$@"
