#!/usr/bin/env python3
"""The fidelity experiment's bookkeeping (docs/fidelity.md), independent of aidc's own summaries:
every figure is computed here from the raw requests.csv of both sides with one set of definitions.

  compare.py capacity REQUESTS.csv FROM_S TO_S     completed requests/s finishing in [FROM_S, TO_S)
  compare.py replay LOAD_DIR REPLAY_DIR            the load's requests as a trace + a scenario replaying them
  compare.py table WORK_DIR                        the measured-vs-simulated table of every load in
                                                   WORK_DIR/loads.txt (name, load dir, sim dir, start time)
"""
import csv
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DRAIN_S = 120  # longer than aidc load's --timeout in run.sh
PROFILE = os.path.join(REPO, "scenarios/calibration/deepseek-llm-7b__h200-140gb__bf16-tp1.yaml")


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def percentile(values, p):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def latencies(path, warmup_s, end_s):
    """TTFT, TPOT and E2E of the completed requests that arrived in [warmup_s, end_s), and the output
    tokens/s of all requests' tokens finished in that window."""
    ttft, tpot, e2e = [], [], []
    arrived = completed = 0
    for r in rows(path):
        a = float(r["arrival_s"])
        if a < warmup_s or a >= end_s:
            continue
        arrived += 1
        if r["status"] != "completed":
            continue
        completed += 1
        first, finish, out = float(r["first_token_s"]), float(r["finish_s"]), int(r["output_tokens"])
        ttft.append(first - a)
        e2e.append(finish - a)
        if out > 1:
            tpot.append((finish - first) / (out - 1))
    return {"ttft": ttft, "tpot": tpot, "e2e": e2e, "arrived": arrived, "completed": completed}


def throughput(path, warmup_s, end_s):
    """Output tokens/s generated in [warmup_s, end_s): each completed request's tokens spread evenly
    between its first token and its finish (neither side records every token's time in requests.csv)."""
    tokens = 0.0
    for r in rows(path):
        if r["status"] != "completed":
            continue
        first, finish, out = float(r["first_token_s"]), float(r["finish_s"]), int(r["output_tokens"])
        if out <= 1 or finish <= first:
            tokens += out if warmup_s <= first < end_s else 0
            continue
        overlap = max(0.0, min(finish, end_s) - max(first, warmup_s))
        tokens += 1 if warmup_s <= first < end_s else 0
        tokens += (out - 1) * overlap / (finish - first)
    return tokens / (end_s - warmup_s)


def capacity(path, from_s, to_s):
    done = sum(1 for r in rows(path) if r["status"] == "completed" and from_s <= float(r["finish_s"]) < to_s)
    return done / (to_s - from_s)


def replay(load_dir, replay_dir):
    os.makedirs(replay_dir, exist_ok=True)
    with open(os.path.join(load_dir, "scenario.yaml")) as f:
        scenario = f.read()
    trace = os.path.join(replay_dir, "trace.csv")
    with open(trace, "w") as f:
        f.write("arrival_s,prompt_tokens,output_tokens,session\n")
        for r in sorted(rows(os.path.join(load_dir, "requests.csv")), key=lambda r: float(r["arrival_s"])):
            f.write(f'{r["arrival_s"]},{r["prompt_tokens"]},{r["output_tokens"]},{r["id"]}\n')
    # The load's own resolved scenario (scenario.yaml in its output) with the trace as its workload and the
    # engine's H200 profile as the step-time model. `aidc load` waits for the requests in flight at the
    # end (up to its --timeout); the replay runs on past the last arrival so that they finish there too.
    with open(os.path.join(replay_dir, "base.yaml"), "w") as f:
        f.write(scenario)
    _, duration = window(os.path.join(load_dir, "scenario.yaml"))
    with open(os.path.join(replay_dir, "replay.yaml"), "w") as f:
        f.write("extends: base.yaml\n"
                f"duration_s: {duration + DRAIN_S:g}\n"
                "performance: {model: calibrated, calibration: " + PROFILE + "}\n"
                # run.sh's load generator shares the server's host: requests cross loopback, not the
                # default 5 ms users-to-site link (measured loopback round trip on the H200 host: < 0.1 ms).
                "datacenter: {network: {frontend: {latency_ms: 0.02}}}\n"
                # The facility model prices each GPU's power; 1 s bins to average over the measured window.
                "facility: {pue_target: 1.2}\n"
                "output: {timeseries_interval_s: 1}\n"
                "workload: {kind: trace, trace_file: trace.csv}\n")


