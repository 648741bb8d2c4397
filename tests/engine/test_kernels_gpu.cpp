// Every kernel family of kernels/kernels.h alone against its CPU reference (cpu/kernel_reference.h), on
// awkward shapes: odd widths where the kernel allows them, one token, batches 1/3/7/8, contexts across
// many shuffled blocks, several split-K ranges, GQA ratios, MLA at DeepSeek's rank 512 + rope 64 and
// a small rank, V3 routing. Without a device every test skips.
//
// Tolerances: inputs are bf16 and both sides compute in fp32, so a bf16 output may differ by one bf16
// step (2^-7 of the value at most) where the two summation orders round to neighbours; the bound is
// 2^-7 of the output's scale (its largest magnitude), 2^-6 where the kernel also rounds intermediate
// probabilities to bf16 (the tensor-core prefill) or adds split partials. fp32 outputs get 2^-12.
// A wrong row, block index or position moves an element by about the scale itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/numeric.h"
#include "cpu/kernel_reference.h"
#include "engine_test_support.h"
#include "gpu/gpu_model.h"
#include "kernels/kernels.h"

namespace aidc {
namespace {

#define REQUIRE_GPU() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"

constexpr double kBf16Tol = 0x1p-7, kBf16ProbTol = 0x1p-6, kFloatTol = 0x1p-12;

std::vector<float> random_bf16(size_t n, uint64_t stream, float scale = 1.0f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = round_to_bf16(scale * hash_uniform(stream, i));
  return v;
}

// Device allocations of one test, freed at its end; uploads take host floats (bf16 values).
class Device {
 public:
  ~Device() {
    for (void* p : held_) cudaFree(p);
  }
  template <typename T>
  T* zeros(size_t n) {
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T)), cudaSuccess);
    cudaMemset(p, 0, std::max<size_t>(n, 1) * sizeof(T));
    held_.push_back(p);
    return static_cast<T*>(p);
  }
  bf16* bf16s(const std::vector<float>& v) {
    std::vector<uint16_t> bits(v.size());
    for (size_t i = 0; i < v.size(); ++i) bits[i] = float_to_bf16_bits(v[i]);
    bf16* p = zeros<bf16>(v.size());
    cudaMemcpy(p, bits.data(), bits.size() * 2, cudaMemcpyHostToDevice);
    return p;
  }
  template <typename T>
  T* copy(const std::vector<T>& v) {
    T* p = zeros<T>(v.size());
    cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice);
    return p;
  }
  static std::vector<float> read(const bf16* p, size_t n) {
    std::vector<uint16_t> bits(n);
    EXPECT_EQ(cudaMemcpy(bits.data(), p, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = bf16_bits_to_float(bits[i]);
    return v;
  }
  template <typename T>
  static std::vector<T> read(const T* p, size_t n) {
    std::vector<T> v(n);
    EXPECT_EQ(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return v;
  }

 private:
  std::vector<void*> held_;
};

// Largest |gpu - ref| within `tol` times ref's largest magnitude; names the worst element.
void expect_close(const std::vector<float>& gpu, const std::vector<float>& ref, double tol, const std::string& what) {
  ASSERT_EQ(gpu.size(), ref.size()) << what;
  double scale = 0, worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < ref.size(); ++i) scale = std::max(scale, double(std::abs(ref[i])));
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = std::abs(double(gpu[i]) - ref[i]);
    if (!(d <= worst)) worst = d, at = i;  // NaN counts as worst
  }
  EXPECT_LE(worst, tol * scale) << what << ": element " << at << " is " << gpu[at] << ", the reference " << ref[at]
                                << " (output scale " << scale << ")";
}

// Sequences of one attention launch with every block taken from a shuffled pool (so a wrong table
// lookup lands on another sequence's rows), uploaded as AttnSeqs.
struct Seqs {
  ref::AttnSeqs host;
  AttnSeqs device{};
  int total_new = 0, max_new = 0, blocks = 0;
  Seqs(Device& dev, const std::vector<int>& n_new, const std::vector<int>& context, int block_tokens, uint64_t shuffle) {
    int stride = 1;
    for (int c : context) stride = std::max(stride, ceil_div(c, block_tokens));
    for (int c : context) blocks += ceil_div(c, block_tokens);
    std::vector<int> pool(blocks);
    std::iota(pool.begin(), pool.end(), 0);
    for (int i = blocks - 1; i > 0; --i) std::swap(pool[i], pool[mix64(shuffle + i) % (i + 1)]);
    host.table_stride = stride;
    host.block_table.assign(size_t(stride) * n_new.size(), 0);
    int next = 0;
    for (size_t s = 0; s < n_new.size(); ++s) {
      host.token_offset.push_back(total_new);
      host.n_new.push_back(n_new[s]);
      host.context.push_back(context[s]);
      for (int b = 0; b < ceil_div(context[s], block_tokens); ++b) host.block_table[s * stride + b] = pool[next++];
      total_new += n_new[s];
      max_new = std::max(max_new, n_new[s]);
    }
    device = AttnSeqs{dev.copy(host.token_offset), dev.copy(host.n_new), dev.copy(host.context), dev.copy(host.block_table),
                      stride, host.count()};
  }
  static int ceil_div(int a, int b) { return (a + b - 1) / b; }
};

