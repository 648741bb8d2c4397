#!/bin/sh
# The Live twin tab against the demo stack: starts scripts/twin-demo.sh (real Prometheus, HAProxy,
# three engines, aidc load, aidc twin; all loopback), runs the GUI test in a virtual X display while it
# serves, then stops the demo. Exit 77 (ctest: skipped) says why it cannot run.
# usage: run_twin_live.sh TEST_BINARY BUILD_DIR SCREENSHOT_DIR
test_binary=$1
build=$2
screenshots=$3
root=$(cd "$(dirname "$0")/../.." && pwd)

for tool in xvfb-run /usr/bin/prometheus /usr/sbin/haproxy "$build/bin/aidc" "$build/bin/aidc-engine"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool is missing"
    exit 77
  fi
done
out=$(mktemp -d)
"$root/scripts/twin-demo.sh" --build "$build" --out "$out" --duration 90 --kill-at 60 > "$out/demo.log" 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null; wait $demo 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 600); do
  [ -s "$out/twin.url" ] && break
  kill -0 $demo 2>/dev/null || { cat "$out/demo.log"; exit 1; }
  sleep 0.2
done
[ -s "$out/twin.url" ] || { echo "the demo's twin never came up"; cat "$out/demo.log"; exit 1; }
AIDC_TWIN_URL=$(cat "$out/twin.url") AIDC_GUI_SCREENSHOTS=$screenshots AIDC_BIN=$build/bin/aidc \
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" "$test_binary"
