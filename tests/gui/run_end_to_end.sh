#!/bin/sh
# Runs the aidc-gui end-to-end test in a virtual X display; exit 77 (ctest: skipped) says why it cannot.
# usage: run_end_to_end.sh TEST_BINARY AIDC SCENARIOS_DIR SCREENSHOT_DIR
test_binary=$1
aidc=$2
scenarios=$3
screenshots=$4

if ! command -v xvfb-run >/dev/null 2>&1; then
  echo "SKIPPED: xvfb-run is not installed (apt-get install xvfb xauth)"
  exit 77
fi
if [ ! -x "$aidc" ]; then
  echo "SKIPPED: the aidc executable is missing at $aidc (build it first: cmake --build build)"
  exit 77
fi
if [ ! -f "$scenarios/default.yaml" ]; then
  echo "SKIPPED: $scenarios/default.yaml does not exist"
  exit 77
fi

runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
AIDC_BIN=$aidc AIDC_SCENARIOS_DIR=$scenarios AIDC_GUI_RUNS_DIR=$runs AIDC_GUI_SCREENSHOTS=$screenshots \
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" "$test_binary"
