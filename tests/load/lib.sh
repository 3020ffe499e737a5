# Shared by the load scripts (sourced, not run): a work directory removed on
# exit, the background processes started (PIDS) stopped on exit, and a wait
# for the port files that those processes write.
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_for_file() {
  for _ in $(seq 1 500); do [[ -s "$1" ]] && return 0; sleep 0.02; done
  echo "timed out waiting for $1" >&2
  return 1
}
