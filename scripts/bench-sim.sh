#!/usr/bin/env bash
# Simulator speed benchmark (docs/benchmarks/sim.md): 1,024 H100s serving deepseek-llm-7b at ~70% of
# capacity for one simulated hour, and beside it, in the same run, the first simulated 5 minutes with
# fast-forward off and on (the step-by-step reference the fast path must match and beat; per-request
# equality is proven by tests/sim EndToEnd.FastForward*, here the distributions are compared).
set -euo pipefail
cd "$(dirname "$0")/.."
aidc=${AIDC:-build/bin/aidc}
scenario=scenarios/benchmarks/sim-1024-h100.yaml
out=${1:-runs/bench-sim}
mkdir -p "$out"
echo "date: $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
run() {  # name, extra args...
  local name=$1; shift
  /usr/bin/time -f "%e %U %M" -o "$out/$name.time" "$aidc" run "$scenario" --out "$out/$name" --progress none --quiet "$@"
  read -r wall user rss < "$out/$name.time"
  python3 - "$out/$name/summary.json" "$name" "$wall" "$user" "$rss" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); name, wall, user, rss = sys.argv[2], *map(float, sys.argv[3:])
sim = s["sim"]
print(f"| {name} | {sim['simulated_s']:.0f} | {s['requests']['arrived']:,} | {sim['events']:,} | {wall:.1f} | {user:.1f} "
      f"| {sim['simulated_s'] / wall:.1f} | {rss / 1024:.0f} | {s['latency_s']['ttft']['p99'] * 1000:.0f} "
      f"| {s['latency_s']['tpot']['p99'] * 1000:.1f} | {s['gpus']['utilization_mean']:.2f} | {s['kv_cache']['utilization_mean']:.2f} |")
PY
}
echo "| run | simulated s | requests | events | wall s | user s | sim s / wall s | max RSS MB | TTFT p99 ms | TPOT p99 ms | GPU busy | KV use |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
run step-by-step-300s --set duration_s=300 --set warmup_s=60 --set simulation.fast_forward=false
run fast-forward-300s --set duration_s=300 --set warmup_s=60
run fast-forward-3600s
