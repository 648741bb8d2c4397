#!/usr/bin/env bash
# The server soak (issue 17): `aidc-engine serve --backend cpu` (tiny model, random weights) on loopback,
# loaded by wrk (Debian package) while slow clients (headers and bodies trickled, a stalled body, a
# header flood) and malformed ones (garbage, huge headers and request lines, invalid JSON, wrong
# Content-Length, JSON nested a million deep) hit it; then an overload phase that must answer 503.
# It is tests/engine/test_server_abuse.cpp run longer; the test asserts, this script prints the figures
# that docs/reliability.md records (requests, rate, errors, RSS over time, when slow clients were dropped).
#   AIDC_SOAK_SECONDS   length of the wrk soak (default 300; the CI test runs 20)
#   AIDC_SOAK_BUILD_DIR build directory holding the test (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AIDC_SOAK_BUILD_DIR:-build}
export AIDC_SOAK_SECONDS=${AIDC_SOAK_SECONDS:-300}
command -v wrk >/dev/null || { echo "soak: wrk not found (Debian package wrk; scripts/setup.sh installs it)" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)" --target aidc_engine_server_abuse_tests >/dev/null
"$build/bin/aidc_engine_server_abuse_tests" --gtest_brief=1
