#include "profiler/kernel_bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <sstream>

#include "common/error.h"
#include "common/numeric.h"
#include "kernels/common.cuh"
#include "kernels/kernels.h"
#include "profiler/device_peaks.h"
#include "profiler/report.h"

namespace aidc {
namespace {

struct Point {
  std::string shape;
  double us = 0, bytes = 0, flops = 0, fraction = 0;
};

// Device memory of one family's runs: random bf16 (so no kernel sees a special value), zeroed floats,
// uploaded ints. Freed when the family is done.
class Arena {
 public:
  explicit Arena(cudaStream_t s) : s_(s) {}
  ~Arena() {
    for (void* p : held_) cudaFree(p);
  }
  bf16* random(size_t n, float scale = 1.0f) {
    bf16* p = take<bf16>(n);
    fill_random_bf16(p, int64_t(n), held_.size(), scale, 0.0f, s_);
    return p;
  }
  template <typename T>
  T* zeros(size_t n) {
    T* p = take<T>(n);
    CUDA_CHECK(cudaMemsetAsync(p, 0, std::max<size_t>(n, 1) * sizeof(T), s_));
    return p;
  }
  template <typename T>
  T* copy(const std::vector<T>& v) {
    T* p = take<T>(v.size());
    CUDA_CHECK(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return p;
  }

 private:
  template <typename T>
  T* take(size_t n) {
    void* p = nullptr;
    CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T)));
    held_.push_back(p);
    return static_cast<T*>(p);
  }
  cudaStream_t s_;
  std::vector<void*> held_;
};

class Bench {
 public:
  Bench(const Peaks& peaks, cudaStream_t s) : peaks_(peaks), s_(s) {}
  // Times `f` and records it with the bytes it must move and the FLOPs it must do.
  void add(const std::string& shape, double bytes, double flops, const std::function<void()>& f) {
    Point p{shape, time_us(s_, f), bytes, flops, 0};
    p.fraction = std::max(bytes / (peaks_.copy_gbps * 1e3 * p.us), flops / (peaks_.gemm_tflops * 1e6 * p.us));
    points_.push_back(p);
  }
  std::vector<Point> take() { return std::move(points_); }
  cudaStream_t stream() const { return s_; }
  int sms() const { return peaks_.sms; }

 private:
  const Peaks& peaks_;
  cudaStream_t s_;
  std::vector<Point> points_;
};

// Paged sequences of equal context, blocks in order: device AttnSeqs.
AttnSeqs uniform_seqs(Arena& a, int n, int n_new, int context, int block_tokens) {
  const int per = ceil_div(context, block_tokens);
  std::vector<int> offset(n), fresh(n, n_new), ctx(n, context), table(size_t(n) * per);
  for (int s = 0; s < n; ++s) offset[s] = s * n_new;
  std::iota(table.begin(), table.end(), 0);
  return AttnSeqs{a.copy(offset), a.copy(fresh), a.copy(ctx), a.copy(table), per, n};
}

constexpr int kBlockTokens = 16;

// deepseek-llm-7b: hidden 4096, 32 heads of 128 (no GQA), intermediate 11008.
void bench_rmsnorm(Bench& b) {
  Arena a(b.stream());
  const int hidden = 4096;
  for (int rows : {1, 8, 4096}) {
    const float* x = a.zeros<float>(size_t(rows) * hidden);
    const bf16* gain = a.random(hidden);
    bf16* out = a.zeros<bf16>(size_t(rows) * hidden);
    b.add(std::to_string(rows) + " x 4096 fp32 rows", double(rows) * hidden * 6 + hidden * 2, 4.0 * rows * hidden,
          [&] { rmsnorm(x, nullptr, gain, out, rows, hidden, 1e-6f, b.stream()); });
  }
}