TEST(KernelsGpu, RmsnormOddWidthsAndRowSelections) {
  REQUIRE_GPU();
  Device dev;
  for (int hidden : {1, 37, 4096, 5123}) {
    for (int rows : {1, 3, 7}) {
      SCOPED_TRACE("hidden " + std::to_string(hidden) + ", rows " + std::to_string(rows));
      const std::vector<float> x = random_bf16(size_t(rows + 2) * hidden, 1, 3.0f), gain = random_bf16(hidden, 2);
      std::vector<int> picked(rows);
      for (int r = 0; r < rows; ++r) picked[r] = (r * 5 + 2) % (rows + 2);  // rows out of order
      bf16* out = dev.zeros<bf16>(size_t(rows) * hidden);
      rmsnorm(dev.copy(x), dev.copy(picked), dev.bf16s(gain), out, rows, hidden, 1e-6f, nullptr);
      std::vector<float> expect(size_t(rows) * hidden);
      ref::rmsnorm(x.data(), picked.data(), gain.data(), expect.data(), rows, hidden, hidden, hidden, 1e-6f);
      expect_close(Device::read(out, expect.size()), expect, kBf16Tol, "rmsnorm");
      // rmsnorm_bf16 on strided rows (a slice of wider rows, as MLA's q_a / kv_a), into strided rows.
      const int in_stride = hidden + 9, out_stride = hidden + 3;
      const std::vector<float> xb = random_bf16(size_t(rows) * in_stride, 3, 3.0f);
      bf16* outb = dev.zeros<bf16>(size_t(rows) * out_stride);
      rmsnorm_bf16(dev.bf16s(xb), dev.bf16s(gain), outb, rows, hidden, in_stride, out_stride, 1e-6f, nullptr);
      std::vector<float> expectb(size_t(rows) * out_stride, 0.0f);
      ref::rmsnorm(xb.data(), nullptr, gain.data(), expectb.data(), rows, hidden, in_stride, out_stride, 1e-6f);
      expect_close(Device::read(outb, expectb.size()), expectb, kBf16Tol, "rmsnorm_bf16");
    }
  }
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

TEST(KernelsGpu, EmbeddingAndSwiglu) {
  REQUIRE_GPU();
  Device dev;
  const int vocab = 101, hidden = 300, tokens = 7, inter = 1408;  // swiglu: inter % 8 == 0
  const std::vector<float> table = random_bf16(size_t(vocab) * hidden, 4);
  const std::vector<int> ids = {100, 0, 57, 57, 3, 99, 1};
  float* x = dev.zeros<float>(size_t(tokens) * hidden);
  embedding(dev.copy(ids), dev.bf16s(table), x, tokens, hidden, nullptr);
  std::vector<float> expect(size_t(tokens) * hidden);
  ref::embedding(ids.data(), table.data(), expect.data(), tokens, hidden);
  EXPECT_EQ(Device::read(x, expect.size()), expect);
  const std::vector<float> gate_up = random_bf16(size_t(tokens) * 2 * inter, 5, 4.0f);
  bf16* act = dev.zeros<bf16>(size_t(tokens) * inter);
  swiglu(dev.bf16s(gate_up), act, tokens, inter, nullptr);
  std::vector<float> expect_act(size_t(tokens) * inter);
  ref::swiglu(gate_up.data(), expect_act.data(), tokens, inter);
  expect_close(Device::read(act, expect_act.size()), expect_act, kBf16Tol, "swiglu");
}

// RoPE + cache store (rope_qkv_to_cache), halves layout: q rows and every cache row, at far positions
// (4099) and scattered slots, with and without the q/k/v bias.
TEST(KernelsGpu, RopeQkvToCache) {
  REQUIRE_GPU();
  struct Case {
    int heads, kv_heads, head_dim, tokens;
    bool bias;
  };
  for (const Case& c : {Case{8, 2, 128, 1, false}, Case{14, 2, 64, 3, true}, Case{4, 4, 128, 8, false}}) {
    SCOPED_TRACE(std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " heads, head_dim " + std::to_string(c.head_dim));
    Device dev;
    const int bt = 16, blocks = 9, width = (c.heads + 2 * c.kv_heads) * c.head_dim;
    const size_t cache = size_t(blocks) * c.kv_heads * bt * c.head_dim;
    const std::vector<float> qkv = random_bf16(size_t(c.tokens) * width, 6, 2.0f), bias = random_bf16(width, 7, 0.5f);
    std::vector<float> inv_freq(c.head_dim / 2);
    for (int i = 0; i < c.head_dim / 2; ++i) inv_freq[i] = static_cast<float>(std::pow(500000.0, -2.0 * i / c.head_dim));
    std::vector<int> positions, slots;
    for (int t = 0; t < c.tokens; ++t) positions.push_back(4099 - 517 * t), slots.push_back((t * 37 + 11) % (blocks * bt));
    bf16 *q = dev.zeros<bf16>(size_t(c.tokens) * c.heads * c.head_dim), *k = dev.zeros<bf16>(cache), *v = dev.zeros<bf16>(cache);
    QkvRope r{c.bias ? dev.bf16s(bias) : nullptr, dev.copy(positions), dev.copy(slots), dev.copy(inv_freq), 1.2f, q,
              KvLayer{k, v}, c.heads, c.kv_heads, c.head_dim, bt};
    rope_qkv_to_cache(dev.bf16s(qkv), r, c.tokens, nullptr);
    std::vector<float> eq(size_t(c.tokens) * c.heads * c.head_dim), ek(cache, 0.0f), ev(cache, 0.0f);
    ref::QkvRope h{c.bias ? bias.data() : nullptr, positions.data(), slots.data(), inv_freq.data(), 1.2f, eq.data(),
                   ek.data(), ev.data(), c.heads, c.kv_heads, c.head_dim, bt};
    ref::rope_qkv_to_cache(qkv.data(), h, c.tokens);
    expect_close(Device::read(q, eq.size()), eq, kBf16Tol, "q");
    expect_close(Device::read(k, cache), ek, kBf16Tol, "k cache");
    expect_close(Device::read(v, cache), ev, kBf16Tol, "v cache");
  }
}

// gemv (CUDA cores, 1..8 tokens, in % 8) and gemv_mma (tensor cores, up to 16 tokens, in % 32): odd
// output counts, fp32 / accumulated / bf16 outputs, the SwiGLU epilogue.
TEST(KernelsGpu, GemvShapesAndEpilogues) {
  REQUIRE_GPU();
  struct Case {
    int out, in;
  };
  for (const Case& c : {Case{1, 8}, Case{37, 264}, Case{4096, 4096}, Case{2 * 1408, 2048}, Case{4097, 1408}}) {
    Device dev;
    const std::vector<float> w = random_bf16(size_t(c.out) * c.in, 8), x = random_bf16(size_t(16) * c.in, 9);
    const bf16 *dw = dev.bf16s(w), *dx = dev.bf16s(x);
    for (int tokens : {1, 2, 3, 7, 8, 9, 16}) {
      SCOPED_TRACE(std::to_string(c.out) + "x" + std::to_string(c.in) + ", " + std::to_string(tokens) + " tokens");
      const bool cuda_cores = gemv_supported(tokens, c.in), mma = gemv_mma_supported(tokens, c.in);
      for (int kernel = 0; kernel < 2; ++kernel) {
        if (!(kernel == 0 ? cuda_cores : mma)) continue;
        auto run = kernel == 0 ? gemv : gemv_mma;
        const std::string name = kernel == 0 ? "gemv" : "gemv_mma";
        const size_t n = size_t(tokens) * c.out;
        const std::vector<float> start = random_bf16(n, 10);
        float* yf = dev.copy(start);
        run(dw, dx, yf, true, true, tokens, c.out, c.in, nullptr, false);
        std::vector<float> expect = start;
        ref::gemv(w.data(), x.data(), expect.data(), true, true, tokens, c.out, c.in);
        expect_close(Device::read(yf, n), expect, kFloatTol, name + " fp32 accumulate");
        bf16* yb = dev.zeros<bf16>(n);
        run(dw, dx, yb, false, false, tokens, c.out, c.in, nullptr, false);
        ref::gemv(w.data(), x.data(), expect.data(), false, false, tokens, c.out, c.in);
        expect_close(Device::read(yb, n), expect, kBf16Tol, name + " bf16");
        if (c.out % 2) continue;
        bf16* act = dev.zeros<bf16>(n / 2);
        run(dw, dx, act, false, false, tokens, c.out, c.in, nullptr, true);
        std::vector<float> expect_act(n / 2);
        ref::gemv(w.data(), x.data(), expect_act.data(), false, false, tokens, c.out, c.in, true);
        expect_close(Device::read(act, n / 2), expect_act, kBf16Tol, name + " swiglu");
      }
    }
  }
}

// gemv_rmsnorm (1..2 tokens): the norm formed while staging, with normed_out, SwiGLU, and the qkv
// RoPE epilogue writing q and the cache as rope_qkv_to_cache does.
TEST(KernelsGpu, GemvRmsnormAndRopeEpilogue) {
  REQUIRE_GPU();
  const int heads = 32, kv_heads = 8, hd = 128, in = 4096, bt = 16, blocks = 5;
  const int out = (heads + 2 * kv_heads) * hd;
  Device dev;
  const std::vector<float> w = random_bf16(size_t(out) * in, 11), gain = random_bf16(in, 12), x = random_bf16(2 * in, 13, 5.0f);
  std::vector<float> inv_freq(hd / 2);
  for (int i = 0; i < hd / 2; ++i) inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / hd));
  const bf16 *dw = dev.bf16s(w), *dg = dev.bf16s(gain);
  const float* dx = dev.copy(x);
  for (int tokens : {1, 2}) {
    SCOPED_TRACE(std::to_string(tokens) + " tokens");
    bf16 *y = dev.zeros<bf16>(size_t(tokens) * out), *normed = dev.zeros<bf16>(size_t(tokens) * in);
    gemv_rmsnorm(dw, dx, dg, 1e-5f, y, false, tokens, out, in, nullptr, nullptr, normed);
    std::vector<float> ey(size_t(tokens) * out), en(size_t(tokens) * in);
    ref::gemv_rmsnorm(w.data(), x.data(), gain.data(), 1e-5f, ey.data(), false, tokens, out, in, nullptr, en.data());
    expect_close(Device::read(y, ey.size()), ey, kBf16Tol, "projection");
    expect_close(Device::read(normed, en.size()), en, kBf16Tol, "normalised rows");
    bf16* act = dev.zeros<bf16>(size_t(tokens) * out / 2);
    gemv_rmsnorm(dw, dx, dg, 1e-5f, act, false, tokens, out, in, nullptr, nullptr, nullptr, true);
    std::vector<float> ea(size_t(tokens) * out / 2);
    ref::gemv_rmsnorm(w.data(), x.data(), gain.data(), 1e-5f, ea.data(), false, tokens, out, in, nullptr, nullptr, true);
    expect_close(Device::read(act, ea.size()), ea, kBf16Tol, "swiglu");

    const size_t cache = size_t(blocks) * kv_heads * bt * hd;
    const std::vector<int> positions = {1000, 4095}, slots = {77, 3};
    bf16 *q = dev.zeros<bf16>(size_t(tokens) * heads * hd), *k = dev.zeros<bf16>(cache), *v = dev.zeros<bf16>(cache);
    const QkvRope r{nullptr, dev.copy(positions), dev.copy(slots), dev.copy(inv_freq), 1.0f, q, KvLayer{k, v}, heads,
                    kv_heads, hd, bt};
    gemv_rmsnorm(dw, dx, dg, 1e-5f, nullptr, false, tokens, out, in, nullptr, &r);
    std::vector<float> eq(size_t(tokens) * heads * hd), ek(cache, 0.0f), ev(cache, 0.0f);
    const ref::QkvRope h{nullptr, positions.data(), slots.data(), inv_freq.data(), 1.0f, eq.data(), ek.data(), ev.data(),
                         heads, kv_heads, hd, bt};
    ref::gemv_rmsnorm(w.data(), x.data(), gain.data(), 1e-5f, nullptr, false, tokens, out, in, &h);
    expect_close(Device::read(q, eq.size()), eq, kBf16Tol, "rope q");
    expect_close(Device::read(k, cache), ek, kBf16Tol, "rope k cache");
    expect_close(Device::read(v, cache), ev, kBf16Tol, "rope v cache");
  }
}