def window(scenario_yaml):
    """warmup_s and duration_s of the scenario a run wrote beside its results."""
    text = open(scenario_yaml).read()
    value = lambda key: float(re.search(rf"^{key}:\s*([0-9.eE+-]+)", text, re.M).group(1))
    return value("warmup_s"), value("duration_s")


def power_mean(power_csv, t0, t1):
    watts = [float(r["watts"]) for r in rows(power_csv) if t0 <= float(r["t"]) < t1 and r["watts"]]
    return sum(watts) / len(watts) if watts else float("nan")


def simulated_power(timeseries_csv, t0, t1):
    """Mean of the serving GPU's board power over the 1 s bins that end in (t0, t1]."""
    watts = [float(r["serving_gpu_w"]) for r in rows(timeseries_csv) if t0 < float(r["t_s"]) <= t1]
    return sum(watts) / len(watts) if watts else float("nan")


def error(sim, measured):
    return (sim - measured) / measured * 100 if measured and not math.isnan(measured) else float("nan")


def table(work):
    out = []
    for line in open(os.path.join(work, "loads.txt")):
        name, load_dir, sim_dir, start = line.split()
        warmup, end = window(os.path.join(load_dir, "scenario.yaml"))
        m = latencies(os.path.join(load_dir, "requests.csv"), warmup, end)
        s = latencies(os.path.join(sim_dir, "requests.csv"), warmup, end)
        mt = throughput(os.path.join(load_dir, "requests.csv"), warmup, end)
        st = throughput(os.path.join(sim_dir, "requests.csv"), warmup, end)
        out.append(f"\n### {name}\n")
        out.append(f"{m['arrived']} requests arrived in the measured window ({warmup:g}–{end:g} s); "
                   f"completed: {m['completed']} served, {s['completed']} simulated.\n")
        out.append("| metric | stat | measured | simulated | error |")
        out.append("|---|---|---|---|---|")
        for metric in ("ttft", "tpot", "e2e"):
            for stat, fn in (("mean", lambda v: sum(v) / len(v) if v else float("nan")),
                             ("p50", lambda v: percentile(v, 50)), ("p90", lambda v: percentile(v, 90)),
                             ("p99", lambda v: percentile(v, 99))):
                a, b = fn(m[metric]) * 1000, fn(s[metric]) * 1000
                out.append(f"| {metric.upper()} ms | {stat} | {a:.1f} | {b:.1f} | {error(b, a):+.1f}% |")
        out.append(f"| output tok/s | | {mt:.0f} | {st:.0f} | {error(st, mt):+.1f}% |")
        power_csv = os.path.join(work, "power.csv")
        if os.path.exists(power_csv):
            pm = power_mean(power_csv, float(start) + warmup, float(start) + end)
            ps = simulated_power(os.path.join(sim_dir, "timeseries.csv"), warmup, end)
            out.append(f"| GPU power W | mean | {pm:.0f} | {ps:.0f} | {error(ps, pm):+.1f}% |")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) == 5 and argv[1] == "capacity":
        print(f"{capacity(argv[2], float(argv[3]), float(argv[4])):.3f}")
    elif len(argv) == 4 and argv[1] == "replay":
        replay(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "table":
        sys.stdout.write(table(argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
