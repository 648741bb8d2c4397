#!/usr/bin/env bash
# Builds (installing what is missing) and runs the whole test suite. GPU tests skip without a GPU.
# Then the slow checks, which CI runs: the sanitizer subset (scripts/sanitize.sh --ci: ASan + UBSan +
# LSan) and every fuzz target for AIDC_FUZZ_SECONDS each (scripts/fuzz.sh, 20 s here), both from one clang
# build (scripts/sanitized-build.sh). Any failure or finding fails the command. AIDC_SKIP_SLOW_CHECKS=1
# leaves them out of a quick local run. docs/reliability.md has what each phase costs.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() {  # phase NAME COMMAND...: runs it and prints its wall time (docs/reliability.md keeps the figures)
  local name=$1 started=$SECONDS
  shift
  "$@"
  echo "test: $name: $((SECONDS - started)) s"
}
phase "setup and build" ./scripts/setup.sh
# Twice as many tests as cores: most of ctest's wall time is tests waiting on real services (Prometheus
# scrapes, HAProxy health checks, Slurm, a fixed-length wrk soak) with little CPU; the test that times the
# CPU runs alone (RUN_SERIAL), and the longest chain (twin_stack) starts first (its COST). A test that
# fails gets one more attempt: on 2 cores the tests that time real processes (the CPU server's steps, the
# twin catching up with HAProxy after a Prometheus outage) now and then lose to a neighbour's load; a real
# fault fails both attempts, and ctest's output shows every first failure.
phase ctest ctest --test-dir build --output-on-failure -j"$((2 * $(nproc)))" --timeout 600 --repeat until-pass:2
if [[ ${AIDC_SKIP_SLOW_CHECKS:-0} == 1 ]]; then
  echo "test: AIDC_SKIP_SLOW_CHECKS=1: the sanitizer subset and the fuzz targets were left out"
  exit 0
fi
phase "sanitizer subset (build and run)" ./scripts/sanitize.sh --ci
phase "fuzz targets (link and run)" env AIDC_FUZZ_SECONDS="${AIDC_FUZZ_SECONDS:-20}" ./scripts/fuzz.sh