// grouped_gemv at decode: the experts' gate/up (SwiGLU) with the shared expert riding along, then the
// down projection with the combine fused (weighted atomics into the fp32 residual) and the shared
// expert added with weight 1; 1, 3 and 8 tokens, 64 experts, top 6.
TEST(KernelsGpu, GroupedGemvFusedCombineAndShared) {
  REQUIRE_GPU();
  const int experts = 64, top_k = 6, hidden = 512, inter = 96, shared_inter = 2 * inter;
  Device dev;
  const std::vector<float> w_up = random_bf16(size_t(experts) * 2 * inter * hidden, 14),
                           w_down = random_bf16(size_t(experts) * hidden * inter, 15),
                           s_up = random_bf16(size_t(2) * shared_inter * hidden, 16),
                           s_down = random_bf16(size_t(hidden) * shared_inter, 17);
  const bf16 *dw_up = dev.bf16s(w_up), *dw_down = dev.bf16s(w_down), *ds_up = dev.bf16s(s_up), *ds_down = dev.bf16s(s_down);
  for (int tokens : {1, 3, 8}) {
    SCOPED_TRACE(std::to_string(tokens) + " tokens");
    const int pairs = tokens * top_k;
    const std::vector<float> x = random_bf16(size_t(tokens) * hidden, 18), residual = random_bf16(size_t(tokens) * hidden, 19);
    std::vector<int> expert_of_pair(pairs);
    std::vector<float> weight(pairs);
    for (int p = 0; p < pairs; ++p) expert_of_pair[p] = int(mix64(p + 100 * tokens) % experts), weight[p] = 0.05f + 0.03f * (p % 7);
    const int* de = dev.copy(expert_of_pair);
    const float* dwt = dev.copy(weight);
    bf16 *act = dev.zeros<bf16>(size_t(pairs) * inter), *shared_act = dev.zeros<bf16>(size_t(tokens) * shared_inter);
    const bf16* dx = dev.bf16s(x);
    GemvGroups up{de, int64_t(2) * inter * hidden, top_k, nullptr, top_k,
                  GemvShared{ds_up, 2 * shared_inter, hidden, dx, shared_act, tokens}};
    grouped_gemv(dw_up, up, dx, act, false, pairs, 2 * inter, hidden, nullptr, true);
    std::vector<float> ea(size_t(pairs) * inter), esa(size_t(tokens) * shared_inter);
    ref::GemvGroups hup{expert_of_pair.data(), int64_t(2) * inter * hidden, top_k, nullptr, top_k,
                        ref::GemvShared{s_up.data(), 2 * shared_inter, hidden, x.data(), esa.data(), tokens}};
    ref::grouped_gemv(w_up.data(), hup, x.data(), ea.data(), false, pairs, 2 * inter, hidden, true);
    expect_close(Device::read(act, ea.size()), ea, kBf16Tol, "experts' activations");
    expect_close(Device::read(shared_act, esa.size()), esa, kBf16Tol, "shared expert's activations");

    // The down projection reads the reference's activations (both sides from the same bf16 inputs).
    float* y = dev.copy(residual);
    GemvGroups down{de, int64_t(hidden) * inter, 1, dwt, top_k,
                    GemvShared{ds_down, hidden, shared_inter, dev.bf16s(esa), nullptr, tokens}};
    grouped_gemv(dw_down, down, dev.bf16s(ea), y, true, pairs, hidden, inter, nullptr);
    std::vector<float> ey = residual;
    ref::GemvGroups hdown{expert_of_pair.data(), int64_t(hidden) * inter, 1, weight.data(), top_k,
                          ref::GemvShared{s_down.data(), hidden, shared_inter, esa.data(), nullptr, tokens}};
    ref::grouped_gemv(w_down.data(), hdown, ea.data(), ey.data(), true, pairs, hidden, inter);
    expect_close(Device::read(y, ey.size()), ey, kFloatTol, "combined residual");
  }
}

