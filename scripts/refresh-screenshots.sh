#!/usr/bin/env bash
# Refreshes the README's GUI screenshots (docs/images/) from the GUI end-to-end test, which writes them
# into the build tree (build/screenshots/) so that running the tests never changes tracked files.
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build -R 'gui.end_to_end|gui.twin_live' --output-on-failure
cp build/screenshots/gui-editor.png build/screenshots/gui-results.png build/screenshots/gui-compare.png \
   build/screenshots/gui-twin.png docs/images/
echo "refreshed docs/images from build/screenshots"
