#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (AddressSanitizer + UBSan, in a build directory of
# their own) and runs each for a bounded time on a corpus seeded from scenarios/ and fuzz/seeds/. Exit 1 on a finding:
# the input that triggered it is saved under <build>/artifacts/<target>/ (replay: <build>/bin/fuzz_<target> FILE).
#   AIDC_FUZZ_SECONDS   seconds per target (default 30; docs/reliability.md has longer runs)
#   AIDC_FUZZ_BUILD_DIR build directory (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${AIDC_FUZZ_SECONDS:-30}
build=${AIDC_FUZZ_BUILD_DIR:-build-fuzz}
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 1; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$flags" \
  -DAIDC_BUILD_FUZZERS=ON -DAIDC_BUILD_TESTS=OFF -DAIDC_BUILD_GUI=OFF -DAIDC_WITH_CUDA=OFF "${launcher[@]}" >/dev/null
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
status=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target" artifacts="$build/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  seeds_of "$target" | while read -r seed; do
    copy="$corpus/$(echo "$seed" | tr / _)"
    [[ -e $copy ]] || cp "$seed" "$copy"
  done
  log="$build/fuzz_$target.log"
  started=$SECONDS
  if "$build/bin/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    result=clean
  else
    result="FINDING (input saved in $artifacts/)"
    status=1
    tail -40 "$log" >&2
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $target: $runs inputs in $((SECONDS - started)) s, corpus $(ls "$corpus" | wc -l) files: $result"
done
exit $status