// Prefill attention (head_dim 64 / 128, causal, paged): one token; chunked prefill (new tokens after a
// cached prefix) in sequences of unequal length; 4,100 tokens over 257 shuffled blocks. Scores are
// sharp (q ~ 4), so the output follows a few keys: a wrong block or an off-by-one mask shows.
TEST(KernelsGpu, PrefillAttentionCausalPagedGqa) {
  REQUIRE_GPU();
  struct Case {
    const char* what;
    int heads, kv_heads, head_dim;
    std::vector<int> n_new, context;
  };
  const std::vector<Case> cases = {
      {"one token", 4, 4, 128, {1}, {1}},
      {"GQA 4, three sequences, prefixes cached", 8, 2, 128, {1, 130, 300}, {1, 200, 301}},
      {"GQA 8, head_dim 64", 16, 2, 64, {7, 129}, {40, 129}},
      {"4,100 tokens, GQA 2", 2, 1, 64, {4100}, {4100}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Device dev;
    const int bt = 16;
    Seqs seqs(dev, c.n_new, c.context, bt, 21);
    const size_t cache = size_t(seqs.blocks) * c.kv_heads * bt * c.head_dim;
    const std::vector<float> k = random_bf16(cache, 22), v = random_bf16(cache, 23),
                             q = random_bf16(size_t(seqs.total_new) * c.heads * c.head_dim, 24, 4.0f);
    bf16* out = dev.zeros<bf16>(q.size());
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    attention_prefill(dev.bf16s(q), KvLayer{dev.bf16s(k), dev.bf16s(v)}, seqs.device, seqs.max_new, out, c.heads,
                      c.kv_heads, c.head_dim, bt, scale, nullptr);
    std::vector<float> expect(q.size());
    ref::attention(q.data(), k.data(), v.data(), seqs.host, expect.data(), c.heads, c.kv_heads, c.head_dim, bt, scale);
    expect_close(Device::read(out, q.size()), expect, kBf16ProbTol, "prefill output");
  }
}

// Decode attention, split-K: batches 1/3/7/8 with unequal contexts up to 4,100 tokens, split counts
// from decode_splits() and forced (1, 7, 33); the workspace is zeroed once and must stay reusable.
TEST(KernelsGpu, DecodeAttentionSplitK) {
  REQUIRE_GPU();
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  struct Case {
    int heads, kv_heads, head_dim;
    std::vector<int> context;
  };
  const std::vector<Case> cases = {{8, 8, 128, {4100}},
                                   {32, 8, 128, {1, 517, 4100}},
                                   {16, 2, 64, {3, 64, 65, 1000, 2048, 17, 4099}},
                                   {28, 4, 128, {16, 15, 1, 300, 4100, 4096, 777, 1024}}};
  for (const Case& c : cases) {
    const int n = static_cast<int>(c.context.size()), bt = 16;
    SCOPED_TRACE("batch " + std::to_string(n) + ", " + std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " heads");
    Device dev;
    Seqs seqs(dev, std::vector<int>(n, 1), c.context, bt, 31);
    const size_t cache = size_t(seqs.blocks) * c.kv_heads * bt * c.head_dim;
    const std::vector<float> k = random_bf16(cache, 32), v = random_bf16(cache, 33),
                             q = random_bf16(size_t(n) * c.heads * c.head_dim, 34, 4.0f);
    const bf16* dq = dev.bf16s(q);
    const KvLayer kv{dev.bf16s(k), dev.bf16s(v)};
    std::vector<float> expect(q.size());
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    ref::attention(q.data(), k.data(), v.data(), seqs.host, expect.data(), c.heads, c.kv_heads, c.head_dim, bt, scale);
    const int chosen = decode_splits(n, c.kv_heads, *std::max_element(c.context.begin(), c.context.end()), sms);
    const size_t work_floats = decode_workspace_floats(n, c.heads, c.head_dim, 33);
    float* work = dev.zeros<float>(work_floats);
    for (int splits : {chosen, 1, 7, 33}) {
      SCOPED_TRACE(std::to_string(splits) + " splits");
      bf16* out = dev.zeros<bf16>(q.size());
      attention_decode(dq, kv, seqs.device, out, work, splits, c.heads, c.kv_heads, c.head_dim, bt, scale, nullptr);
      expect_close(Device::read(out, q.size()), expect, kBf16Tol, "decode output");
    }
    const std::vector<float> left = Device::read(work, work_floats);
    EXPECT_EQ(std::count(left.begin(), left.end(), 0.0f), long(work_floats)) << "the workspace is not left zeroed";
  }
}

// mla_prepare at DeepSeek-V2-Lite's shapes (16 heads, rank 512, rope 64, nope 128) and a small rank.
TEST(KernelsGpu, MlaPrepare) {
  REQUIRE_GPU();
  struct Case {
    int heads, rank, rope_dim, nope, tokens;
  };
  for (const Case& c : {Case{16, 512, 64, 128, 3}, Case{5, 32, 16, 24, 8}, Case{128, 512, 64, 128, 1}}) {
    SCOPED_TRACE("rank " + std::to_string(c.rank) + ", " + std::to_string(c.heads) + " heads");
    Device dev;
    const int width = c.rank + c.rope_dim, bt = 16, slots_total = 4 * bt;
    const int kv_a_stride = width + 8, q_stride = c.heads * (c.nope + c.rope_dim) + 8;
    const std::vector<float> kv_a = random_bf16(size_t(c.tokens) * kv_a_stride, 41, 2.0f),
                             q = random_bf16(size_t(c.tokens) * q_stride, 42), gain = random_bf16(c.rank, 43);
    std::vector<float> inv_freq(c.rope_dim / 2);
    for (int i = 0; i < c.rope_dim / 2; ++i) inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / c.rope_dim));
    std::vector<int> positions, slots;
    for (int t = 0; t < c.tokens; ++t) positions.push_back(4000 + 13 * t), slots.push_back((t * 19 + 5) % slots_total);
    bf16 *q_full = dev.zeros<bf16>(size_t(c.tokens) * c.heads * width), *cache = dev.zeros<bf16>(size_t(slots_total) * width);
    mla_prepare(dev.bf16s(kv_a), kv_a_stride, dev.bf16s(q), q_stride, dev.bf16s(gain), dev.copy(positions), dev.copy(slots),
                dev.copy(inv_freq), 1.1f, 1e-6f, q_full, cache, c.tokens, c.heads, c.rank, c.rope_dim, c.nope, nullptr);
    std::vector<float> eq(size_t(c.tokens) * c.heads * width, 0.0f), ec(size_t(slots_total) * width, 0.0f);
    ref::mla_prepare(kv_a.data(), kv_a_stride, q.data(), q_stride, gain.data(), positions.data(), slots.data(),
                     inv_freq.data(), 1.1f, 1e-6f, eq.data(), ec.data(), c.tokens, c.heads, c.rank, c.rope_dim, c.nope);
    expect_close(Device::read(q_full, eq.size()), eq, kBf16Tol, "q_full rope parts");
    expect_close(Device::read(cache, ec.size()), ec, kBf16Tol, "latent cache");
  }
}

