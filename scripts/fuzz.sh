#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, AddressSanitizer + UBSan, in the build directory
# scripts/sanitize.sh shares: scripts/sanitized-build.sh) and runs each for a bounded time, nproc targets at
# a time, on a corpus seeded from scenarios/ and fuzz/seeds/. Exit 1 on a finding: the input that triggered
# it is saved under <build>/artifacts/<target>/ (replay: <build>/bin/fuzz_<target> FILE).
#   AIDC_FUZZ_SECONDS   seconds per target (default 30; docs/reliability.md has longer runs)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized-build.sh
seconds=${AIDC_FUZZ_SECONDS:-30}
build=$checks_build
configure_checks_build
targets=(scenario calibration csv http)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

seeds_of() {
  case $1 in
    scenario) find scenarios -name '*.yaml' -not -path 'scenarios/calibration/*' -not -path 'scenarios/catalog/*' ;;
    calibration) find scenarios/calibration scenarios/tests -name '*.yaml' -path '*calibration*' ;;
    csv) find scenarios fuzz/seeds -name '*.csv' ;;
    http) find fuzz/seeds/http -type f ;;  # first byte: even /v1/completions, odd /v1/chat/completions
  esac
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fuzz_target() {
  local target=$1 corpus="$build/corpus/$1" artifacts="$build/artifacts/$1" log="$build/fuzz_$1.log" started=$SECONDS
  local result=clean status=0 runs
  mkdir -p "$corpus" "$artifacts"
  seeds_of "$target" | while read -r seed; do
    copy="$corpus/$(echo "$seed" | tr / _)"
    [[ -e $copy ]] || cp "$seed" "$copy"
  done
  if ! "$build/bin/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    result="FINDING (input saved in $artifacts/)"
    status=1
    tail -40 "$log" >&2
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $target: $runs inputs in $((SECONDS - started)) s, corpus $(ls "$corpus" | wc -l) files: $result"
  return $status
}
printf '%s\n' "${targets[@]}" | run_in_parallel fuzz_target
