#!/usr/bin/env bash
# The fidelity experiment of docs/fidelity.md, one command on the GPU machine after
# `scripts/engine/gpu_session.sh build` (i.e. run as `scripts/engine/gpu_session.sh "build fidelity"`):
# one `aidc-engine serve` of deepseek-llm-7b (bf16, random weights) on the H200 with the simulator's batch
# limits and KV-cache size; `aidc load` sends each load of scenarios/fidelity/ and records every request;
# `aidc run` replays the same requests (arrival times and lengths) on the engine's H200 profile; NVML power
# is sampled from the server's /metrics twice a second. compare.py makes the table from the raw files.
# The server logs every engine iteration (steps.csv: start, end, batch) to hold the step-time model alone.
#   capacity: 256 closed-loop users (the batch limit) without think time, completions/s in 8-32 s
#   poisson-30/60/80/95: open-loop Poisson at that % of capacity; closed-think: 48 users, 3 s think time;
#   bursty: gamma arrivals (CV 3) at 60%; long-prompt: prompts ~3,000 tokens at 60% of that mix's capacity.
# Results: $OUT/fidelity.md (the table) and $OUT/fidelity.tgz (every run's outputs, power.csv, server log).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
OUT="${OUT:-/tmp/aidc-out}"
work=$(mktemp -d)
log="$OUT/log.txt"
say() { echo "== [fidelity $(date +%T)] $*" | tee -a "$log"; }
aidc() { LD_LIBRARY_PATH="$repo/.deps/lib" "${AIDC:-$repo/.deps/bin/aidc}" "$@"; }
dir=scenarios/fidelity
port=8000
url=http://127.0.0.1:$port
py() { python3 "$repo/scripts/fidelity/compare.py" "$@"; }
get() { python3 -c "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" "$1"; }

# The simulator's KV cache for this GPU and model (blocks of 16 tokens): the server gets the same.
aidc run $dir/poisson.yaml --set duration_s=1 --set warmup_s=0 --out "$work/kv" --quiet >/dev/null 2>&1
kv_tokens=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['kv_cache']['blocks_per_replica']*16)" "$work/kv/summary.json")
say "KV cache: $kv_tokens tokens (the simulator's figure for H200-SXM at memory fraction 0.9)"

build/bin/aidc-engine serve --model scenarios/catalog/models/deepseek-llm-7b.json --random-weights --backend gpu \
  --host 127.0.0.1 --port $port --max-seqs 256 --max-batch-tokens 8192 --kv-tokens "$kv_tokens" --max-queue 3000 \
  --step-log "$work/steps.csv" \
  >"$work/server.log" 2>&1 &
server=$!
python3 - "$url/metrics" "$work/power.csv" <<'PY' &
import sys, time, urllib.request
url, out = sys.argv[1], sys.argv[2]
with open(out, "w", buffering=1) as f:
    f.write("t,watts\n")
    while True:
        t = time.time()
        try:
            text = urllib.request.urlopen(url, timeout=2).read().decode()
            w = next((l.split()[-1] for l in text.splitlines() if l.startswith("DCGM_FI_DEV_POWER_USAGE")), "")
            f.write(f"{t:.3f},{w}\n")
        except Exception:
            pass
        time.sleep(max(0.0, 0.5 - (time.time() - t)))
PY
sampler=$!
trap 'kill $sampler 2>/dev/null; kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 300); do
  get $url/health >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { say "server exited"; tail -20 "$work/server.log" | tee -a "$log"; exit 1; }
  sleep 0.5
done
say "server up"
: >"$work/loads.txt"

load() {  # name scenario overrides...
  local name=$1 scenario=$2; shift 2
  local start; start=$(date +%s.%N)
  aidc load "$scenario" --url $url --out "$work/$name" --timeout 60 --quiet "$@" 2>>"$work/load.err"
  py replay "$work/$name" "$work/$name-replay-input"
  aidc run "$work/$name-replay-input/replay.yaml" --out "$work/$name-sim" --quiet 2>>"$work/sim.err"
  echo "$name $name $name-sim $start" >>"$work/loads.txt"
  say "$name done"
  # What is done so far comes back even if the call runs out of time.
  (cd "$work" && py table . >"$OUT/fidelity.md" 2>>"$work/sim.err"; tar czf "$OUT/fidelity.tgz" .)
}

load capacity $dir/capacity.yaml
cap=$(py capacity "$work/capacity/requests.csv" 8 32)
say "capacity of the mix: $cap requests/s"
load capacity-long $dir/capacity-long.yaml
cap_long=$(py capacity "$work/capacity-long/requests.csv" 8 32)
say "capacity of the long-prompt mix: $cap_long requests/s"
for pct in 30 60 80 95; do
  load poisson-$pct $dir/poisson.yaml --set workload.schedule.rate_per_s=$(python3 -c "print(round($cap*$pct/100, 3))")
done
load closed-think $dir/closed-think.yaml
load bursty $dir/bursty.yaml --set workload.schedule.rate_per_s=$(python3 -c "print(round($cap*0.6, 3))")
load long-prompt $dir/long-prompt.yaml --set workload.schedule.rate_per_s=$(python3 -c "print(round($cap_long*0.6, 3))")

get $url/metrics >"$work/metrics-end.txt"
kill $sampler; kill -TERM $server; wait $server; trap - EXIT
cd "$work"
{
  echo "capacity: $cap requests/s (poisson mix), $cap_long requests/s (long-prompt mix); KV cache $kv_tokens tokens"
  py table .
} >"$OUT/fidelity.md"
cat "$OUT/fidelity.md" >>"$log"
tail -5 load.err sim.err 2>/dev/null | tee -a "$log"
tar czf "$OUT/fidelity.tgz" .