// mla_attention: prefill (causal, cached prefixes) and split-K decode with mla_decode_splits() and
// forced splits, at rank 512 + rope 64 (16 and 20 heads: a partial head group) and rank 64 + rope 16.
TEST(KernelsGpu, MlaAttentionPrefillAndSplitDecode) {
  REQUIRE_GPU();
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  struct Case {
    int heads, rank, rope_dim;
  };
  for (const Case& c : {Case{16, 512, 64}, Case{20, 512, 64}, Case{3, 64, 16}}) {
    SCOPED_TRACE("rank " + std::to_string(c.rank) + ", " + std::to_string(c.heads) + " heads");
    const int width = c.rank + c.rope_dim, bt = 16;
    const float scale = 1.0f / std::sqrt(192.0f);
    for (const bool decode : {false, true}) {
      SCOPED_TRACE(decode ? "decode" : "prefill");
      Device dev;
      const std::vector<int> n_new = decode ? std::vector<int>{1, 1, 1} : std::vector<int>{1, 37, 200};
      const std::vector<int> context = decode ? std::vector<int>{4100, 1, 333} : std::vector<int>{1, 100, 200};
      Seqs seqs(dev, n_new, context, bt, 51);
      const std::vector<float> cache = random_bf16(size_t(seqs.blocks) * bt * width, 52),
                               q = random_bf16(size_t(seqs.total_new) * c.heads * width, 53, 2.0f);
      const bf16 *dq = dev.bf16s(q), *dc = dev.bf16s(cache);
      std::vector<float> expect(size_t(seqs.total_new) * c.heads * c.rank);
      ref::mla_attention(q.data(), cache.data(), seqs.host, expect.data(), c.heads, c.rank, c.rope_dim, bt, scale);
      if (!decode) {
        bf16* out = dev.zeros<bf16>(expect.size());
        mla_attention(dq, dc, seqs.device, seqs.max_new, out, c.heads, c.rank, c.rope_dim, bt, scale, nullptr);
        expect_close(Device::read(out, expect.size()), expect, kBf16Tol, "MLA prefill output");
        continue;
      }
      for (int splits : {mla_decode_splits(3, c.heads, 4100, sms), 1, 9}) {
        SCOPED_TRACE(std::to_string(splits) + " splits");
        bf16* out = dev.zeros<bf16>(expect.size());
        float* work = dev.zeros<float>(mla_workspace_floats(3, c.heads, c.rank, splits));
        mla_attention(dq, dc, seqs.device, 1, out, c.heads, c.rank, c.rope_dim, bt, scale, nullptr, work, splits);
        expect_close(Device::read(out, expect.size()), expect, kBf16ProbTol, "MLA decode output");
      }
    }
  }
}