void bench_gemv(Bench& b) {
  Arena a(b.stream());
  struct Shape {
    int out, in;
    bool swiglu;
  };
  for (const Shape& sh : {Shape{4096, 4096, false}, Shape{2 * 11008, 4096, true}}) {
    const bf16* w = a.random(size_t(sh.out) * sh.in);
    const bf16* x = a.random(size_t(kGemvMmaMaxTokens) * sh.in);
    bf16* y = a.zeros<bf16>(size_t(kGemvMmaMaxTokens) * sh.out);
    const int stored = sh.swiglu ? sh.out / 2 : sh.out;
    for (int t : {1, 2, 4, 8, 16}) {
      const double bytes = 2.0 * (double(sh.out) * sh.in + double(t) * sh.in + double(t) * stored);
      const double flops = 2.0 * t * double(sh.out) * sh.in;
      const std::string shape = std::to_string(sh.out) + "x" + std::to_string(sh.in) + (sh.swiglu ? " swiglu" : "") +
                                ", " + std::to_string(t) + " tokens";
      if (gemv_supported(t, sh.in))
        b.add(shape + " (gemv)", bytes, flops,
              [&] { gemv(w, x, y, false, false, t, sh.out, sh.in, b.stream(), sh.swiglu); });
      if (t >= 2 && gemv_mma_supported(t, sh.in))
        b.add(shape + " (gemv_mma)", bytes, flops,
              [&] { gemv_mma(w, x, y, false, false, t, sh.out, sh.in, b.stream(), sh.swiglu); });
    }
  }
}

void bench_decode_attention(Bench& b) {
  const int heads = 32, kv_heads = 32, hd = 128;
  for (int batch : {1, 32, 64})
    for (int context : {512, 4096}) {
      Arena a(b.stream());
      const size_t cache = size_t(batch) * ceil_div(context, kBlockTokens) * kv_heads * kBlockTokens * hd;
      const KvLayer kv{a.random(cache), a.random(cache)};
      const bf16* q = a.random(size_t(batch) * heads * hd);
      bf16* out = a.zeros<bf16>(size_t(batch) * heads * hd);
      const AttnSeqs seqs = uniform_seqs(a, batch, 1, context, kBlockTokens);
      const int splits = decode_splits(batch, kv_heads, context, b.sms());
      float* work = a.zeros<float>(decode_workspace_floats(batch, heads, hd, splits));
      b.add("batch " + std::to_string(batch) + ", context " + std::to_string(context) + ", " + std::to_string(splits) +
                " splits",
            4.0 * batch * context * kv_heads * hd, 4.0 * batch * heads * double(context) * hd, [&] {
              attention_decode(q, kv, seqs, out, work, splits, heads, kv_heads, hd, kBlockTokens, 0.088f, b.stream());
            });
    }
}

void bench_prefill_attention(Bench& b) {
  const int heads = 32, kv_heads = 32, hd = 128;
  for (int tokens : {512, 4096}) {
    Arena a(b.stream());
    const size_t cache = size_t(ceil_div(tokens, kBlockTokens)) * kv_heads * kBlockTokens * hd;
    const KvLayer kv{a.random(cache), a.random(cache)};
    const bf16* q = a.random(size_t(tokens) * heads * hd);
    bf16* out = a.zeros<bf16>(size_t(tokens) * heads * hd);
    const AttnSeqs seqs = uniform_seqs(a, 1, tokens, tokens, kBlockTokens);
    // Causal: half of the n x n score matrix (two products of head_dim each).
    b.add(std::to_string(tokens) + " tokens, causal", 2.0 * (2.0 * tokens * heads * hd + 2.0 * cache),
          2.0 * heads * double(tokens) * tokens * hd, [&] {
            attention_prefill(q, kv, seqs, tokens, out, heads, kv_heads, hd, kBlockTokens, 0.088f, b.stream());
          });
  }
}

