#!/usr/bin/env bash
# One device-machine session: build the engine alone, run the GPU tests, the transformers parity,
# the bench (with the transformers baseline) and the profiles. Results land in $OUT (<= 8 files).
# Usage: scripts/engine/gpu_session.sh "<steps>"   steps from: build test parity moe mla bench profile
#   moe: bench and profile of the MoE model (deepseek-moe-16b); mla: a short bench of DeepSeek-V2-Lite.
set -uo pipefail
steps="${1:-build test parity moe mla bench profile}"
OUT="${OUT:-/tmp/aidc-out}"
mkdir -p "$OUT"
log="$OUT/log.txt"
start=$(date +%s)
say() { echo "== [$(( $(date +%s) - start )) s] $*" | tee -a "$log"; }
has() { [[ " $steps " == *" $1 "* ]]; }
models=scenarios/catalog/models

if has build; then
  say "$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,power.draw --format=csv,noheader)"
  prefix=""
  if [ ! -f /usr/include/gtest/gtest.h ] && [ -d .deps/googletest ]; then
    say "building GoogleTest from the carried sources"
    cmake -S .deps/googletest -B /tmp/gtest-build -DCMAKE_INSTALL_PREFIX=/tmp/gtest -DBUILD_GMOCK=OFF >>"$log" 2>&1 &&
      cmake --build /tmp/gtest-build -j16 >>"$log" 2>&1 && cmake --install /tmp/gtest-build >>"$log" 2>&1
    prefix="-DCMAKE_PREFIX_PATH=/tmp/gtest"
  fi
  cmake -S . -B build -DAIDC_ENGINE_ONLY=ON -DCMAKE_CUDA_ARCHITECTURES=90a $prefix >>"$log" 2>&1 || { say "configure failed"; tail -30 "$log"; exit 1; }
  cmake --build build -j16 2>&1 | grep -E "error|warning|Error" | tee -a "$log"
  [ -x build/bin/aidc-engine ] || { say "build failed"; exit 1; }
fi
if has test; then
  say "tests"
  build/bin/aidc_engine_tests 2>&1 | tail -3 | tee -a "$log"
  build/bin/aidc_engine_gpu_tests 2>&1 | grep -E "parity|batched|OK|FAILED|PASSED|SKIPPED|Failure|error|Expected|Which|actual|Value of|rel error|exception|greedy" | tee -a "$log"
fi
if has parity; then
  say "transformers parity"
  PYTHONUNBUFFERED=1 timeout 300 python3 scripts/hf_parity.py --engine build/bin/aidc-engine --out "$OUT/parity.md" 2>&1 | tail -15 | tee -a "$log"
fi
if has moe; then
  m=deepseek-moe-16b
  say "bench $m"
  build/bin/aidc-engine bench --model $models/$m.json --random-weights --batches 1,8,32,64 --context 512 \
    --prefill 512,2048,4096 --json "$OUT/bench-$m.json" 2>&1 | tee -a "$log"
  say "profile $m"
  build/bin/aidc-engine profile --model $models/$m.json --random-weights \
    --out "$OUT/${m}__h100-80gb-hbm3__bf16-tp1.yaml" 2>&1 | tail -3 | tee -a "$log"
fi
if has mla; then
  m=DeepSeek-V2-Lite
  say "bench $m"
  build/bin/aidc-engine bench --model $models/$m.json --random-weights --batches 1,8,32 --context 512 \
    --prefill 512 2>&1 | tee -a "$log"  # table in the log only: at most 8 files come back from $OUT
fi
if has bench; then
  say "bench deepseek-llm-7b"
  build/bin/aidc-engine bench --model $models/deepseek-llm-7b.json --random-weights --batches 1,8,32,64 --context 512 \
    --prefill 512,2048,4096 --json "$OUT/bench-deepseek-llm-7b.json" 2>&1 | tee -a "$log"
  say "transformers baseline deepseek-llm-7b"
  PYTHONUNBUFFERED=1 timeout 300 python3 scripts/engine/hf_baseline.py --model $models/deepseek-llm-7b.json --batches 1,32 \
    --json "$OUT/hf-deepseek-llm-7b.json" 2>&1 | grep -v Warning | tail -5 | tee -a "$log"
fi
if has profile; then
  for m in deepseek-llm-7b DeepSeek-R1-Distill-Qwen-7B; do
    say "profile $m"
    build/bin/aidc-engine profile --model $models/$m.json --random-weights \
      --out "$OUT/${m}__h100-80gb-hbm3__bf16-tp1.yaml" 2>&1 | tail -3 | tee -a "$log"
  done
fi
say "done"