// moe_route against the rule, token for token: V3's 256 experts in 8 groups (top 4), top 8, sigmoid
// with correction bias; softmax group-limited (V2) on 64 experts; plain softmax top-6; 1..300 tokens.
TEST(KernelsGpu, RouterGroupLimited) {
  REQUIRE_GPU();
  const MoEConfig v3 = test::deepseek_v3_routing();
  MoEConfig v2;
  v2.routing = Routing::SoftmaxGroupTopK;
  v2.n_routed_experts = 64;
  v2.experts_per_token = 6;
  v2.n_group = 8;
  v2.topk_group = 3;
  v2.routed_scaling_factor = 16;
  MoEConfig v1;
  v1.n_routed_experts = 64;
  v1.experts_per_token = 6;
  for (const MoEConfig& m : {v3, v2, v1}) {
    const int E = m.n_routed_experts, k = m.experts_per_token;
    const bool with_bias = m.routing == Routing::SigmoidGroupTopK;
    for (int tokens : {1, 3, 7, 8, 300}) {
      SCOPED_TRACE(std::to_string(E) + " experts, " + std::to_string(tokens) + " tokens");
      Device dev;
      const std::vector<float> logits = random_bf16(size_t(tokens) * E, 61, 3.0f), bias = random_bf16(E, 62, 0.1f);
      int* experts = dev.zeros<int>(size_t(tokens) * k);
      float* weights = dev.zeros<float>(size_t(tokens) * k);
      moe_route(dev.copy(logits), with_bias ? dev.bf16s(bias) : nullptr, gpu_routing(m), tokens, nullptr, experts, weights,
                nullptr);
      std::vector<int> ee(size_t(tokens) * k);
      std::vector<float> ew(ee.size());
      ref::moe_route(logits.data(), with_bias ? bias.data() : nullptr, m, tokens, nullptr, ee.data(), ew.data());
      EXPECT_EQ(Device::read(experts, ee.size()), ee);
      expect_close(Device::read(weights, ew.size()), ew, kFloatTol, "routing weights");
    }
  }
}