// DeepSeek-V2-Lite: 16 heads, kv_lora_rank 512, rope 64, nope 128, v 128. Decode in the absorbed form
// (mla_attention); prefill as the engine runs it, on the latent expanded to per-head K_nope and V
// (mla_prefill_attention; the expansion GEMM is a cuBLAS GEMM of the context, not timed here).
void bench_mla(Bench& b) {
  const int heads = 16, rank = 512, rope = 64, width = rank + rope, nope = 128, v_dim = 128;
  auto prefill = [&](int tokens) {
    Arena a(b.stream());
    const bf16* cache = a.random(size_t(ceil_div(tokens, kBlockTokens)) * kBlockTokens * width);
    const bf16* q = a.random(size_t(tokens) * heads * (nope + rope));
    const bf16* q_full = a.random(size_t(tokens) * heads * width);
    const bf16* expanded = a.random(size_t(tokens) * heads * (nope + v_dim));
    bf16* out = a.zeros<bf16>(size_t(tokens) * heads * v_dim);
    const AttnSeqs seqs = uniform_seqs(a, 1, tokens, tokens, kBlockTokens);
    const MlaPrefill rows{q, heads * (nope + rope), q_full, expanded, cache, heads, nope, rope, v_dim, rank, kBlockTokens};
    // Causal: half of the n x n pairs, a (nope + rope)-long dot and a v-long accumulation each.
    const double flops = 2.0 * heads * double(tokens) * (tokens + 1) / 2 * (nope + rope + v_dim);
    // Per token: its query, expanded K_nope and V, output (per head) and the shared rope key.
    const double bytes = 2.0 * tokens * (heads * ((nope + rope) + (nope + v_dim) + v_dim) + double(rope));
    b.add("prefill " + std::to_string(tokens) + " tokens, expanded K/V (tensor cores)", bytes, flops,
          [&] { mla_prefill_attention(rows, seqs, tokens, out, 0.072f, b.stream()); });
  };
  auto decode = [&](int batch, int context) {
    Arena a(b.stream());
    const size_t rows = size_t(batch) * ceil_div(context, kBlockTokens) * kBlockTokens;
    const bf16* cache = a.random(rows * width);
    const bf16* q = a.random(size_t(batch) * heads * width);
    bf16* out = a.zeros<bf16>(size_t(batch) * heads * rank);
    const AttnSeqs seqs = uniform_seqs(a, batch, 1, context, kBlockTokens);
    // Per (sequence, head, cached token): a width-long dot and a rank-long accumulation.
    const double flops = 2.0 * batch * double(context) * heads * (width + rank);
    const double bytes = 2.0 * (double(batch) * context * width + double(batch) * heads * (width + rank));
    const int splits = mla_decode_splits(batch, heads, context, b.sms());
    float* work = a.zeros<float>(mla_workspace_floats(batch, heads, rank, splits));
    b.add("decode batch " + std::to_string(batch) + ", context " + std::to_string(context) + ", " +
              std::to_string(splits) + " splits",
          bytes, flops, [&] {
            mla_attention(q, cache, seqs, 1, out, heads, rank, rope, kBlockTokens, 0.072f, b.stream(), work, splits);
          });
  };
  for (int batch : {1, 8, 32, 64})
    for (int context : {512, 4096}) decode(batch, context);
  for (int tokens : {512, 4096}) prefill(tokens);
}

// deepseek-moe-16b's router (64 experts, top 6, softmax) and V3's (256 in 8 groups, top 8, sigmoid).
void bench_router(Bench& b) {
  MoeRouting v1;
  v1.experts = 64;
  v1.top_k = 6;
  MoeRouting v3;
  v3.experts = 256;
  v3.top_k = 8;
  v3.n_group = 8;
  v3.topk_group = 4;
  v3.sigmoid = v3.group_limited = v3.normalise = v3.scale_weights = true;
  v3.scale = 2.5f;
  for (const MoeRouting& r : {v1, v3})
    for (int tokens : {1, 64, 4096}) {
      Arena a(b.stream());
      std::vector<float> host(size_t(tokens) * r.experts);
      for (size_t i = 0; i < host.size(); ++i) host[i] = 3.0f * hash_uniform(5, i);
      const float* logits = a.copy(host);
      const bf16* bias = a.random(r.experts, 0.1f);
      int* experts = a.zeros<int>(size_t(tokens) * r.top_k);
      float* weights = a.zeros<float>(size_t(tokens) * r.top_k);
      b.add(std::to_string(r.experts) + " experts top " + std::to_string(r.top_k) + ", " + std::to_string(tokens) + " tokens",
            double(tokens) * (r.experts * 4 + r.top_k * 8), double(tokens) * r.experts * 8, [&] {
              moe_route(logits, r.sigmoid ? bias : nullptr, r, tokens, nullptr, experts, weights, b.stream());
            });
    }
}

