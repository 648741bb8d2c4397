#!/usr/bin/env bash
# Builds (installing what is missing) and runs the whole test suite. GPU tests skip without a GPU.
# Then the slow checks, which CI runs: the sanitizer subset (scripts/sanitize.sh --ci: ASan + UBSan +
# LSan) and every fuzz target for AIDC_FUZZ_SECONDS each (scripts/fuzz.sh, 20 s here). Any failure or
# finding fails the command. AIDC_SKIP_SLOW_CHECKS=1 leaves them out of a quick local run.
# docs/reliability.md has what they cost.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600
if [[ ${AIDC_SKIP_SLOW_CHECKS:-0} == 1 ]]; then
  echo "test: AIDC_SKIP_SLOW_CHECKS=1: the sanitizer subset and the fuzz targets were left out"
  exit 0
fi
./scripts/sanitize.sh --ci
AIDC_FUZZ_SECONDS=${AIDC_FUZZ_SECONDS:-20} ./scripts/fuzz.sh