// moe_sort + moe_grouped_gemm + moe_combine at prefill: 64 experts, top 6, widths that leave partial
// tiles (160 outputs: a partial 128-column tile), routing skewed so one expert spans several 64-row
// tiles; the gather form (bf16 out) and the sorted-rows form (fp32 out).
TEST(KernelsGpu, MoeSortGroupedGemmCombine) {
  REQUIRE_GPU();
  const int experts = 64, top_k = 6, hidden = 256, out_features = 160;
  Device dev;
  const std::vector<float> w = random_bf16(size_t(experts) * out_features * hidden, 71);
  const bf16* dw = dev.bf16s(w);
  for (int tokens : {1, 37, 100}) {
    SCOPED_TRACE(std::to_string(tokens) + " tokens");
    const int pairs = tokens * top_k;
    std::vector<int> expert_of_pair(pairs);
    for (int p = 0; p < pairs; ++p) expert_of_pair[p] = p % 2 ? 5 : int(mix64(p) % experts);  // expert 5: half the pairs
    if (tokens == 1) std::iota(expert_of_pair.begin(), expert_of_pair.end(), 58);                // distinct, one row each
    std::vector<float> weight(pairs);
    for (int p = 0; p < pairs; ++p) weight[p] = 0.1f + 0.01f * (p % 9);
    const std::vector<float> a = random_bf16(size_t(tokens) * hidden, 72), residual = random_bf16(size_t(tokens) * out_features, 73);
    MoeSorted sorted{dev.zeros<int>(pairs), dev.zeros<int>(pairs), dev.zeros<int>(experts + 1), dev.zeros<int>(experts + 1)};
    moe_sort(dev.copy(expert_of_pair), pairs, experts, sorted, nullptr);
    const ref::MoeSorted expect = ref::moe_sort(expert_of_pair.data(), pairs, experts, kMoeTileRows);
    ref::MoeSorted got{Device::read(sorted.sorted_pair, pairs), Device::read(sorted.position_of_pair, pairs),
                       Device::read(sorted.expert_begin, experts + 1), Device::read(sorted.tile_begin, experts + 1)};
    EXPECT_EQ(got.expert_begin, expect.expert_begin);
    EXPECT_EQ(got.tile_begin, expect.tile_begin);
    for (int e = 0; e < experts; ++e) {  // the same pairs per expert, in any order; positions invert the order
      std::vector<int> g(got.sorted_pair.begin() + expect.expert_begin[e], got.sorted_pair.begin() + expect.expert_begin[e + 1]);
      std::sort(g.begin(), g.end());
      EXPECT_EQ(g, std::vector<int>(expect.sorted_pair.begin() + expect.expert_begin[e],
                                    expect.sorted_pair.begin() + expect.expert_begin[e + 1])) << "expert " << e;
    }
    for (int p = 0; p < pairs; ++p) ASSERT_EQ(got.sorted_pair[got.position_of_pair[p]], p);

    // Gathered from the tokens' rows, bf16 out, in the kernel's own order (got).
    bf16* gathered = dev.zeros<bf16>(size_t(pairs) * out_features);
    moe_grouped_gemm(dev.bf16s(a), true, top_k, dw, int64_t(out_features) * hidden, sorted, experts, pairs, gathered, false,
                     out_features, hidden, nullptr);
    std::vector<float> eg(size_t(pairs) * out_features);
    ref::moe_grouped_gemm(a.data(), true, top_k, w.data(), int64_t(out_features) * hidden, got, experts, pairs, eg.data(),
                          false, out_features, hidden);
    expect_close(Device::read(gathered, eg.size()), eg, kBf16Tol, "gathered grouped GEMM");
    // Rows already in sorted order (the down projection's input), fp32 out, then the combine.
    const std::vector<float> rows = random_bf16(size_t(pairs) * hidden, 74);
    float* expert_out = dev.zeros<float>(size_t(pairs) * out_features);
    moe_grouped_gemm(dev.bf16s(rows), false, top_k, dw, int64_t(out_features) * hidden, sorted, experts, pairs, expert_out,
                     true, out_features, hidden, nullptr);
    std::vector<float> eo(size_t(pairs) * out_features);
    ref::moe_grouped_gemm(rows.data(), false, top_k, w.data(), int64_t(out_features) * hidden, got, experts, pairs,
                          eo.data(), true, out_features, hidden);
    expect_close(Device::read(expert_out, eo.size()), eo, kFloatTol, "sorted-rows grouped GEMM");
    float* x = dev.copy(residual);
    moe_combine(dev.copy(eo), sorted.position_of_pair, dev.copy(weight), x, tokens, top_k, out_features, nullptr);
    std::vector<float> ex = residual;
    ref::moe_combine(eo.data(), got.position_of_pair.data(), weight.data(), ex.data(), tokens, top_k, out_features);
    expect_close(Device::read(x, ex.size()), ex, kFloatTol, "combined residual");
  }
}