// deepseek-moe-16b's routed experts at prefill (4096 tokens, top 6 of 64, 2048 -> 2 x 1408 -> 2048):
// sort, gate/up grouped GEMM (gathering the tokens' rows), down grouped GEMM, combine.
void bench_moe(Bench& b) {
  const int experts = 64, top_k = 6, hidden = 2048, inter = 1408, tokens = 4096, pairs = tokens * top_k;
  Arena a(b.stream());
  std::vector<int> choice(pairs);
  for (int p = 0; p < pairs; ++p) choice[p] = int(mix64(p) % experts);
  const int* expert_of_pair = a.copy(choice);
  const MoeSorted sorted{a.zeros<int>(pairs), a.zeros<int>(pairs), a.zeros<int>(experts + 1), a.zeros<int>(experts + 1)};
  const bf16 *x = a.random(size_t(tokens) * hidden), *w_up = a.random(size_t(experts) * 2 * inter * hidden),
             *w_down = a.random(size_t(experts) * hidden * inter), *act = a.random(size_t(pairs) * inter);
  bf16* gate_up = a.zeros<bf16>(size_t(pairs) * 2 * inter);
  float* down = a.zeros<float>(size_t(pairs) * hidden);
  float* residual = a.zeros<float>(size_t(tokens) * hidden);
  float* weights = a.zeros<float>(pairs);
  const std::string at = std::to_string(tokens) + " tokens top " + std::to_string(top_k) + " of " + std::to_string(experts);
  b.add("sort, " + at, pairs * 4.0 * 3, 0, [&] { moe_sort(expert_of_pair, pairs, experts, sorted, b.stream()); });
  b.add("gate/up grouped GEMM 2816x2048, " + at,
        2.0 * (double(experts) * 2 * inter * hidden + double(pairs) * hidden + double(pairs) * 2 * inter),
        2.0 * pairs * 2.0 * inter * hidden, [&] {
          moe_grouped_gemm(x, true, top_k, w_up, int64_t(2) * inter * hidden, sorted, experts, pairs, gate_up, false,
                           2 * inter, hidden, b.stream());
        });
  b.add("down grouped GEMM 2048x1408 (fp32 out), " + at,
        2.0 * double(experts) * hidden * inter + 2.0 * pairs * inter + 4.0 * pairs * hidden, 2.0 * pairs * double(hidden) * inter,
        [&] {
          moe_grouped_gemm(act, false, top_k, w_down, int64_t(hidden) * inter, sorted, experts, pairs, down, true, hidden,
                           inter, b.stream());
        });
  b.add("combine, " + at, 4.0 * (double(pairs) * hidden + 2.0 * tokens * hidden + 2.0 * pairs), 2.0 * pairs * hidden,
        [&] { moe_combine(down, sorted.position_of_pair, weights, residual, tokens, top_k, hidden, b.stream()); });
}

// The same experts at decode: the grouped GEMV, gate/up (SwiGLU) then down with the combine fused.
void bench_grouped_gemv(Bench& b) {
  const int experts = 64, top_k = 6, hidden = 2048, inter = 1408;
  for (int tokens : {1, 8, 32}) {
    Arena a(b.stream());
    const int pairs = tokens * top_k;
    std::vector<int> choice(pairs);
    for (int p = 0; p < pairs; ++p) choice[p] = int(mix64(p) % experts);
    std::vector<int> distinct = choice;
    std::sort(distinct.begin(), distinct.end());
    const double used = double(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
    const bf16 *x = a.random(size_t(tokens) * hidden), *w_up = a.random(size_t(experts) * 2 * inter * hidden),
               *w_down = a.random(size_t(experts) * hidden * inter);
    bf16* act = a.zeros<bf16>(size_t(pairs) * inter);
    float* residual = a.zeros<float>(size_t(tokens) * hidden);
    GemvGroups up;
    up.expert_of_pair = a.copy(choice);
    up.expert_stride = int64_t(2) * inter * hidden;
    up.pairs_per_token = top_k;
    GemvGroups down = up;
    down.expert_stride = int64_t(hidden) * inter;
    down.pairs_per_token = 1;
    down.weight_of_pair = a.zeros<float>(pairs);
    down.top_k = top_k;
    const std::string at = std::to_string(tokens) + " tokens top 6 of 64";
    b.add("gate/up 2816x2048 swiglu, " + at, 2.0 * used * 2 * inter * hidden + 2.0 * pairs * (hidden + inter),
          2.0 * pairs * 2.0 * inter * hidden,
          [&] { grouped_gemv(w_up, up, x, act, false, pairs, 2 * inter, hidden, b.stream(), true); });
    b.add("down 2048x1408 + combine, " + at, 2.0 * used * hidden * inter + 2.0 * pairs * inter + 8.0 * tokens * hidden,
          2.0 * pairs * double(hidden) * inter,
          [&] { grouped_gemv(w_down, down, act, residual, true, pairs, hidden, inter, b.stream()); });
  }
}

// deepseek-llm-7b's vocabulary; the top-p rule reads the row five times (argmax, three radix passes,
// kept mass), counted once.
void bench_sampling(Bench& b) {
  const int vocab = 102400;
  for (int n : {1, 8, 64})
    for (const bool greedy : {true, false}) {
      Arena a(b.stream());
      std::vector<float> host(size_t(n) * vocab);
      for (size_t i = 0; i < host.size(); ++i) host[i] = 4.0f * hash_uniform(9, i);
      std::vector<int> rows(n);
      std::iota(rows.begin(), rows.end(), 0);
      const float* logits = a.copy(host);
      const SampleArgs args{a.copy(rows), a.copy(std::vector<float>(n, greedy ? 0.0f : 0.8f)),
                            a.copy(std::vector<float>(n, 0.9f)), a.copy(std::vector<float>(n, 0.5f))};
      int* out = a.zeros<int>(n);
      b.add(std::to_string(n) + (greedy ? " rows greedy" : " rows T 0.8 top-p 0.9"), 4.0 * n * vocab, 0,
            [&] { sample_tokens(logits, vocab, args, n, out, b.stream()); });
    }
}

const std::vector<std::pair<std::string, void (*)(Bench&)>>& families() {
  static const std::vector<std::pair<std::string, void (*)(Bench&)>> all = {
      {"rmsnorm", bench_rmsnorm},
      {"gemv", bench_gemv},
      {"grouped_gemv", bench_grouped_gemv},
      {"decode_attention", bench_decode_attention},
      {"prefill_attention", bench_prefill_attention},
      {"mla", bench_mla},
      {"router", bench_router},
      {"moe", bench_moe},
      {"sampling", bench_sampling},
  };
  return all;
}

}  // namespace

