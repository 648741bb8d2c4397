#!/bin/sh
# Test double for `aidc` in the controller tests (progress, failure, crash, cancel); the end-to-end test
# drives the real aidc. FAKE_AIDC_MODE picks the behaviour: ok (default), invalid, partial (batch: some runs
# failed, exit 2, batch.csv written), crash, hang.
verb=$1
shift
file=$1
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--out" ]; then out=$2; fi
  shift
done
data=$(dirname "$0")

case "${FAKE_AIDC_MODE:-ok}" in
  ok)
    case "$verb" in
      run)
        for fraction in 0.25 0.5 0.75; do
          echo "{\"event\":\"progress\",\"fraction\":$fraction,\"simulated_s\":150,\"wall_s\":0.1}" >&2
        done
        cp "$data"/run/* "$out"/
        echo "{\"event\":\"done\",\"out\":\"$out\"}" >&2 ;;
      batch) cp "$data"/batch.csv "$out"/ ;;
      plan) cp "$data"/plan.csv "$data"/plan.json "$out"/ ;;
      validate) echo "[]" ;;
    esac
    exit 0 ;;
  partial)
    cp "$data"/batch.csv "$out"/
    echo "  r4  failed: exit code 1"
    exit 2 ;;
  invalid)
    if [ "$verb" = validate ]; then
      # aidc names the file it was given: the document itself, or the snapshot of its unsaved edits.
      sed "s|\"scenario.yaml\"|\"$file\"|" "$data"/validate.json
    else
      echo "$file:14:13: error: deployment.replicas: must be at least 1" >&2
    fi
    exit 2 ;;
  crash)
    echo "{\"event\":\"progress\",\"fraction\":0.1,\"simulated_s\":60,\"wall_s\":0.1}" >&2
    kill -SEGV $$ ;;
  hang)
    echo "{\"event\":\"progress\",\"fraction\":0.1,\"simulated_s\":60,\"wall_s\":0.1}" >&2
    exec sleep 60 ;;
esac
