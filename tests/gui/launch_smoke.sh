#!/bin/sh
# Starts the real aidc-gui executable on the default scenario in a virtual X display and checks that it
# is still up (window shown, scenario loaded, no crash) after a few seconds; exit 77 (ctest: skipped)
# says why it cannot run. The end-to-end test drives the same MainWindow in-process to click through it.
# usage: launch_smoke.sh AIDC_GUI AIDC SCENARIOS_DIR
gui=$1
aidc=$2
scenarios=$3
if ! command -v xvfb-run >/dev/null 2>&1; then
  echo "SKIPPED: xvfb-run is not installed (apt-get install xvfb xauth)"
  exit 77
fi
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
HOME=$home XDG_CONFIG_HOME=$home AIDC_BIN=$aidc AIDC_SCENARIOS_DIR=$scenarios AIDC_GUI_RUNS_DIR=$home/runs \
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
  sh -c "\"$gui\" \"$scenarios/default.yaml\" & pid=\$!; sleep 5; if kill -0 \$pid 2>/dev/null; then kill \$pid; wait \$pid; exit 0; else wait \$pid; echo \"aidc-gui exited early with status \$?\"; exit 1; fi"
