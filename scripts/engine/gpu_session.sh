#!/usr/bin/env bash
# One device-machine session: build the engine alone, run the GPU tests, the transformers parity,
# the bench (with the transformers baseline) and the profiles. Results land in $OUT (<= 8 files).
# Usage: scripts/engine/gpu_session.sh "<steps>", run in the order given, from:
#   build test kernels fp8 parity bench hf compile moe crossover mla profile profile-moe profile-h200 tokref serving fidelity
# What the GPU machine lacks (cpp-httplib, nlohmann-json, PCRE2, GoogleTest's sources, the simulator's
# `aidc`) comes in .deps/, made here by scripts/device/gather_deps.sh and carried by the device call.
#   kernels: each kernel family against its CPU reference and its micro-benchmark (`aidc-engine kernels`);
#   fp8: the fp8 GPU tests and fp8 benches of deepseek-llm-7b and deepseek-moe-16b;
#   bench: deepseek-llm-7b; hf: its transformers baseline; moe: bench of deepseek-moe-16b; crossover:
#   decode at 1-8 tokens with the GEMV/cuBLAS limit at 8 and at 2; mla: the bench of DeepSeek-V2-Lite;
#   profile: the two dense 7B profiles; profile-moe: deepseek-moe-16b's; profile-mla: DeepSeek-V2-Lite's; profile-fp8: deepseek-llm-7b's in fp8; compile: bench's shapes in
#   PyTorch under torch.compile with CUDA graphs (scripts/engine/torch_compile_baseline.py); tokref: the
#   tokenizer test's reference data from the Python `tokenizers` package (scripts/tokenizer_reference.py); serving: the H200
#   serving benchmark (scripts/serving/h200_bench.sh); fidelity: the engine-vs-simulator experiment
#   (scripts/fidelity/run.sh, docs/fidelity.md).
set -uo pipefail
steps="${1:-build test parity bench hf moe crossover mla profile profile-moe}"
OUT="${OUT:-/tmp/aidc-out}"
mkdir -p "$OUT"
log="$OUT/log.txt"
start=$(date +%s)
say() { echo "== [$(( $(date +%s) - start )) s] $*" | tee -a "$log"; }
models=scenarios/catalog/models
# Profile file names carry the card, as nvidia-smi names it: "NVIDIA H200" + 141 GB -> h200-141gb.
gpu_slug=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>/dev/null | head -1 |
  awk -F', ' '{n=tolower($1); sub(/^nvidia /,"",n); gsub(/ /,"-",n); printf "%s-%dgb", n, $2/1024+0.5}')

build() {
  say "$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,power.draw --format=csv,noheader)"
  prefix=""
  if [ ! -f /usr/include/gtest/gtest.h ] && [ -d .deps/googletest ]; then
    say "building GoogleTest from the carried sources"
    cmake -S .deps/googletest -B /tmp/gtest-build -DCMAKE_INSTALL_PREFIX=/tmp/gtest -DBUILD_GMOCK=OFF >>"$log" 2>&1 &&
      cmake --build /tmp/gtest-build -j16 >>"$log" 2>&1 && cmake --install /tmp/gtest-build >>"$log" 2>&1
    prefix="/tmp/gtest"
  fi
  export PKG_CONFIG_PATH="$PWD/.deps/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  # One nlohmann-json for every target: the machine's own where it has one (the carried copy would
  # sit first on the server's include path only, and the two versions' symbols differ).
  [ -d /usr/include/nlohmann ] && rm -rf .deps/include/nlohmann
  cmake -S . -B build -DAIDC_ENGINE_ONLY=ON -DCMAKE_CUDA_ARCHITECTURES=90a "-DCMAKE_PREFIX_PATH=$PWD/.deps;$prefix" >>"$log" 2>&1 || { say "configure failed"; tail -30 "$log"; exit 1; }
  cmake --build build -j16 2>&1 | grep -E "error|warning|Error" | tee -a "$log"
  [ -x build/bin/aidc-engine ] || { say "build failed"; exit 1; }
}

bench_model() {  # model, extra bench options...
  local m=$1; shift
  build/bin/aidc-engine bench --model $models/$m.json --random-weights --context 512 "$@" 2>&1 | tee -a "$log"
}