// sample_tokens: greedy must match exactly; temperature + top-p draws follow the rule of
// runtime/sampling.cpp (the kernel bisects for the top-p threshold in float, the rule sorts in
// double: a draw within float rounding of a boundary may move, so one miss in the set is allowed).
TEST(KernelsGpu, SamplingGreedyAndTopP) {
  REQUIRE_GPU();
  for (int vocab : {102400, 1001}) {
    SCOPED_TRACE("vocab " + std::to_string(vocab));
    Device dev;
    const int rows = 5;
    std::vector<float> logits = random_bf16(size_t(rows) * vocab, 81, 6.0f);
    logits[size_t(2) * vocab + vocab - 1] = 30.0f;  // a peaked row, its best at the last index
    std::vector<int> row;
    std::vector<float> temperature, top_p, uniform;
    for (int r = 0; r < rows; ++r)
      for (float t : {0.0f, 0.7f, 1.3f})
        for (float p : {1.0f, 0.9f, 0.5f}) {
          row.push_back((r * 3 + 1) % rows);
          temperature.push_back(t);
          top_p.push_back(p);
          uniform.push_back(hash_unit(99, row.size()));
        }
    const int n = static_cast<int>(row.size());
    int* out = dev.zeros<int>(n);
    sample_tokens(dev.copy(logits), vocab, SampleArgs{dev.copy(row), dev.copy(temperature), dev.copy(top_p), dev.copy(uniform)},
                  n, out, nullptr);
    std::vector<int> expect(n);
    ref::sample_tokens(logits.data(), vocab, row.data(), temperature.data(), top_p.data(), uniform.data(), n, expect.data());
    const std::vector<int> got = Device::read(out, n);
    int same = 0;
    for (int i = 0; i < n; ++i) {
      if (temperature[i] <= 0.0f) EXPECT_EQ(got[i], expect[i]) << "greedy draw " << i;
      same += got[i] == expect[i];
    }
    EXPECT_GE(same, n - 1);
  }
}

}  // namespace
}  // namespace aidc