std::vector<std::string> kernel_bench_families() {
  std::vector<std::string> names;
  for (const auto& f : families()) names.push_back(f.first);
  return names;
}

int run_kernel_bench(const KernelBenchOptions& o) {
  std::vector<std::string> chosen = o.families.empty() ? kernel_bench_families() : o.families;
  const std::vector<std::string> known = kernel_bench_families();
  for (const std::string& f : chosen) {
    if (std::find(known.begin(), known.end(), f) != known.end()) continue;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    fail("kernels: unknown family '" + f + "' (known: " + list + ")");
  }
  const Peaks peaks = measure_peaks();
  std::printf("%s: copy %.0f GB/s, bf16 GEMM %.0f TFLOP/s\n", peaks.gpu.c_str(), peaks.copy_gbps, peaks.gemm_tflops);
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  Bench bench(peaks, s);
  std::vector<std::pair<std::string, std::vector<Point>>> results;
  for (const auto& [name, run] : families()) {
    if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) continue;
    run(bench);
    CUDA_CHECK(cudaStreamSynchronize(s));
    results.emplace_back(name, bench.take());
    std::printf("\n%-58s %10s %10s %10s %9s %9s %8s\n", name.c_str(), "us", "MB", "GFLOP", "GB/s", "TFLOP/s", "of limit");
    for (const Point& p : results.back().second)
      std::printf("%-58s %10.2f %10.3f %10.3f %9.0f %9.1f %7.1f%%\n", p.shape.c_str(), p.us, p.bytes / 1e6, p.flops / 1e9,
                  p.bytes / (p.us * 1e3), p.flops / (p.us * 1e6), 100 * p.fraction);
  }
  CUDA_CHECK(cudaStreamDestroy(s));
  if (!o.json_out.empty()) {
    std::ostringstream j;
    j << "{\n  \"gpu\": " << quoted(peaks.gpu) << ",\n  \"date\": " << quoted(utc_now_iso8601())
      << ",\n  \"command\": " << quoted(o.command) << ",\n  \"peaks\": {\"copy_gbps\": " << fmt_number(peaks.copy_gbps)
      << ", \"gemm_bf16_tflops\": " << fmt_number(peaks.gemm_tflops) << "},\n  \"families\": {";
    for (size_t f = 0; f < results.size(); ++f) {
      j << (f ? "," : "") << "\n    " << quoted(results[f].first) << ": [";
      const std::vector<Point>& points = results[f].second;
      for (size_t i = 0; i < points.size(); ++i) {
        const Point& p = points[i];
        j << (i ? "," : "") << "\n      {\"shape\": " << quoted(p.shape) << ", \"us\": " << fmt_number(p.us)
          << ", \"bytes\": " << fmt_number(p.bytes) << ", \"flops\": " << fmt_number(p.flops)
          << ", \"fraction_of_limit\": " << fmt_number(p.fraction) << "}";
      }
      j << "\n    ]";
    }
    j << "\n  }\n}\n";
    write_text_file(o.json_out, j.str());
  }
  return 0;
}

}  // namespace aidc
