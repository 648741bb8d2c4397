# Sourced by scripts/sanitize.sh and scripts/fuzz.sh: the one build directory both use. clang with
# AddressSanitizer + UBSan (+ LeakSanitizer) and libFuzzer's coverage feedback (fuzzer-no-link), tests and
# fuzz targets on, GUI and CUDA off: the sanitized suites and the fuzz targets link the same objects, so
# aidc_sim and the engine are compiled once for both (two build directories, GCC's and clang's, compiled
# them twice: docs/reliability.md has the figures). The coverage hooks cost the suites little; outside a
# fuzz target the sanitizer runtime's no-op hooks take them.
#   AIDC_CHECKS_BUILD_DIR build directory (default build-checks)
command -v clang++ >/dev/null || { echo "checks: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 1; }
checks_build=${AIDC_CHECKS_BUILD_DIR:-build-checks}

configure_checks_build() {
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # -O1: a third of the -O0 run time with the same reports; UBSan findings abort instead of printing on.
  local flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
  CC=clang CXX=clang++ cmake -S . -B "$checks_build" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DAIDC_BUILD_FUZZERS=ON -DAIDC_BUILD_TESTS=ON \
    -DAIDC_BUILD_GUI=OFF -DAIDC_WITH_CUDA=OFF "${launcher[@]}" >/dev/null
}

# run_in_parallel COMMAND < LIST: runs COMMAND ITEM for each line of LIST, nproc at a time (the suites and
# the fuzz targets are single processes: one at a time left a core idle); fails when any failed.
run_in_parallel() {
  local jobs status=0 running=0 item
  jobs=$(nproc)
  while read -r item; do
    if ((running >= jobs)); then
      wait -n || status=1
      running=$((running - 1))
    fi
    "$@" "$item" &
    running=$((running + 1))
  done
  while ((running > 0)); do
    wait -n || status=1
    running=$((running - 1))
  done
  return $status
}
