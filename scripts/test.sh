#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, checks the C++ format,
# then
#   1. builds into build/ and runs the whole suite under ctest: unit tests,
#      the fake site's tests, and integration tests that run the real broker
#      and fake site as processes on loopback;
#   2. the same suite built with AddressSanitizer and UBSan (build-asan/);
#   3. the project's own concurrency code (memory and Redis stores, limits, token cache, curl
#      loops), which does not touch gRPC, under ThreadSanitizer (build-tsan/);
#   4. each fuzzer (tests/fuzz) for a few seconds, built with clang.
# CREDBROKER_SKIP_SANITIZERS=1 runs step 1 only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="$(nproc)"

"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/check-format.sh"

echo "== Node packages (npm ci)"
(cd "$ROOT/clients/node" && npm ci --no-audit --no-fund)
(cd "$ROOT/clients/node/examples/web-login" && npm ci --no-audit --no-fund)

echo "== Build and test ($ROOT/build)"
BUILD_DIR="$ROOT/build" "$ROOT/scripts/build.sh"
(cd "$ROOT/build" && ctest --output-on-failure --timeout 300 -j "$JOBS")

if [[ "${CREDBROKER_SKIP_SANITIZERS:-0}" == "1" ]]; then exit 0; fi

echo "== AddressSanitizer + UBSan build and test ($ROOT/build-asan)"
BUILD_DIR="$ROOT/build-asan" "$ROOT/scripts/build.sh" -DCREDBROKER_SANITIZE=ON
(cd "$ROOT/build-asan" && ctest --output-on-failure --timeout 300 -j "$JOBS")

echo "== ThreadSanitizer: state store, limits, token cache and curl loops ($ROOT/build-tsan)"
cmake -S "$ROOT" -B "$ROOT/build-tsan" -G Ninja -DCREDBROKER_UNIT_TSAN=ON >/dev/null
cmake --build "$ROOT/build-tsan" --target unit_memory_store_test unit_redis_store_test \
  unit_limits_test unit_token_cache_test unit_log_sink_test unit_curl_multi_loop_test
(cd "$ROOT/build-tsan" && ctest --output-on-failure --timeout 300 -j "$JOBS" \
  -R '^((Memory|Redis)/StoreConformanceTest/0|MemoryStoreTest|RedisStoreTest|FailureBudgetTest|CallerInFlightTest|TokenCacheTest|LogSinkTest|JsonLineTest|CurlMultiLoopTest)\.')

echo "== Fuzzers: each parser of untrusted input for ${CREDBROKER_FUZZ_SECONDS:-10} s (build-fuzz/)"
"$ROOT/tests/fuzz/run_fuzzers.sh" "${CREDBROKER_FUZZ_SECONDS:-10}"
