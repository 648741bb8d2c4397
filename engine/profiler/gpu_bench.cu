// Bench and profile on the GPU. Every figure is measured in the same process: the device's copy and
// GEMM peaks first, then the model, so fractions of peak compare like with like.
#include <cublas_v2.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>

#include "common/numeric.h"
#include "core/calibration/writer.hpp"
#include "core/model/operator_loads.hpp"
#include "gpu/gpu_model.h"
#include "kernels/common.cuh"
#include "profiler/device_peaks.h"
#include "profiler/gpu_bench.h"
#include "profiler/nvml.h"
#include "profiler/report.h"
#include "runtime/engine.h"

namespace aidc {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kProfileStepTokens = 4096;  // the profiled model's largest step

// Deterministic token ids for synthetic prompts.
int token_at(const ModelConfig& c, uint64_t seq, uint64_t i) {
  return static_cast<int>(mix64(seq * 1000003ull + i) % static_cast<uint64_t>(c.vocab));
}

// A decode step: `batch` sequences with `context` cached tokens each, blocks laid out one after another.
StepBatch decode_step(const ModelConfig& c, int batch, int context, int block_tokens) {
  StepBatch b;
  const int per_seq = ceil_div(context + 1, block_tokens);
  for (int s = 0; s < batch; ++s) {
    SeqChunk chunk;
    chunk.start_pos = context;
    chunk.n_tokens = 1;
    for (int k = 0; k < per_seq; ++k) chunk.blocks.push_back(s * per_seq + k);
    b.seqs.push_back(chunk);
    b.tokens.push_back(token_at(c, s, context));
  }
  return b;
}

StepBatch prefill_step(const ModelConfig& c, int tokens, int block_tokens) {
  StepBatch b;
  SeqChunk chunk;
  chunk.n_tokens = tokens;
  for (int k = 0; k < ceil_div(tokens, block_tokens); ++k) chunk.blocks.push_back(k);
  b.seqs.push_back(chunk);
  for (int i = 0; i < tokens; ++i) b.tokens.push_back(token_at(c, 0, i));
  return b;
}

constexpr double kBf16Bytes = 2;  // weights, activations and the KV cache
int64_t kv_bytes_per_token(const ModelConfig& c) { return int64_t(c.kv_bytes_per_token(kBf16Bytes)); }
double decode_weight_bytes(const ModelConfig& c, int batch = 1) { return c.decode_weight_bytes(batch, kBf16Bytes); }
// Weight bytes a decode step of `batch` sequences reads as the GPU stores them (fp8 linears a byte a
// weight plus their scales, the rest bf16): all but the embedding table (a row per token), routed
// experts in the share the batch is expected to touch. For bf16 models: decode_weight_bytes().
double stored_decode_weight_bytes(const ModelConfig& c, int batch) {
  const double touched = c.is_moe() ? c.expected_experts_touched(batch) / c.moe.n_routed_experts : 1.0;
  double bytes = 0;
  for (const TensorSpec& spec : expected_tensors(c)) {
    if (spec.name == "model.embed_tokens.weight" && !c.tie_embeddings) continue;
    const std::vector<int64_t> grid = spec.scale_shape();
    const double stored = gpu_holds_fp8(spec) ? spec.numel() + 4.0 * grid[0] * grid[1] : 2.0 * spec.numel();
    bytes += spec.name.find(".mlp.experts.") != std::string::npos ? stored * touched : stored;
  }
  return bytes;
}
// Model FLOPs of a prefill of `n` tokens: linear layers (lm_head for the last token only) + causal attention.
double prefill_flops(const ModelConfig& c, int n) {
  const double linear = 2.0 * (c.active_parameter_count() - int64_t(c.vocab) * c.hidden) * n + 2.0 * c.vocab * c.hidden;
  const double attention = 2.0 * double(n) * n * c.heads * (c.qk_dim() + c.v_dim()) / 2.0 * c.layers;
  return linear + attention;
}

struct DecodePoint {
  int batch;
  double step_ms, tokens_per_s, gbps, fraction_of_copy, roofline_ratio, power;
};
struct PrefillPoint {
  int tokens;
  double ms, tokens_per_s, tflops, fraction_of_gemm, power;
};

GpuOptions model_options(int max_tokens, int max_seqs, int max_context, int gemv_max_tokens = GpuOptions{}.gemv_max_tokens,
                         int gemv_mma_max_tokens = GpuOptions{}.gemv_mma_max_tokens) {
  GpuOptions o;
  o.gemv_max_tokens = gemv_max_tokens;
  o.gemv_mma_max_tokens = gemv_mma_max_tokens;
  o.max_batch_tokens = max_tokens;
  o.max_seqs = max_seqs;
  o.max_logit_rows = max_seqs;
  o.max_context = max_context;
  o.memory_fraction = 0.85;
  return o;
}

// What the bench steps: one GpuModel, or the ranks of a tensor-parallel group stepping together.
// Timings are rank 0's stream events (or host clock) around work that, under a group, waits for every
// rank's device, so a step takes as long as its slowest rank. Power is GPU 0's alone: not reported
// for a group.
struct Stepped {
  explicit Stepped(GpuModel& alone) : model(alone), first(alone) {}
  Stepped(RankGroup& ranks, GpuModel& rank0) : model(ranks), first(rank0), group(&ranks), world(ranks.plan().world()) {}
  Backend& model;              // the model, or the group
  GpuModel& first;             // the model, or rank 0's
  RankGroup* group = nullptr;  // null: one GPU
  int world = 1;

