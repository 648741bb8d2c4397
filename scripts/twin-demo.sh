#!/usr/bin/env bash
# The live twin on a real serving stack, all on loopback (docs/twin.md): three `aidc-engine serve
# --backend cpu` on a tiny random-weight model, HAProxy in front (aidc haproxy-config), Prometheus
# (Debian package) scraping the engines and HAProxy's exporter every second, `aidc load` with the
# twin-demo scenario's rate step (2 -> 6 req/s at 40 s), one server killed, and `aidc twin` on top.
# Everything it starts is stopped on exit (Ctrl-C included).
#
#   scripts/twin-demo.sh [--build DIR] [--out DIR] [--duration S] [--kill-at S] [--gui]
#
# --build     the build folder holding bin/aidc and bin/aidc-engine (default: build)
# --out       where logs, the load's outputs and the twin's outputs go (default: a new temp folder)
# --duration  seconds of load (default 120); --kill-at: when server 2 is killed (default 70; 0: never)
# --gui       also open aidc-gui's Live twin tab on the twin (needs a GUI build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
out=""
duration=120
kill_at=70
gui=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --kill-at) kill_at=$2; shift 2 ;;
    --gui) gui=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "twin-demo.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
aidc=$build/bin/aidc
engine=$build/bin/aidc-engine
for tool in "$aidc" "$engine" /usr/sbin/haproxy /usr/bin/prometheus; do
  [[ -x $tool ]] || { echo "twin-demo.sh: $tool not found (build aidc and aidc-engine; apt install haproxy prometheus)" >&2; exit 2; }
done
[[ -n $out ]] || out=$(mktemp -d /tmp/aidc-twin-demo-XXXXXX)
mkdir -p "$out"
scenario=$root/scenarios/examples/twin-demo.yaml
model=$root/tests/engine/data/tiny-llama.json

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ok() {  # URL, seconds
  for _ in $(seq $(( $2 * 10 ))); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "twin-demo.sh: $1 never answered" >&2; return 1
}

engine_ports=($(free_port) $(free_port) $(free_port))
lb_port=$(free_port); stats_port=$(free_port); prom_port=$(free_port); twin_port=$(free_port)
servers=()
for i in 0 1 2; do
  p=${engine_ports[$i]}
  "$engine" serve --model "$model" --random-weights --backend cpu --host 127.0.0.1 --port "$p" > "$out/engine$i.log" 2>&1 &
  pids+=($!)
  servers+=(--server "127.0.0.1:$p")
done
for p in "${engine_ports[@]}"; do wait_ok "http://127.0.0.1:$p/health" 60; done

"$aidc" haproxy-config "$scenario" "${servers[@]}" --bind "127.0.0.1:$lb_port" --stats-bind "127.0.0.1:$stats_port" --out "$out/haproxy.cfg"
/usr/sbin/haproxy -f "$out/haproxy.cfg" -db > "$out/haproxy.log" 2>&1 &
pids+=($!)

cat > "$out/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ['$out/twin/alerts.rules.yml']
scrape_configs:
  - job_name: vllm
    static_configs: [{targets: ['127.0.0.1:${engine_ports[0]}', '127.0.0.1:${engine_ports[1]}', '127.0.0.1:${engine_ports[2]}']}]
  - job_name: haproxy
    static_configs: [{targets: ['127.0.0.1:$stats_port']}]
  - job_name: aidc-twin
    static_configs: [{targets: ['127.0.0.1:$twin_port']}]
EOF
/usr/bin/prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" > "$out/prometheus.log" 2>&1 &
pids+=($!)
wait_ok "http://127.0.0.1:$prom_port/-/ready" 30

"$aidc" twin --prometheus "http://127.0.0.1:$prom_port" --scenario "$scenario" "${servers[@]}" \
  --listen "127.0.0.1:$twin_port" --out "$out/twin" --window 20 --forecast-every 15 --horizon 300 --jobs 1 \
  > "$out/twin.log" 2>&1 &
twin_pid=$!
pids+=($twin_pid)
wait_ok "http://127.0.0.1:$twin_port/metrics" 30
echo "http://127.0.0.1:$twin_port" > "$out/twin.url"  # for the GUI's test (tests/gui/run_twin_live.sh)
# The twin wrote the scenario's alert rules; Prometheus loads them (and scrapes the twin) on reload.
kill -HUP "${pids[4]}"

if [[ $gui == 1 ]]; then
  "$build/bin/aidc-gui" --twin "http://127.0.0.1:$twin_port" > "$out/gui.log" 2>&1 &
  pids+=($!)
fi

cat <<EOF
twin demo in $out
  engines    ${engine_ports[*]} (127.0.0.1), HAProxy 127.0.0.1:$lb_port, its exporter :$stats_port
  Prometheus http://127.0.0.1:$prom_port   twin http://127.0.0.1:$twin_port/metrics, /state, POST /whatif?rate=2&down=1
  load: ${duration} s of scenarios/examples/twin-demo.yaml; server 2 killed at ${kill_at} s
EOF
"$aidc" load "$scenario" --url "http://127.0.0.1:$lb_port" --set "duration_s=$duration" --out "$out/load" \
  --progress none --quiet --vocab 256 > "$out/load.log" 2>&1 &
load_pid=$!
if [[ $kill_at -gt 0 && $kill_at -lt $duration ]]; then
  sleep "$kill_at"
  kill -9 "${pids[1]}" && echo "killed server 2 (127.0.0.1:${engine_ports[1]})"
fi
wait "$load_pid" || echo "twin-demo.sh: aidc load failed, see $out/load.log" >&2
sleep 5
curl -sf -X POST "http://127.0.0.1:$twin_port/whatif?rate=2&down=0" > /dev/null
for _ in $(seq 120); do  # the forecast runs after any periodic one in progress
  curl -sf "http://127.0.0.1:$twin_port/state" | grep -q '"results"' && break
  sleep 0.5
done
echo "--- the twin's last row (measured | mirrored | forecast):"
python3 - "$out/twin/twin.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["source"] == "live"]
last = rows[-1]
for key in ("measured_rate_per_s", "measured_ttft_p99_s", "mirrored_ttft_p99_s", "measured_itl_mean_s", "mirrored_itl_mean_s",
            "replicas_up", "step_scale", "forecast_ttft_p99_s", "forecast_slo_breach_s", "forecast_replicas_to_add",
            "forecast_facility_kw", "forecast_pue"):
    print(f"  {key:28s} {last[key]}")
print(f"  {'rows (ticks)':28s} {len(rows)}")
EOF
echo "--- recalibrations:"; cat "$out/twin/recalibrations.csv"
echo "--- what-if (rate x2, replica 0 down):"; curl -sf "http://127.0.0.1:$twin_port/state" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["what_if"], indent=1))'
echo "outputs: $out/twin/ (twin.csv, recalibrations.csv, alerts.rules.yml, forecasts/)"