profile_model() {
  say "profile $1"
  build/bin/aidc-engine profile --model $models/$1.json --random-weights \
    --out "$OUT/${1}__${gpu_slug}__bf16-tp1.yaml" 2>&1 | tail -3 | tee -a "$log"
}

for step in $steps; do
  say "$step"
  case $step in
    build) build ;;
    test)
      build/bin/aidc_engine_tests 2>&1 | tail -3 | tee -a "$log"
      build/bin/aidc_engine_gpu_tests 2>&1 | grep -E "parity|batched|OK|FAILED|PASSED|SKIPPED|Failure|error|Expected|Which|actual|Value of|rel error|exception|greedy" | tee -a "$log" ;;
    parity)
      PYTHONUNBUFFERED=1 timeout 300 python3 scripts/hf_parity.py --engine build/bin/aidc-engine --out "$OUT/parity.md" 2>&1 | tail -20 | tee -a "$log" ;;
    bench) bench_model deepseek-llm-7b --batches 1,8,32,64 --prefill 512,2048,4096 --json "$OUT/bench-deepseek-llm-7b.json" ;;
    compile)  # the stronger baseline: the same shapes in plain PyTorch under torch.compile + CUDA graphs
      PYTHONUNBUFFERED=1 timeout 400 python3 scripts/engine/torch_compile_baseline.py --model $models/deepseek-llm-7b.json \
        --batches 1,32 --json "$OUT/compile-deepseek-llm-7b.json" 2>&1 | grep -v Warning | tail -5 | tee -a "$log" ;;
    hf)
      PYTHONUNBUFFERED=1 timeout 300 python3 scripts/engine/hf_baseline.py --model $models/deepseek-llm-7b.json --batches 1,32 \
        --json "$OUT/hf-deepseek-llm-7b.json" 2>&1 | grep -v Warning | tail -5 | tee -a "$log" ;;
    moe) bench_model deepseek-moe-16b --batches 1,8,32,64 --prefill 512,2048,4096 --json "$OUT/bench-deepseek-moe-16b.json" ;;
    crossover)  # tables in the log only: at most 8 files come back from $OUT
      for limit in 8 2; do bench_model deepseek-llm-7b --batches 1,2,4,8 --prefill 512 --steps 20 --gemv-max-tokens $limit; done ;;
    mla) bench_model DeepSeek-V2-Lite --batches 1,8,32 --prefill 512,2048,4096 --json "$OUT/bench-deepseek-v2-lite.json" ;;
    profile) for m in deepseek-llm-7b DeepSeek-R1-Distill-Qwen-7B; do profile_model $m; done ;;
    profile-moe) profile_model deepseek-moe-16b ;;
    profile-h200)  # every catalog model that fits one H200 in bf16
      for m in deepseek-llm-7b DeepSeek-R1-Distill-Qwen-1.5B DeepSeek-R1-Distill-Qwen-7B DeepSeek-R1-Distill-Llama-8B \
               DeepSeek-R1-Distill-Qwen-14B deepseek-moe-16b DeepSeek-V2-Lite; do profile_model $m; done ;;
    profile-mla) profile_model DeepSeek-V2-Lite ;;
    profile-fp8)  # deepseek-llm-7b with fp8 block-scaled weights, timed as the engine runs them
      say "profile deepseek-llm-7b fp8"
      build/bin/aidc-engine profile --model $models/deepseek-llm-7b.json --random-weights --precision fp8 \
        --out "$OUT/deepseek-llm-7b__${gpu_slug}__fp8-tp1.yaml" 2>&1 | tail -3 | tee -a "$log" ;;
    serving) bash scripts/serving/h200_bench.sh ;;
    fidelity) bash scripts/fidelity/run.sh ;;
    multi-gpu)  # issue 16 (docs/benchmarks/engine-multi-gpu.md): the sharded CPU check, the GPU rank group (TP 2
      # logits and greedy tokens against one GPU and the CPU), generate at TP n vs TP 1, the benches, NCCL bandwidth
      n=$(nvidia-smi -L | wc -l)
      build/bin/aidc_engine_parallel_tests 2>&1 | tail -1 | tee -a "$log"
      timeout 60 build/bin/aidc_engine_parallel_gpu_tests 2>&1 | grep -E "OK|FAILED|PASSED|SKIPPED|Failure|tp2|Expected|Which|actual|error" | tee -a "$log"
      for tp in 1 "$n"; do  # greedy tokens: equal at every world size
        echo "generate tiny-llama TP $tp: $(timeout 30 build/bin/aidc-engine generate --backend gpu --random-weights \
          --model tests/engine/data/tiny-llama.json --prompt 1,2,3,4,5,6,7,8 --max-new 32 --tensor-parallel $tp 2>&1 | tail -1)" | tee -a "$log"
      done
      # Full-size logits at TP n against TP 1 (random weights leave near-ties, so tokens could part: compare logits)
      for m in deepseek-llm-7b DeepSeek-R1-Distill-Llama-8B; do
        for tp in 1 "$n"; do
          timeout 60 build/bin/aidc-engine logits --backend gpu --model $models/$m.json --random-weights \
            --tokens "$(seq -s, 1 64)" --tensor-parallel $tp --out /tmp/logits-$m-tp$tp.bin 2>&1 | tail -2 | tee -a "$log"
        done
        python3 -c "import array,math,sys