  const ModelConfig& config() const { return model.config(); }  // the whole model
  void wait() const {
    if (group)
      group->each_rank([](int, Backend& rank) { CUDA_CHECK(cudaStreamSynchronize(static_cast<GpuModel&>(rank).stream())); });
  }
};

PrefillPoint measure_prefill(const Stepped& m, const Peaks& peaks, int tokens) {
  const StepBatch b = prefill_step(m.config(), tokens, m.first.kv_block_tokens());
  auto step = [&] {
    m.model.forward(b);
    m.wait();
  };
  const double us = time_us(m.first.stream(), step, 2, 3);
  PrefillPoint p{tokens, us / 1000, tokens / (us * 1e-6), prefill_flops(m.config(), tokens) / (us * 1e-6) / 1e12, 0, 0};
  p.fraction_of_gemm = p.tflops / (peaks.gemm_tflops * m.world);
  p.power = m.group ? kNaN : power_w(m.first.stream(), step, us);
  return p;
}

// A decode step as the engine runs it: forward (a CUDA graph replay) + sampling, synchronised.
DecodePoint measure_decode(const Stepped& m, const Peaks& peaks, int batch, int context, int steps) {
  const ModelConfig& c = m.config();
  const StepBatch b = decode_step(c, batch, context, m.first.kv_block_tokens());
  std::vector<SampleRequest> draws;
  for (int s = 0; s < batch; ++s) draws.push_back({s, SamplingParams{}, 0});
  auto step = [&] {
    m.model.forward(b);
    m.model.sample(draws);
    m.wait();
  };
  step();
  step();  // graph captured and warm
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  DecodePoint p{};
  p.batch = batch;
  p.step_ms = median(ms);
  p.tokens_per_s = batch / (p.step_ms * 1e-3);
  const double bytes = decode_weight_bytes(c, batch) + double(batch) * (context + 1) * kv_bytes_per_token(c);
  p.gbps = bytes / (p.step_ms * 1e-3) / 1e9;
  p.fraction_of_copy = p.gbps / (peaks.copy_gbps * m.world);
  p.roofline_ratio = p.step_ms * 1e-3 / (bytes / (peaks.copy_gbps * m.world * 1e9));
  p.power = m.group ? kNaN : power_w(m.first.stream(), step, p.step_ms * 1000);
  return p;
}


std::string gpu_driver() { return Nvml::instance().driver_version(); }

std::string cuda_runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

}  // namespace

