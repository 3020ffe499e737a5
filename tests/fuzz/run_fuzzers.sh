#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for a while.
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_FUZZER=20] [FUZZER...]
# Environment: BUILD_DIR (default <repo>/build-fuzz), JOBS (parallel fuzzing
# jobs per fuzzer, default 1), MAX_LEN (default 4096).
# New interesting inputs go to BUILD_DIR/corpus/<name> (seeded from the
# checked-in corpus, which is never written); crash/leak/timeout reproducers
# go to BUILD_DIR/artifacts/<name>/. Exits non-zero if any fuzzer failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
seconds="${1:-20}"
shift || true
build="${BUILD_DIR:-${root}/build-fuzz}"
max_len="${MAX_LEN:-4096}"
fuzzers=("$@")
if [[ ${#fuzzers[@]} -eq 0 ]]; then
  fuzzers=(site_answer challenge_record config peer_address validation)
fi

cmake -S "${here}" -B "${build}" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCREDBROKER_FUZZ=ON -DCREDBROKER_FUZZ_MAX_LEN="${max_len}" >/dev/null
targets=()
for name in "${fuzzers[@]}"; do targets+=("${name}_fuzz"); done
cmake --build "${build}" --target "${targets[@]}"

failed=()
parallel=()
if [[ "${JOBS:-1}" -gt 1 ]]; then parallel=(-fork="${JOBS}"); fi
for name in "${fuzzers[@]}"; do
  work="${build}/corpus/${name}"
  artifacts="${build}/artifacts/${name}"
  mkdir -p "${work}" "${artifacts}"
  log="${build}/${name}.log"
  echo "== ${name}: ${seconds}s (log: ${log})"
  # The first directory receives new inputs; the checked-in one only seeds.
  if "${build}/${name}_fuzz" "${work}" "${here}/corpus/${name}" \
      -max_total_time="${seconds}" -max_len="${max_len}" -timeout=10 -rss_limit_mb=2048 \
      "${parallel[@]}" -print_final_stats=1 \
      -artifact_prefix="${artifacts}/" >"${log}" 2>&1; then
    grep -E '^#[0-9]+ *DONE|stat::number_of_executed_units|stat::average_exec_per_sec|cov:' "${log}" |
      tail -n 3 || true
  else
    echo "!! ${name} failed; reproducer(s) in ${artifacts}:" >&2
    ls "${artifacts}" >&2 || true
    grep -E 'ERROR: |SUMMARY: |FUZZ_CHECK' "${log}" | head -n 5 >&2 || true
    failed+=("${name}")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzers that failed: ${failed[*]}" >&2
  exit 1
fi
echo "all fuzzers ran ${seconds}s without a failure"
