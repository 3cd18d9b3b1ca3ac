#!/usr/bin/env bash
# Runs every cargo-fuzz target of Quiver for N seconds each (default 15), starting from the
# checked-in seed corpus, and fails if any target crashes.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        e.g.  fuzz/run.sh 60 frame api_model
#
# Works on the stable toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer=address)
# to rustc, which stable accepts with RUSTC_BOOTSTRAP=1. Installs cargo-fuzz if missing.
# New inputs libFuzzer finds go to a scratch directory, not to fuzz/corpus; a crashing input
# is kept under fuzz/artifacts/<target>/ and each run's log under fuzz/artifacts/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-${FUZZ_SECONDS:-15}}"
[ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=(frame segment_header meta free_list free_delta labels adjacency records props api_model)
fi
case "$secs" in
  '' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "=== installing cargo-fuzz (cargo install --locked cargo-fuzz)"
  start=$(date +%s)
  cargo install --locked cargo-fuzz
  echo "=== cargo-fuzz installed in $(( $(date +%s) - start )) s"
fi
echo "=== $(cargo fuzz --version), $(rustc --version)"

echo "=== building the fuzz targets"
cargo fuzz build

# Scratch space: the corpus libFuzzer grows, and api_model's databases (tmpfs when there is
# one, since the engine fsyncs).
base="${TMPDIR:-/tmp}"
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/quiver-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export QUIVER_FUZZ_TMP="$work/db"
mkdir -p "$QUIVER_FUZZ_TMP" fuzz/artifacts/logs

status=0
summary=()
for t in "${targets[@]}"; do
  echo "=== $t: ${secs}s"
  mkdir -p "$work/corpus/$t"
  log="fuzz/artifacts/logs/$t.log"
  if cargo fuzz run "$t" "$work/corpus/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -timeout=30 -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result=CRASH
    status=1
    # The panic message (api_model adds its last operations) or the sanitizer's report,
    # and where libFuzzer saved the input.
    awk '/panicked at|ERROR: (AddressSanitizer|LeakSanitizer)/ { p = 1 }
         /^stack backtrace/ { p = 0 }
         /ERROR: libFuzzer/ { p = 0; print }
         p && n++ < 120 { print }
         /Test unit written to/ { print }' "$log"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  if [ -z "$runs" ]; then
    runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  summary+=("$(printf '%-15s %-6s %12s execs %9s execs/s' "$t" "$result" "${runs:-?}" "${rate:-?}")")
done

echo "=== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
if [ "$status" -ne 0 ]; then
  echo "fuzzing found a crash: the inputs are under fuzz/artifacts/, logs in fuzz/artifacts/logs/" >&2
fi
exit "$status"