int run_bench(const ModelConfig& c, const WeightSource& weights, const BenchOptions& o) {
  const Peaks peaks = measure_peaks();
  std::printf("device: %s, %d SMs, %.1f GiB, driver %s, %s\n", peaks.gpu.c_str(), peaks.sms, peaks.memory_gib,
              gpu_driver().c_str(), Nvml::instance().available() ? "NVML ok" : Nvml::instance().why_unavailable().c_str());
  std::printf("peaks: copy %.0f GB/s (read+write), cuBLAS bf16 GEMM %.0f TFLOP/s, cuBLASLt fp8 GEMM %.0f TFLOP/s, idle %.0f W\n",
              peaks.copy_gbps, peaks.gemm_tflops, peaks.gemm_fp8_tflops, peaks.idle_w);
  const bool fp8 = c.weight_format == WeightFormat::Fp8Block;
  const int max_batch = *std::max_element(o.batches.begin(), o.batches.end());
  const int max_prefill = *std::max_element(o.prefill_tokens.begin(), o.prefill_tokens.end());
  const GpuOptions options = model_options(std::max(max_prefill, max_batch), max_batch,
                                            std::max(o.context + 64, max_prefill), o.gemv_max_tokens, o.gemv_mma_max_tokens);
  const int world = o.tensor_parallel;
  std::unique_ptr<GpuModel> alone;
  std::unique_ptr<RankGroup> group;
  GpuModel* first = nullptr;
  int64_t weight_bytes = 0;  // on all GPUs
  if (world == 1) {
    alone = std::make_unique<GpuModel>(c, weights, options);
    alone->fill_kv_cache_random(7);
    first = alone.get();
    weight_bytes = alone->weight_bytes();
  } else {
    require(bool(o.make_group), "bench: --tensor-parallel above 1 needs NCCL, and this build has none");
    group = o.make_group(ShardPlan(c, ParallelSpec{world, 1}), options);
    group->each_rank([&](int r, Backend& rank) {
      GpuModel& gpu = static_cast<GpuModel&>(rank);
      gpu.fill_kv_cache_random(7);
      if (r == 0) first = &gpu;
    });
    weight_bytes = first->weight_bytes() * world;  // equal shards (the embedding and norms on each)
  }
  const Stepped m = group ? Stepped(*group, *first) : Stepped(*alone);
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const double used_gib = (total_b - free_b) / (1024.0 * 1024 * 1024);
  std::printf("model %s: %.2f B parameters, %.2f GB weights, KV %.1f KB/token, GPU 0 memory in use %.1f GiB\n",
              c.name.c_str(), c.parameter_count() / 1e9, weight_bytes / 1e9, kv_bytes_per_token(c) / 1e3, used_gib);
  std::printf("tensor parallel %d: %s\n", world,
              world == 1 ? "one GPU"
                         : "ranks step together; fractions of peak against that many GPUs' peaks; power not measured");

  std::vector<PrefillPoint> prefill;
  for (int n : o.prefill_tokens) prefill.push_back(measure_prefill(m, peaks, n));
  std::vector<DecodePoint> decode;
  for (int b : o.batches) {
    if (int64_t(b) * ceil_div(o.context + 1, first->kv_block_tokens()) > m.model.kv_blocks()) {
      std::printf("batch %d: KV cache too small, skipped\n", b);
      continue;
    }
    decode.push_back(measure_decode(m, peaks, b, o.context, o.decode_steps));
  }
  if (fp8) {  // prefill against the fp8 GEMM peak; decode's bytes are the fp8 model's
    for (auto& p : prefill) p.fraction_of_gemm = p.tflops / (peaks.gemm_fp8_tflops * world);
    for (auto& p : decode) {
      const double bytes = stored_decode_weight_bytes(c, p.batch) + double(p.batch) * (o.context + 1) * kv_bytes_per_token(c);
      p.gbps = bytes / (p.step_ms * 1e-3) / 1e9;
      p.fraction_of_copy = p.gbps / (peaks.copy_gbps * world);
      p.roofline_ratio = p.step_ms * 1e-3 / (bytes / (peaks.copy_gbps * world * 1e9));
    }
  }

  std::printf("\nweights %s: prefill against the %s GEMM peak, decode against copy bandwidth with the %s weights' bytes\n",
              fp8 ? "fp8" : "bf16", fp8 ? "fp8" : "bf16", fp8 ? "fp8" : "bf16");
  std::printf("%-8s %10s %12s %10s %8s %8s\n", "prefill", "ms", "tokens/s", "TFLOP/s", "of peak", "W");
  for (const auto& p : prefill)
    std::printf("%-8d %10.2f %12.0f %10.1f %7.1f%% %8.0f\n", p.tokens, p.ms, p.tokens_per_s, p.tflops,
                100 * p.fraction_of_gemm, p.power);
  std::printf("\n%-8s %10s %12s %10s %8s %10s %8s %10s\n", "decode", "step ms", "tokens/s", "GB/s", "of copy",
              "x roofline", "W", "tokens/J");
  for (const auto& p : decode)
    std::printf("%-8d %10.3f %12.1f %10.0f %7.1f%% %10.2f %8.0f %10.2f\n", p.batch, p.step_ms, p.tokens_per_s, p.gbps,
                100 * p.fraction_of_copy, p.roofline_ratio, p.power, p.tokens_per_s / p.power);

  if (!o.json_out.empty()) {
    std::ostringstream j;
    j << "{\n  \"model\": " << quoted(c.name) << ",\n  \"gpu\": " << quoted(peaks.gpu) << ",\n  \"driver\": "
      << quoted(gpu_driver()) << ",\n  \"date\": " << quoted(utc_now_iso8601()) << ",\n  \"command\": " << quoted(o.command)
      << ",\n  \"precision\": \"" << (fp8 ? "fp8" : "bf16") << "\",\n  \"tensor_parallel\": " << world
      << ",\n  \"context_tokens\": " << o.context
      << ",\n  \"peaks\": {\"copy_gbps\": " << fmt_number(peaks.copy_gbps) << ", \"gemm_bf16_tflops\": "
      << fmt_number(peaks.gemm_tflops) << ", \"gemm_fp8_tflops\": " << fmt_number(peaks.gemm_fp8_tflops)
      << ", \"idle_power_w\": " << fmt_number(peaks.idle_w) << "},\n  \"weight_bytes\": " << weight_bytes
      << ",\n  \"decode_weight_bytes\": " << int64_t(fp8 ? stored_decode_weight_bytes(c, 1) : decode_weight_bytes(c))
      << ",\n  \"kv_bytes_per_token\": "
      << kv_bytes_per_token(c) << ",\n  \"gpu_memory_used_gib\": " << fmt_number(used_gib) << ",\n  \"prefill\": [";
    for (size_t i = 0; i < prefill.size(); ++i) {
      const auto& p = prefill[i];
      j << (i ? "," : "") << "\n    {\"tokens\": " << p.tokens << ", \"ms\": " << fmt_number(p.ms)
        << ", \"tokens_per_s\": " << fmt_number(p.tokens_per_s) << ", \"tflops\": " << fmt_number(p.tflops)
        << ", \"fraction_of_gemm_peak\": " << fmt_number(p.fraction_of_gemm) << ", \"power_w\": " << fmt_number(p.power) << "}";
    }
    j << "\n  ],\n  \"decode\": [";
    for (size_t i = 0; i < decode.size(); ++i) {
      const auto& p = decode[i];
      j << (i ? "," : "") << "\n    {\"batch\": " << p.batch << ", \"step_ms\": " << fmt_number(p.step_ms)
        << ", \"tokens_per_s\": " << fmt_number(p.tokens_per_s) << ", \"gbps\": " << fmt_number(p.gbps)
        << ", \"fraction_of_copy\": " << fmt_number(p.fraction_of_copy) << ", \"roofline_ratio\": "
        << fmt_number(p.roofline_ratio) << ", \"power_w\": " << fmt_number(p.power) << ", \"tokens_per_joule\": "
        << fmt_number(p.tokens_per_s / p.power) << "}";
    }
    j << "\n  ]\n}\n";
    write_text_file(o.json_out, j.str());
  }
  return 0;
}