a,b=(array.array('f',open(f,'rb').read()) for f in sys.argv[2:4])
num=sum((x-y)**2 for x,y in zip(a,b)); den=sum(y*y for y in b)
print(sys.argv[1], 'TP $n vs TP 1 logits: rel error %.2e over %d values' % (math.sqrt(num/den) if len(a)==len(b) else float('inf'), len(b)))" \
          $m /tmp/logits-$m-tp$n.bin /tmp/logits-$m-tp1.bin 2>&1 | tee -a "$log"
      done
      timeout 30 build/bin/aidc-engine nccl-bench --gpus "$n" --json "$OUT/nccl-allreduce-$n.json" 2>&1 | tee -a "$log"
      for tp in 1 "$n"; do
        timeout 60 build/bin/aidc-engine bench --model $models/deepseek-llm-7b.json --random-weights --context 512 \
          --tensor-parallel $tp --batches 1,8,32,64 --prefill 512,4096 --steps 20 \
          --json "$OUT/bench-deepseek-llm-7b-tp$tp.json" 2>&1 | tee -a "$log"
      done
      timeout 60 build/bin/aidc-engine bench --model $models/DeepSeek-R1-Distill-Qwen-32B.json --random-weights --context 512 \
        --tensor-parallel "$n" --batches 1,8,32,64 --prefill 512,4096 --steps 20 \
        --json "$OUT/bench-r1-distill-qwen-32b-tp$n.json" 2>&1 | tee -a "$log" ;;
    kernels)  # every kernel family against its CPU reference, then each family's fraction of its limit
      build/bin/aidc_engine_kernel_gpu_tests 2>&1 | grep -E "OK \]|FAILED|PASSED|SKIPPED|Failure|Expected|Which|actual|Value of" | tee -a "$log"
      build/bin/aidc-engine kernels --json "$OUT/kernels.json" 2>&1 | tee -a "$log" ;;
    fp8)  # fp8 e4m3 block-scaled weights: kernels and the tiny checkpoint against their references, then the benches
      build/bin/aidc_engine_fp8_gpu_tests 2>&1 | grep -E "fp8 parity|OK \]|FAILED|PASSED|SKIPPED|Failure|Expected|Which|actual" | tee -a "$log"
      bench_model deepseek-llm-7b --precision fp8 --batches 1,8,32,64 --prefill 512,2048,4096 --json "$OUT/bench-deepseek-llm-7b-fp8.json"
      bench_model deepseek-moe-16b --precision fp8 --batches 1,8,32,64 --prefill 512,4096 --json "$OUT/bench-deepseek-moe-16b-fp8.json" ;;
    tokref) python3 scripts/tokenizer_reference.py --out "$OUT/tokenizer" 2>&1 | tail -5 | tee -a "$log" ;;
    *) say "unknown step $step"; exit 2 ;;
  esac
done
say "done"
