#!/usr/bin/env bash
# The H200 serving benchmark of docs/benchmarks/serving.md, on the GPU machine after
# `scripts/engine/gpu_session.sh build` (aidc-engine built there; the simulator's `aidc` carried in .deps/
# by scripts/device/gather_deps.sh). deepseek-llm-7b, random bf16 weights, one `aidc-engine serve`:
#   1. open-loop Poisson at each rate of $RATES (lognormal prompts mean 1,024, outputs mean 256),
#      the last one past saturation;
#   2. 64 closed-loop users without think time (decode-bound), against `aidc-engine bench`'s decode step at
#      batch 64 measured right after on the same GPU.
# Results: $OUT/serving-bench.tgz (every run's outputs, the server log, /metrics snapshots) and log lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/aidc-out}"
RATES="${RATES:-4 8 14 24}"
run_s="${RUN_S:-40}"  # seconds of arrivals per load; then at most 30 s of drain
work=$(mktemp -d)
log="$OUT/log.txt"
say() { echo "== [serving] $*" | tee -a "$log"; }
aidc() { LD_LIBRARY_PATH="$PWD/.deps/lib" .deps/bin/aidc "$@"; }
model=scenarios/catalog/models/deepseek-llm-7b.json
port=8000
url=http://127.0.0.1:$port
get() { python3 -c "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" "$1"; }

build/bin/aidc-engine serve --model $model --random-weights --backend gpu --host 127.0.0.1 --port $port \
  --max-seqs 256 --kv-tokens 200000 --max-queue 2048 >"$work/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 300); do
  get $url/health >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { say "server exited"; tail -20 "$work/server.log" | tee -a "$log"; exit 1; }
  sleep 0.5
done
say "server up: $(grep -i 'load' "$work/server.log" | head -2 | tr '\n' ' ')"
get $url/metrics >"$work/metrics-start.txt"

for rate in $RATES; do
  say "open loop $rate req/s"
  aidc load scenarios/benchmarks/serving-h200-deepseek-7b.yaml --url $url --out "$work/open-$rate" \
    --set workload.schedule.rate_per_s=$rate --set duration_s=$run_s --set warmup_s=5 --timeout 30 2>>"$work/load-$rate.err" | tail -12 | tee -a "$log"
  get $url/metrics >"$work/metrics-open-$rate.txt"
done

say "decode-bound: 64 closed-loop users"
aidc load scenarios/benchmarks/serving-h200-decode-64.yaml --url $url --out "$work/decode-64" --timeout 30 \
  --set duration_s=$run_s --set warmup_s=5 \
  2>>"$work/load-decode.err" | tail -12 | tee -a "$log"
get $url/metrics >"$work/metrics-decode-64.txt"
kill -TERM $server; wait $server; trap - EXIT
say "server exit status $?"

say "engine bench at the same batch (decode 64 at context 384: the mean of 128 + 512/2)"
build/bin/aidc-engine bench --model $model --random-weights --batches 1,32,64 --context 384 --prefill 1024,2048 \
  --json "$work/bench.json" 2>&1 | tee -a "$log"
cp "$work/server.log" "$work/bench.json" "$OUT/" 2>/dev/null
tar czf "$OUT/serving-bench.tgz" -C "$work" .