int run_profile(const ModelConfig& c, const WeightSource& weights, const ProfileOptions& o) {
  const Peaks peaks = measure_peaks();
  // fp8 models run their linears as the engine does (GpuModel::project: fp8 GEMV for decode-sized
  // steps, dequantise + cuBLAS above); bytes for the power curve are a code per weight plus its share
  // of the 128x128 block's fp32 scale.
  const bool fp8 = c.weight_format == WeightFormat::Fp8Block;
  const double linear_weight_bytes = fp8 ? 1.0 + 4.0 / (128 * 128) : kBf16Bytes;
  const std::vector<int> token_grid{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
  const int max_tokens = token_grid.back();
  // Attention grids: prefill chunks over cached contexts, decode batches over cached tokens per sequence.
  const std::vector<int> chunks{128, 512, 1024, 2048, 4096}, contexts{0, 1024, 4096, 16384};
  const std::vector<int> batches{1, 8, 32, 64, 128, 256}, kv_lens{128, 512, 2048, 8192};
  // MLA expands a prefilling sequence's whole context (buffers of max_context tokens).
  GpuModel m(c, weights, model_options(kProfileStepTokens, 256, contexts.back() + chunks.back() + 64));
  m.fill_kv_cache_random(11);
  const cudaStream_t s = m.stream();
  const bool mla = c.mla.enabled;
  const int H = c.hidden, I = c.intermediate, hd = c.head_dim, attn_w = c.heads * c.v_dim();
  const int qkv_w = (c.heads + 2 * c.kv_heads) * hd, bt = m.kv_block_tokens();

  // Scratch activations (random, never zeros) for operator timings.
  const size_t max_in = std::max({H, 2 * I, attn_w, qkv_w}), max_out = std::max({qkv_w, 2 * I, H});
  bf16 *xin, *yout, *qbuf;
  float* yf;
  int* ints;
  CUDA_CHECK(cudaMalloc(&xin, size_t(max_tokens) * max_in * 2));
  CUDA_CHECK(cudaMalloc(&yout, size_t(max_tokens) * max_out * 2));
  CUDA_CHECK(cudaMalloc(&yf, size_t(max_tokens) * std::max<size_t>(max_out, H) * 4));
  CUDA_CHECK(cudaMalloc(&qbuf, size_t(max_tokens) * attn_w * 2));
  const size_t int_count = 4 * size_t(max_tokens) + 4 * 256 + size_t(256) * 1100;
  CUDA_CHECK(cudaMalloc(&ints, int_count * 4));
  fill_random_bf16(xin, int64_t(max_tokens) * max_in, 21, 1.0f, 0.0f, s);
  fill_random_bf16(qbuf, int64_t(max_tokens) * attn_w, 22, 1.0f, 0.0f, s);
  // Random bf16 pairs read as floats: finite values, never zeros.
  fill_random_bf16(reinterpret_cast<bf16*>(yf), int64_t(max_tokens) * std::max<int64_t>(max_out, H) * 2, 25, 1.0f, 0.0f, s);
  // Token ids, positions and cache slots 0..n-1, and RoPE's frequencies, for qkv_proj and embedding.
  std::vector<int> seq_ids(max_tokens);
  for (int i = 0; i < max_tokens; ++i) seq_ids[i] = i;
  int* iota;
  CUDA_CHECK(cudaMalloc(&iota, seq_ids.size() * 4));
  CUDA_CHECK(cudaMemcpy(iota, seq_ids.data(), seq_ids.size() * 4, cudaMemcpyHostToDevice));
  const std::vector<float> inv = c.rope_inv_freq();
  float* inv_dev;
  CUDA_CHECK(cudaMalloc(&inv_dev, inv.size() * 4));
  CUDA_CHECK(cudaMemcpy(inv_dev, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));
  auto upload = [&](const std::vector<int>& v) {
    CUDA_CHECK(cudaMemcpy(ints, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
  };
  CalibrationProfile profile;
  auto point = [&](const std::string& op, const std::string& label, double us, double bytes, double flops, double w) {
    if (std::isnan(w)) return;
    profile.power_points.push_back({op, label, bytes / (us * 1e-6) / 1e9, flops / (us * 1e-6) / 1e12, w});
  };

  // Linear layers.
  // Each is timed as a decode or prefill step runs it, with the elementwise work the engine fuses
  // into it or launches around it: qkv_proj with its input RMSNorm, RoPE and the K/V cache store,
  // gate_up_proj with its RMSNorm and SwiGLU (so the elementwise list leaves those out). MLA layers
  // have q_kv_a_proj (input RMSNorm, then q_a_proj or q_proj fused with kv_a_proj_with_mqa) and, with
  // a q LoRA, q_b_proj (with q_a_layernorm) in place of qkv_proj; their RoPE and cache store
  // (mla_prepare) and kv_b_proj's products (per decode token in the absorbed form, per context token
  // in a prefill's expansion) are timed within the attention grids, which hold every token that runs them.
  enum class Input { kPlain, kQkv, kMlaProjection, kMlaQuery, kFfnActivation };
  struct LinearOp {
    std::string name;
    const bf16* w;
    Fp8Weight w8;  // set where the model holds this linear in fp8 (w null then)
    int in, out, per_layer;
    bool out_float, accumulate;
    int max_tokens;
    Input input;
  };
  // Attention and dense-FFN shapes from the first layer with a dense FFN (MoE models keep their first
  // layers dense); the routed-expert FFN is timed whole below.
  int dense_layer = -1, moe_layer = -1;
  for (int l = c.layers - 1; l >= 0; --l) (c.is_moe_layer(l) ? moe_layer : dense_layer) = l;
  const GpuModel::Layer& L = m.layer(dense_layer >= 0 ? dense_layer : 0);
  bf16* lm_head_w = nullptr;  // the lm_head shape, and the embedding table's ([vocab][hidden] bf16)
  CUDA_CHECK(cudaMalloc(&lm_head_w, size_t(c.vocab) * H * 2));
  fill_random_bf16(lm_head_w, int64_t(c.vocab) * H, 23, 0.02f, 0.0f, s);
  // The norm and SwiGLU run through the model's own activation buffers: up to its largest step.
  std::vector<LinearOp> ops;
  if (mla) {
    const MLAConfig& a = c.mla;
    const int q_rows = a.q_lora_rank ? a.q_lora_rank : c.heads * c.qk_dim();
    ops.push_back({"q_kv_a_proj", L.qkv, L.fp8.qkv, H, q_rows + c.kv_values_per_token(), 1, false, false, kProfileStepTokens,
                   Input::kMlaProjection});
    if (a.q_lora_rank)
      ops.push_back({"q_b_proj", L.q_b, {}, a.q_lora_rank, c.heads * c.qk_dim(), 1, false, false, kProfileStepTokens,
                     Input::kMlaQuery});
  } else {
    ops.push_back({"qkv_proj", L.qkv, L.fp8.qkv, H, qkv_w, 1, false, false, kProfileStepTokens, Input::kQkv});
  }
  ops.push_back({"o_proj", L.o, L.fp8.o, attn_w, H, 1, true, true, max_tokens, Input::kPlain});
  if (dense_layer >= 0) {
    ops.push_back({"gate_up_proj", L.gate_up, L.fp8.gate_up, H, 2 * I, 1, false, false, kProfileStepTokens, Input::kFfnActivation});
    ops.push_back({"down_proj", L.down, L.fp8.down, I, H, 1, true, true, max_tokens, Input::kPlain});
  }
  ops.push_back({"lm_head", lm_head_w, {}, H, c.vocab, 0, true, false, 256, Input::kPlain});
  auto as_doubles = [](const std::vector<int>& v) { return std::vector<double>(v.begin(), v.end()); };
  profile.linear.tokens = as_doubles(token_grid);
  for (const LinearOp& op : ops) {
    std::vector<double> t, w;
    for (int n : token_grid) {
      if (n > op.max_tokens) {
        t.push_back(kNaN);
        w.push_back(kNaN);
        continue;
      }
      void* y = op.out_float ? static_cast<void*>(yf) : static_cast<void*>(yout);
      auto f = [&] {
        if (op.input == Input::kQkv)
          m.qkv_projection(L, yf, QkvRope{L.qkv_bias, iota, iota, inv_dev, 1.0f, qbuf, m.kv_layer(0), c.heads, c.kv_heads,
                                          hd, bt}, n);
        else if (op.input == Input::kMlaProjection) m.mla_projection(L, yf, n);  // yf: fp32 rows
        else if (op.input == Input::kMlaQuery) m.mla_query(L, n);  // reads q_kv_a_proj's output
        else if (op.input == Input::kFfnActivation) m.normed_ffn_activation(L, yf, n);  // yf: fp32 rows
        else m.project(xin, op.w, op.w8, y, op.out_float, op.accumulate, n, op.out, op.in);
      };
      const double us = time_us(s, f);
      t.push_back(us);
      w.push_back(power_w(s, f, us));
      const double weight_bytes = double(op.in) * op.out * (op.w8 ? linear_weight_bytes : kBf16Bytes);
      point("linear", op.name + " tokens=" + std::to_string(n), us, weight_bytes + 2.0 * n * (op.in + op.out),
            2.0 * n * op.in * op.out, w.back());
    }
    profile.linear.ops.push_back({op.name, op.in, op.out, op.per_layer, t, w});
  }

  // Attention grids: one sequence (prefill) or `batch` sequences (decode), blocks wrapping around
  // the cache, which holds random values.
  auto seqs_on_device = [&](const std::vector<int>& offset, const std::vector<int>& n_new, const std::vector<int>& context,
                            int stride) {
    std::vector<int> v;
    for (auto* a : {&offset, &n_new, &context}) v.insert(v.end(), a->begin(), a->end());
    const int n = static_cast<int>(offset.size());
    for (int q = 0; q < n; ++q)
      for (int k = 0; k < stride; ++k) v.push_back((q * stride + k) % m.kv_blocks());
    upload(v);
    return AttnSeqs{ints, ints + n, ints + 2 * n, ints + 3 * n, stride, n};
  };
  const float scale = static_cast<float>(c.softmax_scale());
  bf16* const cache = m.kv_layer(0).k;  // MLA: the latent rows
  if (mla) {  // the query rows the attention reads: finite values, as a step's projections leave them
    m.mla_projection(L, yf, kProfileStepTokens);
    m.mla_query(L, kProfileStepTokens);
  }
  // Prefill attention of one chunk after `total - chunk` cached tokens; MLA with its mla_prepare
  // (RoPE, latent into the cache), expansion of the context and flash attention.
  auto prefill_attention = [&](const AttnSeqs& a, int chunk, int total) {
    if (mla) {
      m.mla_prepare_tokens(L, cache, iota, iota, chunk);
      m.mla_prefill(L, cache, a, chunk, total);
    } else {
      attention_prefill(qbuf, m.kv_layer(0), a, chunk, yout, c.heads, c.kv_heads, hd, bt, scale, s);
    }
  };
  std::vector<std::vector<double>> prefill_t;
  for (int chunk : chunks) {
    std::vector<double> row;
    for (int ctx : contexts) {
      const int total = ctx + chunk, stride = ceil_div(total, bt);
      if (stride > m.kv_blocks()) {
        row.push_back(kNaN);
        continue;
      }
      const AttnSeqs a = seqs_on_device({0}, {chunk}, {total}, stride);
      row.push_back(time_us(s, [&] { prefill_attention(a, chunk, total); }, 3, 3));
    }
    prefill_t.push_back(row);
  }
  std::vector<std::vector<double>> decode_t, decode_w;
  // Decode attention of `b` sequences, one new token each (rows 0..b-1); MLA with its mla_prepare and
  // the absorbed products with kv_b_proj around the attention over the latent.
  float* work = nullptr;  // dense attention's split-K workspace (MLA uses the model's)
  const int max_splits = decode_splits(1, c.kv_heads, kv_lens.back() + 1, m.sm_count());
  if (!mla) {
    CUDA_CHECK(cudaMalloc(&work, decode_workspace_floats(256, c.heads, hd, max_splits) * 4));
    CUDA_CHECK(cudaMemset(work, 0, decode_workspace_floats(256, c.heads, hd, max_splits) * 4));
  }
  auto decode_attention = [&](const AttnSeqs& a, int b, int len) {
    if (mla) {
      m.mla_prepare_tokens(L, cache, iota, iota, b);
      m.mla_decode(L, cache, a, 0, b, mla_decode_splits(b, c.heads, len, m.sm_count()));
    } else {
      attention_decode(qbuf, m.kv_layer(0), a, yout, work, decode_splits(b, c.kv_heads, len, m.sm_count()), c.heads,
                       c.kv_heads, hd, bt, scale, s);
    }
  };
  for (int b : batches) {
    std::vector<double> row, wrow;
    for (int len : kv_lens) {
      const int stride = ceil_div(len, bt);
      if (int64_t(b) * stride > m.kv_blocks()) {  // the cache cannot hold it: leave the cell to the reader
        row.push_back(kNaN);
        wrow.push_back(kNaN);
        continue;
      }
      std::vector<int> offset(b), n_new(b, 1), context(b, len);
      for (int i = 0; i < b; ++i) offset[i] = i;
      const AttnSeqs a = seqs_on_device(offset, n_new, context, stride);
      auto f = [&] { decode_attention(a, b, len); };
      const double us = time_us(s, f);
      row.push_back(us);
      wrow.push_back(power_w(s, f, us));
      const OperatorLoad load = decode_attention_load(c, double(b) * len, kBf16Bytes, 1);
      point("decode_attention", "batch=" + std::to_string(b) + " kv=" + std::to_string(len), us, load.bytes, load.flops,
            wrow.back());
    }
    decode_t.push_back(row);
    decode_w.push_back(wrow);
  }
  if (work) CUDA_CHECK(cudaFree(work));

  // The FFN block of one MoE layer (its input RMSNorm, router, top-k, experts, shared experts,
  // combine), up to the model's step size. Bytes for the power curve: the experts `n` tokens are
  // expected to touch.
  std::vector<int> moe_tokens;
  std::vector<double> moe_t, moe_w;
  if (moe_layer >= 0) {
    const MoEConfig& mc = c.moe;
    const double expert_params = 3.0 * H * mc.expert_intermediate, expert_bytes = expert_params * linear_weight_bytes;
    for (int n : token_grid) {
      if (n > kProfileStepTokens) break;
      moe_tokens.push_back(n);
      auto f = [&] { m.ffn_block(m.layer(moe_layer), yf, n); };  // yf: fp32 residual rows
      const double us = time_us(s, f);
      moe_t.push_back(us);
      moe_w.push_back(power_w(s, f, us));
      const double E = mc.n_routed_experts, touched = E * (1.0 - std::pow(1.0 - mc.experts_per_token / E, n));
      point("moe", "tokens=" + std::to_string(n), us, (touched + mc.n_shared_experts) * expert_bytes + E * H * 2.0,
            2.0 * n * (mc.experts_per_token + mc.n_shared_experts) * expert_params + 2.0 * n * E * H, moe_w.back());
    }
  }

  // Element-wise kernels.
  std::vector<double> norm_t, embed_t, sample_t;
  float* logits;
  CUDA_CHECK(cudaMalloc(&logits, size_t(256) * c.vocab * 4));
  fill_random_bf16(reinterpret_cast<bf16*>(logits), int64_t(256) * c.vocab * 2, 24, 0.5f, 0.0f, s);  // finite floats
  std::vector<float> sample_host(4 * 256, 0.0f);
  for (int i = 0; i < 256; ++i) std::memcpy(&sample_host[i], &i, 4);
  float* sample_dev;
  CUDA_CHECK(cudaMalloc(&sample_dev, sample_host.size() * 4));
  CUDA_CHECK(cudaMemcpy(sample_dev, sample_host.data(), sample_host.size() * 4, cudaMemcpyHostToDevice));
  for (int n : token_grid) {
    norm_t.push_back(time_us(s, [&] { rmsnorm(yf, nullptr, L.ln1, yout, n, H, 1e-6f, s); }));
    embed_t.push_back(time_us(s, [&] { embedding(iota, lm_head_w, yf, n, H, s); }));  // catalog vocabularies > 8192 rows
    if (n <= 256) {
      const SampleArgs args{reinterpret_cast<const int*>(sample_dev), sample_dev + 256, sample_dev + 512, sample_dev + 768};
      sample_t.push_back(time_us(s, [&] { sample_tokens(logits, c.vocab, args, n, ints + max_tokens, s); }));
    } else {
      sample_t.push_back(kNaN);
    }
  }
  CUDA_CHECK(cudaFree(logits));
  CUDA_CHECK(cudaFree(lm_head_w));
  CUDA_CHECK(cudaFree(sample_dev));
  CUDA_CHECK(cudaFree(inv_dev));
  CUDA_CHECK(cudaFree(iota));
  CUDA_CHECK(cudaFree(xin));
  CUDA_CHECK(cudaFree(yout));
  CUDA_CHECK(cudaFree(yf));
  CUDA_CHECK(cudaFree(qbuf));
  CUDA_CHECK(cudaFree(ints));

  // End to end, and the host's share of a decode step (scheduler + uploads + sync), through the Engine.
  std::vector<int> e2e_batches{1, 8, 32, 64};
  std::vector<double> dec_ms, dec_tps, dec_w;
  for (int b : e2e_batches) {
    const DecodePoint p = measure_decode(Stepped(m), peaks, b, 512, 20);
    dec_ms.push_back(p.step_ms);
    dec_tps.push_back(p.tokens_per_s);
    dec_w.push_back(p.power);
  }
  std::vector<int> e2e_prefill{512, 2048, 4096};
  std::vector<double> pre_ms, pre_tps, pre_w;
  for (int n : e2e_prefill) {
    const PrefillPoint p = measure_prefill(Stepped(m), peaks, n);
    pre_ms.push_back(p.ms);
    pre_tps.push_back(p.tokens_per_s);
    pre_w.push_back(p.power);
  }
  std::vector<double> overhead;
  const std::vector<int> overhead_batches{1, 8, 32, 64, 128, 256};
  for (int b : overhead_batches) {
    // Engine wall time per decode step minus the GPU time of the same step replayed back to back.
    SchedulerLimits limits;
    limits.max_batch_tokens = 4096;
    limits.max_batch_sequences = 256;
    Engine engine(m, limits);
    for (int r = 0; r < b; ++r) {
      Generation g;
      g.id = static_cast<uint64_t>(r);
      for (int i = 0; i < 16; ++i) g.prompt.push_back(token_at(c, r, i));
      g.max_new_tokens = 24;
      engine.submit(g);
    }
    std::vector<double> wall;
    while (!engine.idle()) {
      const auto t0 = std::chrono::steady_clock::now();
      engine.step();
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      const StepBatch& done = engine.last_batch();
      if (static_cast<int>(done.tokens.size()) == b && done.seqs.size() == size_t(b)) wall.push_back(ms);
    }
    const StepBatch same = decode_step(c, b, 24, bt);
    const double gpu_us = time_us(s, [&] { m.forward(same); }, 10, 3);
    overhead.push_back(wall.empty() ? kNaN : std::max(0.0, median(wall) * 1000 - gpu_us));
  }

  CalibrationProfile::Metadata& meta = profile.metadata;
  meta.model = c.name;
  meta.architecture = architecture_name(c.arch);
  meta.gpu = peaks.gpu;
  meta.sm_count = peaks.sms;
  meta.gpu_memory_gib = peaks.memory_gib;
  meta.driver = gpu_driver();
  meta.cuda_runtime = cuda_runtime_version();
  meta.date = utc_now_iso8601();
  meta.command = o.command;
  meta.engine_version = "0.1.0";
  meta.weights = weights.is_random() ? "random" : o.model_path;
  meta.kv_block_tokens = bt;
  meta.precision = fp8 ? "fp8" : "bf16";
  profile.device_peaks = {peaks.copy_gbps, peaks.gemm_tflops, peaks.idle_w, peaks.gemm_fp8_tflops};
  profile.power_window_ms = kPowerWindowMs;
  profile.model_shape = {c.layers, c.dense_layer_count(), c.moe_layer_count(), H, c.heads, c.kv_heads, hd, I, c.vocab,
                         fp8 ? double(m.weight_bytes()) : double(c.parameter_count()) * kBf16Bytes,
                         fp8 ? stored_decode_weight_bytes(c, 1) : decode_weight_bytes(c), double(kv_bytes_per_token(c)),
                         2.0 * c.active_parameter_count()};
  profile.prefill_attention = {as_doubles(chunks), as_doubles(contexts), prefill_t, {}};
  profile.decode_attention = {as_doubles(batches), as_doubles(kv_lens), decode_t, decode_w};
  if (moe_layer >= 0)  // absent for dense models
    profile.moe = CalibrationProfile::Moe{as_doubles(moe_tokens), moe_t, moe_w, c.moe.n_routed_experts,
                                          c.moe.experts_per_token, c.moe.n_shared_experts, c.moe.expert_intermediate};
  // The only RMSNorm outside the timed linears and MoE blocks: the final one, once per step.
  profile.elementwise = {as_doubles(token_grid),
                         {{"rmsnorm", 0, 0, 0, norm_t, {}}, {"embedding", 0, 0, 0, embed_t, {}}, {"sampling", 0, 0, 0, sample_t, {}}}};
  profile.step_overhead = {as_doubles(overhead_batches), overhead};
  profile.end_to_end = CalibrationProfile::EndToEnd{512, as_doubles(e2e_batches), dec_ms, dec_tps, dec_w,
                                                    as_doubles(e2e_prefill), pre_ms, pre_tps, pre_w};
  profile.power_idle_w = peaks.idle_w;
  write_text_file(o.out, format_calibration_profile(profile));
  std::printf("profile of %s on %s written to %s\n", c.name.c_str(), peaks.gpu.c_str(), o.out.c_str());
  return 0;
}

}  // namespace aidc
