#include "gpu/gpu_model.h"

#include <algorithm>
#include <cmath>

#include "common/numeric.h"
#include "kernels/common.cuh"
#include "parallel/communicator.h"

namespace aidc {

static void cublas_check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string("cuBLAS error ") + std::to_string(int(s)) + " in " + what);
}

MoeRouting gpu_routing(const MoEConfig& moe) {
  MoeRouting r;
  r.experts = moe.n_routed_experts;
  r.top_k = moe.experts_per_token;
  r.n_group = moe.n_group;
  r.topk_group = moe.topk_group;
  r.sigmoid = moe.routing == Routing::SigmoidGroupTopK;
  r.group_limited = moe.routing != Routing::SoftmaxTopK && moe.n_group > 1;
  // DeepSeek V3 normalises then scales; V1/V2 normalise, or else scale (as route_token()).
  r.normalise = moe.norm_topk_prob && moe.experts_per_token > 1;
  r.scale_weights = r.sigmoid || !r.normalise;
  r.scale = static_cast<float>(moe.routed_scaling_factor);
  return r;
}

// MLA's q_b_proj and kv_b_proj are held in bf16 even in fp8 checkpoints: the absorbed attention
// (attention_mla.cu, per_head_gemm) reads them as bf16.
bool gpu_holds_fp8(const TensorSpec& spec) {
  auto ends_with = [&](const std::string& tail) {
    return spec.name.size() >= tail.size() && spec.name.compare(spec.name.size() - tail.size(), tail.size(), tail) == 0;
  };
  return spec.fp8 && !ends_with("q_b_proj.weight") && !ends_with("kv_b_proj.weight");
}

// Values of `spec` a rank holds.
static int64_t held_values(const TensorSpec& spec, const TensorShard& shard) {
  if (shard.kind == TensorShard::Absent) return 0;
  int64_t n = 1;
  for (int64_t d : shard_shape(spec, shard)) n *= d;
  return n;
}

bool cuda_device_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// Offsets (in ints) of one step's metadata inside meta_: packed, so a decode step copies a few KB.
// A pure-decode step with the same (sequences, context bucket) gets the same layout, which is what
// lets its CUDA graph be replayed with new contents.
struct GpuModel::Plan {
  int tokens = 0, rows = 0, n_decode = 0, n_prefill = 0, max_new = 0, stride = 0, splits = 1, context_bucket = 0;
  size_t tok = 0, pos = 0, slot = 0, row = 0, dec = 0, pre = 0, dec_table = 0, pre_table = 0, total = 0;

  void layout() {
    size_t at = 0;
    auto take = [&](size_t n) { size_t o = at; at += n; return o; };
    tok = take(tokens);
    pos = take(tokens);
    slot = take(tokens);
    row = take(rows);
    dec = take(3 * size_t(n_decode));
    pre = take(3 * size_t(n_prefill));
    dec_table = take(size_t(n_decode) * stride);
    pre_table = take(size_t(n_prefill) * stride);
    total = at;
  }
  AttnSeqs seqs(const int* meta, bool decode) const {
    const int n = decode ? n_decode : n_prefill;
    const int* base = meta + (decode ? dec : pre);
    return AttnSeqs{base, base + n, base + 2 * n, meta + (decode ? dec_table : pre_table), stride, n};
  }
};

void* GpuModel::alloc(size_t bytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(bytes, 16)));
  allocations_.push_back(p);
  return p;
}

GpuModel::GpuModel(const ModelConfig& config, const WeightSource& source, GpuOptions options,
                   std::optional<ModelRank> rank)
    : c_(rank ? rank->plan.rank_config() : config), o_(options), plan_(std::make_unique<Plan>()) {
  if (!cuda_device_available()) fail("no CUDA device");
  if (rank && rank->plan.world() > 1) {
    // Every rank refuses alike, before any collective.
    const std::string what = config.is_moe() ? "MoE" : config.mla.enabled ? "MLA attention"
                             : config.weight_format == WeightFormat::Fp8Block ? "fp8 weights" : "";
    require(what.empty(), config.name + ": the GPU backend runs tensor parallel for dense Llama/Qwen2-style bf16 "
                                        "models only, and this model has " + what + " (run it with --tensor-parallel 1, "
                                        "or sharded on the CPU backend)");
    rank_.emplace(*rank);
    adds_to_residual_ = rank->rank == 0;
  }
  vocab_rows_ = rank_ && rank_->plan.vocab_split() ? c_.vocab / rank_->plan.spec().tensor : c_.vocab;
  const MLAConfig& mla = c_.mla;
  if (mla.enabled) {
    require(mla_attention_supported(mla.kv_lora_rank, mla.qk_rope_dim) &&
                mla_prefill_supported(mla.qk_nope_dim, mla.qk_rope_dim, mla.v_dim) && mla.q_lora_rank % 8 == 0,
            c_.name + ": MLA on the GPU needs DeepSeek V2/V3's dims (kv_lora_rank 512, qk_nope/qk_rope/v head dims "
                      "128/64/128; or the tiny test models' 64, 32/16/32) and q_lora_rank a multiple of 8");
  } else {
    require(c_.head_dim == 64 || c_.head_dim == 128, c_.name + ": head_dim " + std::to_string(c_.head_dim) +
                                                       " is not supported on the GPU (64, 128)");
    require(c_.heads / c_.kv_heads <= 8, c_.name + ": more than 8 query heads per kv head is not supported on the GPU");
  }
  require(c_.hidden % 8 == 0 && c_.intermediate % 8 == 0, c_.name + ": hidden and intermediate sizes must be multiples of 8");
  const MoEConfig& moe = c_.moe;
  if (moe.n_routed_experts > 0) {
    require(moe.n_routed_experts <= kMoeMaxExperts && moe.experts_per_token <= 32,
            c_.name + ": the GPU router takes at most 256 experts and 32 per token");
    require(moe.routing == Routing::SoftmaxTopK || moe.n_group <= kMoeMaxGroups,
            c_.name + ": the GPU router takes at most 32 expert groups");
    require(c_.hidden % 32 == 0 && moe.expert_intermediate % 32 == 0,
            c_.name + ": hidden and moe_intermediate_size must be multiples of 32 on the GPU");
    routing_ = gpu_routing(moe);
  }
  const bool fp8 = c_.weight_format == WeightFormat::Fp8Block;
  if (fp8) {
    const int q_rows = mla.enabled ? (mla.q_lora_rank ? mla.q_lora_rank : c_.heads * c_.qk_dim()) : c_.heads * c_.head_dim;
    require(q_rows % kFp8BlockSize == 0 && (mla.enabled || c_.kv_heads * c_.head_dim % kFp8BlockSize == 0),
            c_.name + ": fp8 on the GPU needs the q and k projections' rows in multiples of 128 (the fused q/k/v "
                      "weight stacks their 128x128 scale blocks)");
  }
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));  // a rank's own device
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  sm_count_ = prop.multiProcessorCount;

  // Will it fit? Weights first, then activations; the KV cache takes what is left.
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  // fp8 linears: a byte per weight and 4 per 128x128 block; the rest (and MLA's q_b, kv_b) bf16.
  int64_t dequant_values = 0;  // the largest fp8 linear or expert stack, for the bf16 scratch of larger steps
  for (const TensorSpec& spec : expected_tensors(whole_model())) {
    if (!gpu_holds_fp8(spec)) {
      weight_bytes_ += held_values(spec, shard_of(spec)) * 2;
      continue;
    }
    const std::vector<int64_t> grid = spec.scale_shape();
    weight_bytes_ += spec.numel() + grid[0] * grid[1] * 4;
    dequant_values = std::max(dequant_values, spec.numel());
  }
  const int T = o_.max_batch_tokens;
  const int q_width = c_.heads * c_.qk_dim(), attn_width = c_.heads * c_.v_dim();
  qkv_width_ = mla.enabled ? (mla.q_lora_rank ? mla.q_lora_rank : q_width) + c_.kv_values_per_token()
                           : (c_.heads + 2 * c_.kv_heads) * c_.head_dim;
  // MLA: q_a, absorbed q and latent output per token; one sequence's latent rows and expanded K_nope, V.
  const size_t mla_bytes =
      mla.enabled ? size_t(T) * (2 * mla.q_lora_rank + 2 * c_.heads * (c_.kv_values_per_token() + mla.kv_lora_rank)) +
                        size_t(o_.max_context) * 2 * (mla.kv_lora_rank + c_.heads * (mla.qk_nope_dim + mla.v_dim))
                  : 0;
  // Widest FFN run as one GEMM: the dense one, or the shared experts fused.
  const int ffn_width = std::max(c_.intermediate, moe.expert_intermediate * moe.n_shared_experts);
  const size_t pairs = size_t(T) * moe.experts_per_token;
  const size_t moe_bytes = moe.n_routed_experts == 0 ? 0
                           : size_t(T) * moe.n_routed_experts * 4 + pairs * (4 + 4 + 4 + 4) +
                                 pairs * (2 * 2 * moe.expert_intermediate + 2 * moe.expert_intermediate + 4 * c_.hidden);
  table_stride_ = ceil_div(o_.max_context, o_.block_tokens);
  decode_work_floats_ =
      mla.enabled ? mla_workspace_floats(o_.max_seqs, c_.heads, mla.kv_lora_rank,
                                         mla_decode_splits(1, c_.heads, o_.max_context, sm_count_))
                  : decode_workspace_floats(o_.max_seqs, c_.heads, c_.head_dim,
                                            decode_splits(1, c_.kv_heads, o_.max_context, sm_count_));
  if (fp8)  // fused: gate/up (dense or shared experts), q/k/v, a layer's expert stack
    dequant_values = std::max({dequant_values, int64_t(2) * ffn_width * c_.hidden, int64_t(qkv_width_) * c_.hidden,
                               int64_t(moe.n_routed_experts) * 2 * moe.expert_intermediate * c_.hidden});
  const size_t activation_bytes = 2 * size_t(dequant_values) + size_t(T) * (4 * c_.hidden + 2 * c_.hidden + 2 * qkv_width_ + 2 * q_width +
                                               2 * attn_width + 6 * ffn_width) +
                                  mla_bytes +
                                  size_t(o_.max_logit_rows) * (4 * c_.vocab + 2 * c_.hidden) + 4 * decode_work_floats_ +
                                  (vocab_rows_ < c_.vocab ? size_t(o_.max_logit_rows) * 4 * c_.vocab : 0) +
                                  moe_bytes + (64u << 20);
  const double gib = 1024.0 * 1024 * 1024;
  if (weight_bytes_ + activation_bytes > free_bytes)
    fail(c_.name + ": model too big for the GPU: " + std::to_string(weight_bytes_ / gib) + " GiB of weights + " +
         std::to_string(activation_bytes / gib) + " GiB of buffers > " + std::to_string(free_bytes / gib) + " GiB free on " +
         prop.name);

  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  cublas_check(cublasCreate(&cublas_), "cublasCreate");
  cublas_check(cublasSetStream(cublas_, stream_), "cublasSetStream");
  const size_t cublas_workspace = 32u << 20;  // fixed, so GEMMs can be captured in graphs
  cublas_check(cublasSetWorkspace(cublas_, alloc(cublas_workspace), cublas_workspace), "cublasSetWorkspace");

  if (fp8) dequant_scratch_ = static_cast<bf16*>(alloc(size_t(dequant_values) * 2));
  load_weights(source);
  std::vector<float> inv = c_.rope_inv_freq();
  inv_freq_ = static_cast<float*>(alloc(inv.size() * 4));
  CUDA_CHECK(cudaMemcpy(inv_freq_, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));

  x_ = static_cast<float*>(alloc(size_t(T) * c_.hidden * 4));
  h_ = static_cast<bf16*>(alloc(size_t(T) * c_.hidden * 2));
  qkv_ = static_cast<bf16*>(alloc(size_t(T) * qkv_width_ * 2));
  q_ = static_cast<bf16*>(alloc(size_t(T) * q_width * 2));
  attn_ = static_cast<bf16*>(alloc(size_t(T) * attn_width * 2));
  if (mla.enabled) {
    if (mla.q_lora_rank) mla_q_a_ = static_cast<bf16*>(alloc(size_t(T) * mla.q_lora_rank * 2));
    q_full_ = static_cast<bf16*>(alloc(size_t(T) * c_.heads * c_.kv_values_per_token() * 2));
    out_latent_ = static_cast<bf16*>(alloc(size_t(T) * c_.heads * mla.kv_lora_rank * 2));
    mla_latent_ = static_cast<bf16*>(alloc(size_t(o_.max_context) * mla.kv_lora_rank * 2));
    mla_expanded_ = static_cast<bf16*>(alloc(size_t(o_.max_context) * c_.heads * (mla.qk_nope_dim + mla.v_dim) * 2));
  }
  gate_up_ = static_cast<bf16*>(alloc(size_t(T) * 2 * ffn_width * 2));
  act_ = static_cast<bf16*>(alloc(size_t(T) * ffn_width * 2));
  if (moe.n_routed_experts > 0) {
    const int E = moe.n_routed_experts, Ie = moe.expert_intermediate;
    router_logits_ = static_cast<float*>(alloc(size_t(T) * E * 4));
    expert_of_pair_ = static_cast<int*>(alloc(pairs * 4));
    forced_experts_ = static_cast<int*>(alloc(pairs * 4));
    weight_of_pair_ = static_cast<float*>(alloc(pairs * 4));
    sorted_ = MoeSorted{static_cast<int*>(alloc(pairs * 4)), static_cast<int*>(alloc(pairs * 4)),
                        static_cast<int*>(alloc(size_t(E + 1) * 4)), static_cast<int*>(alloc(size_t(E + 1) * 4))};
    expert_gate_up_ = static_cast<bf16*>(alloc(pairs * 2 * Ie * 2));
    expert_act_ = static_cast<bf16*>(alloc(pairs * Ie * 2));
    expert_out_ = static_cast<float*>(alloc(pairs * c_.hidden * 4));
  }
  final_h_ = static_cast<bf16*>(alloc(size_t(o_.max_logit_rows) * c_.hidden * 2));
  logits_ = static_cast<float*>(alloc(size_t(o_.max_logit_rows) * c_.vocab * 4));
  if (vocab_rows_ < c_.vocab) vocab_parts_ = static_cast<float*>(alloc(size_t(o_.max_logit_rows) * c_.vocab * 4));
  decode_work_ = static_cast<float*>(alloc(decode_work_floats_ * 4));
  CUDA_CHECK(cudaMemset(decode_work_, 0, decode_work_floats_ * 4));  // attention_decode's tickets start at 0
  meta_ints_ = 3 * size_t(T) + o_.max_logit_rows + 6 * size_t(o_.max_seqs) + 2 * size_t(o_.max_seqs) * table_stride_;
  meta_ = static_cast<int*>(alloc(meta_ints_ * 4));
  CUDA_CHECK(cudaMallocHost(&meta_host_, meta_ints_ * 4));
  sample_args_ = static_cast<float*>(alloc(4 * size_t(o_.max_seqs) * 4));
  CUDA_CHECK(cudaMallocHost(&sample_host_, 4 * size_t(o_.max_seqs) * 4));
  sampled_ = static_cast<int*>(alloc(size_t(o_.max_seqs) * 4));

  const int64_t block_bytes = int64_t(c_.kv_values_per_token()) * o_.block_tokens * 2 * c_.layers;
  if (o_.kv_blocks > 0) {
    kv_blocks_ = o_.kv_blocks;
  } else {
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    kv_blocks_ = static_cast<int>(double(free_bytes) * o_.memory_fraction / block_bytes);
  }
  require(kv_blocks_ >= table_stride_ || kv_blocks_ >= 4,
          c_.name + ": no room for a KV cache after the weights (" + std::to_string(kv_blocks_) + " blocks)");
  kv_ = static_cast<bf16*>(alloc(size_t(kv_blocks_) * block_bytes));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

GpuModel::~GpuModel() {
  for (auto& [key, g] : graphs_) cudaGraphExecDestroy(g);
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
  cudaFreeHost(meta_host_);
  cudaFreeHost(sample_host_);
  for (void* p : allocations_) cudaFree(p);
}

void GpuModel::load_weights(const WeightSource& source) {
  const int64_t H = c_.hidden, hd = c_.head_dim;
  auto buffer = [&](int64_t n) { return static_cast<bf16*>(alloc(size_t(n) * 2)); };
  // A fused linear's storage: bf16, or (fp8 checkpoints) codes + stacked scale grids in `w8`.
  const bool fp8 = c_.weight_format == WeightFormat::Fp8Block;
  auto linear_buffer = [&](Fp8Weight& w8, int64_t rows, int64_t in, int split_rows = 0, int group_rows = 0) -> bf16* {
    if (!fp8) return buffer(rows * in);
    const int64_t scale_rows = group_rows ? rows / group_rows * fp8_scale_rows(group_rows, split_rows)
                                          : fp8_scale_rows(rows, split_rows);
    w8 = Fp8Weight{static_cast<uint8_t*>(alloc(size_t(rows * in))),
                   static_cast<float*>(alloc(size_t(scale_rows * fp8_blocks(in)) * 4)), split_rows, group_rows};
    return nullptr;
  };
  // Tensor `name` is rows from `first_row` on of the fused linear (base or w8) with `in` columns.
  auto place = [&](const std::string& name, bf16* base, const Fp8Weight& w8, int64_t first_row, int64_t in) {
    if (!w8) {
      tensor_at_[name] = base + first_row * in;
      return;
    }
    fp8_at_[name] = {const_cast<uint8_t*>(w8.codes) + first_row * in,
                     const_cast<float*>(w8.scales) + fp8_scale_row(w8, first_row) * fp8_blocks(in)};
  };
  embed_ = buffer(int64_t(c_.vocab) * H);
  final_norm_ = buffer(H);
  lm_head_ = c_.tie_embeddings ? embed_ : buffer(int64_t(vocab_rows_) * H);
  tensor_at_["model.embed_tokens.weight"] = embed_;
  tensor_at_["model.norm.weight"] = final_norm_;
  if (!c_.tie_embeddings) tensor_at_["lm_head.weight"] = lm_head_;
  for (int l = 0; l < c_.layers; ++l) {
    Layer L{};
    L.ln1 = buffer(H);
    L.ln2 = buffer(H);
    L.qkv = linear_buffer(L.fp8.qkv, qkv_width_, H);
    L.qkv_bias = c_.qkv_bias ? buffer(qkv_width_) : nullptr;
    const int64_t attn_width = int64_t(c_.heads) * c_.v_dim();
    L.o = linear_buffer(L.fp8.o, H, attn_width);
    const bool moe = c_.is_moe_layer(l);
    L.ffn_intermediate = moe ? c_.moe.expert_intermediate * c_.moe.n_shared_experts : c_.intermediate;
    const int64_t F = L.ffn_intermediate;
    L.gate_up = F ? linear_buffer(L.fp8.gate_up, 2 * F, H, static_cast<int>(F)) : nullptr;
    L.down = F ? linear_buffer(L.fp8.down, H, F) : nullptr;
    const std::string p = layer_prefix(l), a = p + "self_attn.";
    const std::string ffn = p + (moe ? "mlp.shared_experts." : "mlp.");
    if (moe) {
      const int64_t E = c_.moe.n_routed_experts, Ie = c_.moe.expert_intermediate;
      L.router = buffer(E * H);
      L.router_bias = c_.moe.routing == Routing::SigmoidGroupTopK ? buffer(E) : nullptr;
      L.experts_gate_up = linear_buffer(L.fp8.experts_gate_up, E * 2 * Ie, H, static_cast<int>(Ie), static_cast<int>(2 * Ie));
      L.experts_down = linear_buffer(L.fp8.experts_down, E * H, Ie, 0, static_cast<int>(H));
      tensor_at_[p + "mlp.gate.weight"] = L.router;
      if (L.router_bias) tensor_at_[p + "mlp.gate.e_score_correction_bias"] = L.router_bias;
      for (int64_t e = 0; e < E; ++e) {
        const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
        place(x + "gate_proj.weight", L.experts_gate_up, L.fp8.experts_gate_up, e * 2 * Ie, H);  // fused rows: gate, up
        place(x + "up_proj.weight", L.experts_gate_up, L.fp8.experts_gate_up, e * 2 * Ie + Ie, H);
        place(x + "down_proj.weight", L.experts_down, L.fp8.experts_down, e * H, Ie);
      }
    }
    tensor_at_[p + "input_layernorm.weight"] = L.ln1;
    tensor_at_[p + "post_attention_layernorm.weight"] = L.ln2;
    if (c_.mla.enabled) {
      const MLAConfig& m = c_.mla;
      const int64_t q_rows = m.q_lora_rank ? m.q_lora_rank : int64_t(c_.heads) * c_.qk_dim();
      place(a + (m.q_lora_rank ? "q_a_proj.weight" : "q_proj.weight"), L.qkv, L.fp8.qkv, 0, H);  // fused rows: q (or q_a), kv_a
      place(a + "kv_a_proj_with_mqa.weight", L.qkv, L.fp8.qkv, q_rows, H);
      if (m.q_lora_rank) {
        tensor_at_[a + "q_a_layernorm.weight"] = L.q_norm = buffer(m.q_lora_rank);
        tensor_at_[a + "q_b_proj.weight"] = L.q_b = buffer(int64_t(c_.heads) * c_.qk_dim() * m.q_lora_rank);
      }
      tensor_at_[a + "kv_a_layernorm.weight"] = L.kv_norm = buffer(m.kv_lora_rank);
      tensor_at_[a + "kv_b_proj.weight"] = L.kv_b = buffer(int64_t(c_.heads) * (m.qk_nope_dim + m.v_dim) * m.kv_lora_rank);
    } else {
      place(a + "q_proj.weight", L.qkv, L.fp8.qkv, 0, H);  // fused rows: q, then k, then v
      place(a + "k_proj.weight", L.qkv, L.fp8.qkv, c_.heads * hd, H);
      place(a + "v_proj.weight", L.qkv, L.fp8.qkv, (c_.heads + c_.kv_heads) * hd, H);
    }
    if (c_.qkv_bias) {
      tensor_at_[a + "q_proj.bias"] = L.qkv_bias;
      tensor_at_[a + "k_proj.bias"] = L.qkv_bias + c_.heads * hd;
      tensor_at_[a + "v_proj.bias"] = L.qkv_bias + (c_.heads + c_.kv_heads) * hd;
    }
    place(a + "o_proj.weight", L.o, L.fp8.o, 0, attn_width);
    if (F) {
      place(ffn + "gate_proj.weight", L.gate_up, L.fp8.gate_up, 0, H);  // fused rows: gate, then up
      place(ffn + "up_proj.weight", L.gate_up, L.fp8.gate_up, F, H);
      place(ffn + "down_proj.weight", L.down, L.fp8.down, 0, F);
    }
    layers_.push_back(L);
  }
  const std::vector<TensorSpec> specs = expected_tensors(whole_model());
  source.validate(specs);
  std::vector<uint16_t> staging;
  for (const TensorSpec& spec : specs) {
    if (auto f = fp8_at_.find(spec.name); f != fp8_at_.end()) {
      const auto [codes, scales] = f->second;
      const std::vector<int64_t> grid = spec.scale_shape();
      if (source.is_random()) {
        fill_random_fp8(codes, scales, spec.numel(), grid[0] * grid[1], source.stream(spec), spec.init_scale, stream_);
      } else {
        const Fp8Tensor t = source.read_fp8(spec);
        CUDA_CHECK(cudaMemcpy(codes, t.codes.data(), t.codes.size(), cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(scales, t.scales.data(), t.scales.size() * 4, cudaMemcpyHostToDevice));
      }
      continue;
    }
    bf16* dst = tensor_at_.at(spec.name);
    const TensorShard shard = shard_of(spec);
    if (source.is_random() && !spec.fp8) {  // fp8 specs held in bf16 (MLA's q_b, kv_b): the host's draw, dequantised
      // The shard's window of the whole tensor's draw, so every world size holds the same weights.
      const int64_t cols = spec.shape.size() > 1 ? spec.shape[1] : 1, held = held_values(spec, shard);
      RandomWindow window{0, held, held};
      if (shard.kind == TensorShard::Rows) window.first = shard.begin * cols;
      if (shard.kind == TensorShard::Columns) window = {shard.begin, shard.count, cols};
      fill_random_bf16(dst, held, source.stream(spec), spec.init_scale, spec.init_offset, window, stream_);
    } else {
      std::vector<float> v = take_shard(spec, shard, source.read(spec));
      staging.resize(v.size());
      for (size_t i = 0; i < v.size(); ++i) staging[i] = float_to_bf16_bits(v[i]);
      CUDA_CHECK(cudaMemcpy(dst, staging.data(), staging.size() * 2, cudaMemcpyHostToDevice));
    }
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

TensorShard GpuModel::shard_of(const TensorSpec& spec) const {
  return rank_ ? rank_->plan.shard(spec, rank_->rank) : TensorShard{};
}

void GpuModel::sum_partials(float* x, int tokens) {
  if (rank_) rank_->comm.all_reduce_sum(x, size_t(tokens) * c_.hidden);
}

// The all-gather leaves rank r's [rows][vocab_rows_] block at r * rows * vocab_rows_; each becomes the
// columns [r * vocab_rows_, (r + 1) * vocab_rows_) of the [rows][vocab] logits. This rank's block was
// written in place (NCCL's in-place all-gather).
void GpuModel::gather_vocab(int rows) {
  const size_t part = size_t(rows) * vocab_rows_;
  rank_->comm.all_gather(vocab_parts_ + rank_->rank * part, vocab_parts_, part);
  for (int r = 0; r < rank_->comm.world(); ++r)
    CUDA_CHECK(cudaMemcpy2DAsync(logits_ + size_t(r) * vocab_rows_, size_t(c_.vocab) * 4, vocab_parts_ + r * part,
                                 size_t(vocab_rows_) * 4, size_t(vocab_rows_) * 4, rows, cudaMemcpyDeviceToDevice, stream_));
}

// Layer l's cache: K then V (each [blocks][kv_heads][block_tokens][head_dim]), or MLA's latent rows
// [blocks][block_tokens][rank + rope] in `k` alone.
KvLayer GpuModel::kv_layer(int l) const {
  const size_t layer_values = size_t(kv_blocks_) * o_.block_tokens * c_.kv_values_per_token();
  bf16* base = kv_ + l * layer_values;
  return c_.mla.enabled ? KvLayer{base, nullptr} : KvLayer{base, base + layer_values / 2};
}

int64_t GpuModel::kv_cache_bytes() const {
  return int64_t(kv_blocks_) * o_.block_tokens * c_.kv_values_per_token() * 2 * c_.layers;
}

void GpuModel::fill_kv_cache_random(uint64_t seed) {
  fill_random_bf16(kv_, kv_cache_bytes() / 2, mix64(seed), 1.0f, 0.0f, stream_);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

bool GpuModel::uses_gemv(int tokens, int in_features) const {
  return tokens <= o_.gemv_max_tokens && gemv_supported(tokens, in_features);
}

void GpuModel::linear(const bf16* x, const bf16* w, void* y, bool y_is_float, bool accumulate, int tokens,
                      int out_features, int in_features) {
  if (uses_gemv(tokens, in_features)) {
    gemv(w, x, y, y_is_float, accumulate, tokens, out_features, in_features, stream_);
    return;
  }
  if (uses_gemv_mma(tokens, in_features)) {
    gemv_mma(w, x, y, y_is_float, accumulate, tokens, out_features, in_features, stream_);
    return;
  }
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  // Row-major y[T][out] = x[T][in] W[out][in]^T is column-major y^T = W^T(as stored) x^T.
  cublas_check(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, out_features, tokens, in_features, &alpha, w, CUDA_R_16BF,
                            in_features, x, CUDA_R_16BF, in_features, &beta, y, y_is_float ? CUDA_R_32F : CUDA_R_16BF,
                            out_features, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

void GpuModel::linear(const bf16* x, const Fp8Weight& w, void* y, bool y_is_float, bool accumulate, int tokens,
                      int out_features, int in_features) {
  if (tokens <= kFp8GemvMaxTokens && fp8_gemv_supported(tokens, in_features)) {
    fp8_gemv(w, x, y, y_is_float, accumulate, tokens, out_features, in_features, stream_);
    return;
  }
  linear(x, dequantized(w, out_features, in_features), y, y_is_float, accumulate, tokens, out_features, in_features);
}

void GpuModel::project(const bf16* x, const bf16* w, const Fp8Weight& w8, void* y, bool y_is_float, bool accumulate,
                       int tokens, int out_features, int in_features) {
  if (w8) linear(x, w8, y, y_is_float, accumulate, tokens, out_features, in_features);
  else linear(x, w, y, y_is_float, accumulate, tokens, out_features, in_features);
}

const bf16* GpuModel::dequantized(const Fp8Weight& w8, int64_t rows, int cols) {
  dequantize_fp8(w8, dequant_scratch_, rows, cols, stream_);
  return dequant_scratch_;
}

bool GpuModel::uses_gemv_mma(int tokens, int in_features) const {
  return !uses_gemv(tokens, in_features) && tokens <= o_.gemv_mma_max_tokens && gemv_mma_supported(tokens, in_features);
}

bool GpuModel::fuses_norm(int tokens) const {
  return uses_gemv(tokens, c_.hidden) && gemv_rmsnorm_supported(tokens, c_.hidden);
}

void GpuModel::normed_linear(const float* x, const bf16* gain, const bf16* w, void* y, bool y_is_float, int tokens,
                             int out_features, const Fp8Weight& w8) {
  const int H = c_.hidden;
  const float eps = static_cast<float>(c_.rms_eps);
  if (!w8 && fuses_norm(tokens)) {
    gemv_rmsnorm(w, x, gain, eps, y, y_is_float, tokens, out_features, H, stream_);
    return;
  }
  rmsnorm(x, nullptr, gain, h_, tokens, H, eps, stream_);
  project(h_, w, w8, y, y_is_float, false, tokens, out_features, H);
}

void GpuModel::qkv_projection(const Layer& L, const float* x, const QkvRope& rope, int tokens) {
  if (!L.fp8.qkv && fuses_norm(tokens)) {  // norm, projection and RoPE in one launch
    gemv_rmsnorm(L.qkv, x, L.ln1, static_cast<float>(c_.rms_eps), nullptr, false, tokens, qkv_width_, c_.hidden,
                 stream_, &rope);
    return;
  }
  normed_linear(x, L.ln1, L.qkv, qkv_, false, tokens, qkv_width_, L.fp8.qkv);
  rope_qkv_to_cache(qkv_, rope, tokens, stream_);
}

constexpr int kMoeGemvMaxTokens = 8;

void GpuModel::ffn_activation(const Layer& L, const bf16* h, int T) {
  const int H = c_.hidden, F = L.ffn_intermediate;
  if (L.fp8.gate_up) {
    if (T <= kFp8GemvMaxTokens && fp8_gemv_supported(T, H)) {
      fp8_gemv(L.fp8.gate_up, h, act_, false, false, T, 2 * F, H, stream_, /*swiglu_output=*/true);
    } else {
      linear(h, L.fp8.gate_up, gate_up_, false, false, T, 2 * F, H);
      swiglu(gate_up_, act_, T, F, stream_);
    }
    return;
  }
  if (uses_gemv(T, H)) {
    gemv(L.gate_up, h, act_, false, false, T, 2 * F, H, stream_, /*swiglu_output=*/true);
    return;
  }
  if (uses_gemv_mma(T, H)) {
    gemv_mma(L.gate_up, h, act_, false, false, T, 2 * F, H, stream_, /*swiglu_output=*/true);
    return;
  }
  linear(h, L.gate_up, gate_up_, false, false, T, 2 * F, H);
  swiglu(gate_up_, act_, T, F, stream_);
}

void GpuModel::normed_ffn_activation(const Layer& L, const float* x, int T) {
  const int H = c_.hidden;
  const float eps = static_cast<float>(c_.rms_eps);
  if (!L.fp8.gate_up && fuses_norm(T)) {  // norm, gate/up and SwiGLU in one launch
    gemv_rmsnorm(L.gate_up, x, L.ln2, eps, act_, false, T, 2 * L.ffn_intermediate, H, stream_, nullptr, nullptr,
                 /*swiglu_output=*/true);
    return;
  }
  rmsnorm(x, nullptr, L.ln2, h_, T, H, eps, stream_);
  ffn_activation(L, h_, T);
}

void GpuModel::dense_ffn(const Layer& L, const bf16* h, float* x, int T) {
  ffn_activation(L, h, T);
  project(act_, L.down, L.fp8.down, x, true, true, T, c_.hidden, L.ffn_intermediate);
}

// Up to 8 tokens run one GEMV per (token, expert) pair straight from the router's choice; larger steps
// sort the pairs by expert and run grouped GEMMs, which read each chosen expert once. At 8 tokens the
// 48 pairs of deepseek-moe-16b hit ~34 distinct experts, so the GEMVs read 40% more bytes, yet on the
// H100 they took 328 us per layer against 478 us for the sort + grouped GEMMs. Either way the sizes depend only on the token
// count, so the launches can be captured in CUDA graphs.
void GpuModel::moe_ffn(const Layer& L, float* x, int T) {
  const int H = c_.hidden, E = c_.moe.n_routed_experts, Ie = c_.moe.expert_intermediate, k = c_.moe.experts_per_token;
  const int pairs = T * k;
  const int64_t gate_up_stride = int64_t(2) * Ie * H, down_stride = int64_t(H) * Ie;
  // h = RMSNorm(x) feeds the router and the experts: the router's GEMV forms it and stores it, or a
  // norm kernel does.
  const float eps = static_cast<float>(c_.rms_eps);
  bf16* h = h_;
  if (fuses_norm(T)) {
    gemv_rmsnorm(L.router, x, L.ln2, eps, router_logits_, true, T, E, H, stream_, nullptr, h);
  } else {
    rmsnorm(x, nullptr, L.ln2, h, T, H, eps, stream_);
    linear(h, L.router, router_logits_, true, false, T, E, H);
  }
  const bool follow = !forced_routing_.empty();
  if (follow)
    CUDA_CHECK(cudaMemcpyAsync(forced_experts_, forced_routing_[moe_layers_done_].data(), size_t(pairs) * 4,
                               cudaMemcpyHostToDevice, stream_));
  ++moe_layers_done_;
  moe_route(router_logits_, L.router_bias, routing_, T, follow ? forced_experts_ : nullptr, expert_of_pair_,
            weight_of_pair_, stream_);
  if (record_routing_) {
    routing_trace_.emplace_back(size_t(pairs));
    CUDA_CHECK(cudaMemcpyAsync(routing_trace_.back().data(), expert_of_pair_, size_t(pairs) * 4, cudaMemcpyDeviceToHost,
                               stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  const int F = L.ffn_intermediate;  // shared experts, fused (0: none)
  const Fp8Weight& gate_up8 = L.fp8.experts_gate_up;
  if (gate_up8 && T <= kMoeGemvMaxTokens && fp8_gemv_supported(1, H) && fp8_gemv_supported(1, Ie)) {
    // As below, without shared entries: the shared experts run as a dense FFN after the routed ones.
    const Fp8Weight& down8 = L.fp8.experts_down;
    const int64_t gate_up_scales = fp8_scale_rows(2 * Ie, Ie) * fp8_blocks(H), down_scales = fp8_blocks(H) * fp8_blocks(Ie);
    fp8_grouped_gemv(Fp8Weight{gate_up8.codes, gate_up8.scales, Ie, 0},
                     Fp8Groups{expert_of_pair_, gate_up_stride, gate_up_scales, k, nullptr, 1}, h, expert_act_, false, pairs,
                     2 * Ie, H, stream_, /*swiglu_output=*/true);
    fp8_grouped_gemv(Fp8Weight{down8.codes, down8.scales, 0, 0},
                     Fp8Groups{expert_of_pair_, down_stride, down_scales, 1, weight_of_pair_, k}, expert_act_, x, true, pairs,
                     H, Ie, stream_);
    if (F) dense_ffn(L, h, x, T);
    return;
  }
  if (!gate_up8 && T <= kMoeGemvMaxTokens && gemv_supported(T, H)) {
    // At one token the shared experts ride along as one more entry (with more tokens, an entry per
    // token would read their weights once per token: they run as a dense FFN instead). The down
    // projection adds every entry's output, weighted, into its token's residual row (combine fused).
    const int shared_tokens = F && T == 1 ? 1 : 0;
    grouped_gemv(L.experts_gate_up, GemvGroups{expert_of_pair_, gate_up_stride, k, nullptr, 1,
                                               GemvShared{L.gate_up, 2 * F, H, h, act_, shared_tokens}},
                 h, expert_act_, false, pairs, 2 * Ie, H, stream_, /*swiglu_output=*/true);
    grouped_gemv(L.experts_down, GemvGroups{expert_of_pair_, down_stride, 1, weight_of_pair_, k,
                                            GemvShared{L.down, H, F, act_, nullptr, shared_tokens}},
                 expert_act_, x, true, pairs, H, Ie, stream_);
    if (F && !shared_tokens) dense_ffn(L, h, x, T);
    return;
  }
  moe_sort(expert_of_pair_, pairs, E, sorted_, stream_);
  // fp8: each stack dequantised into the one scratch just before its GEMM (stream order keeps them apart).
  const bf16* gate_up_w = gate_up8 ? dequantized(gate_up8, int64_t(E) * 2 * Ie, H) : L.experts_gate_up;
  moe_grouped_gemm(h, true, k, gate_up_w, gate_up_stride, sorted_, E, pairs, expert_gate_up_, false, 2 * Ie, H, stream_);
  swiglu(expert_gate_up_, expert_act_, pairs, Ie, stream_);
  const bf16* down_w = L.fp8.experts_down ? dequantized(L.fp8.experts_down, int64_t(E) * H, Ie) : L.experts_down;
  moe_grouped_gemm(expert_act_, false, k, down_w, down_stride, sorted_, E, pairs, expert_out_, true, H, Ie, stream_);
  moe_combine(expert_out_, sorted_.position_of_pair, weight_of_pair_, x, T, k, H, stream_);
  if (F) dense_ffn(L, h, x, T);
}

void GpuModel::ffn_block(const Layer& L, float* x, int T) {
  if (L.experts_gate_up || L.fp8.experts_gate_up) {
    moe_ffn(L, x, T);
    return;
  }
  normed_ffn_activation(L, x, T);
  project(act_, L.down, L.fp8.down, x, true, adds_to_residual_, T, c_.hidden, L.ffn_intermediate);
  sum_partials(x, T);
}

void GpuModel::upload_plan(const StepBatch& b, Plan& p) {
  p = Plan{};
  p.tokens = static_cast<int>(b.tokens.size());
  p.rows = b.logit_rows();
  require(p.tokens > 0 && p.tokens <= o_.max_batch_tokens, "step: " + std::to_string(p.tokens) + " tokens (limit " +
                                                              std::to_string(o_.max_batch_tokens) + ")");
  require(static_cast<int>(b.seqs.size()) <= o_.max_seqs, "step: too many sequences");
  require(p.rows <= o_.max_logit_rows, "step: " + std::to_string(p.rows) + " logits rows (limit " +
                                           std::to_string(o_.max_logit_rows) + ")");
  int max_context = 0;
  for (const SeqChunk& s : b.seqs) {
    (s.n_tokens == 1 ? p.n_decode : p.n_prefill)++;
    max_context = std::max(max_context, s.start_pos + s.n_tokens);
    if (s.n_tokens > 1) p.max_new = std::max(p.max_new, s.n_tokens);
  }
  require(max_context <= o_.max_context, "step: context of " + std::to_string(max_context) + " tokens exceeds max_context " +
                                             std::to_string(o_.max_context));
  // Context bucket: a power of two >= 1024, so graphs are reused across steps.
  p.context_bucket = 1024;
  while (p.context_bucket < max_context) p.context_bucket *= 2;
  p.context_bucket = std::min(p.context_bucket, table_stride_ * o_.block_tokens);
  p.stride = ceil_div(p.context_bucket, o_.block_tokens);
  if (c_.mla.enabled) {
    p.splits = mla_decode_splits(std::max(p.n_decode, 1), c_.heads, p.context_bucket, sm_count_);
    require(mla_workspace_floats(p.n_decode, c_.heads, c_.mla.kv_lora_rank, p.splits) <= decode_work_floats_,
            "step: decode workspace too small");
  } else {
    p.splits = decode_splits(std::max(p.n_decode, 1), c_.kv_heads, p.context_bucket, sm_count_);
    require(decode_workspace_floats(p.n_decode, c_.heads, c_.head_dim, p.splits) <= decode_work_floats_,
            "step: decode workspace too small");
  }
  p.layout();

  int* m = meta_host_;
  int t = 0, row = 0, di = 0, pi = 0;
  for (const SeqChunk& s : b.seqs) {
    require(static_cast<int>(s.blocks.size()) * o_.block_tokens >= s.start_pos + s.n_tokens, "step: block table too short");
    const bool decode = s.n_tokens == 1;
    int* desc = m + (decode ? p.dec : p.pre);
    const int n = decode ? p.n_decode : p.n_prefill, i = decode ? di++ : pi++;
    desc[i] = t;
    desc[n + i] = s.n_tokens;
    desc[2 * n + i] = s.start_pos + s.n_tokens;
    int* table = m + (decode ? p.dec_table : p.pre_table) + size_t(i) * p.stride;
    for (size_t k = 0; k < s.blocks.size() && int(k) < p.stride; ++k) {
      require(s.blocks[k] >= 0 && s.blocks[k] < kv_blocks_, "step: block id out of range");
      table[k] = s.blocks[k];
    }
    for (int k = 0; k < s.n_tokens; ++k, ++t) {
      const int pos = s.start_pos + k;
      require(b.tokens[t] >= 0 && b.tokens[t] < c_.vocab, "token id " + std::to_string(b.tokens[t]) + " outside the vocabulary");
      m[p.tok + t] = b.tokens[t];
      m[p.pos + t] = pos;
      m[p.slot + t] = s.blocks[pos / o_.block_tokens] * o_.block_tokens + pos % o_.block_tokens;
      if (s.all_logits || k == s.n_tokens - 1) m[p.row + row++] = t;
    }
  }
  require(p.total <= meta_ints_, "step: metadata does not fit");
  CUDA_CHECK(cudaMemcpyAsync(meta_, meta_host_, p.total * 4, cudaMemcpyHostToDevice, stream_));
}

void GpuModel::per_head_gemm(bool transpose_w, const bf16* w, int m, int k, const bf16* b, int ldb, int stride_b,
                             bf16* c, int ldc, int stride_c, int tokens) {
  const float alpha = 1.0f, beta = 0.0f;
  const int64_t w_stride = int64_t(c_.mla.qk_nope_dim + c_.mla.v_dim) * c_.mla.kv_lora_rank;
  cublas_check(cublasGemmStridedBatchedEx(cublas_, transpose_w ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, m, tokens, k,
                                          &alpha, w, CUDA_R_16BF, c_.mla.kv_lora_rank, w_stride, b, CUDA_R_16BF, ldb,
                                          stride_b, &beta, c, CUDA_R_16BF, ldc, stride_c, c_.heads, CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT),
               "cublasGemmStridedBatchedEx");
}

GpuModel::MlaQuery GpuModel::mla_q() const {
  if (c_.mla.q_lora_rank) return {q_, c_.heads * c_.qk_dim()};
  return {qkv_, qkv_width_};
}

void GpuModel::mla_projection(const Layer& L, const float* x, int tokens) {
  normed_linear(x, L.ln1, L.qkv, qkv_, false, tokens, qkv_width_, L.fp8.qkv);
}

void GpuModel::mla_query(const Layer& L, int tokens) {
  const MLAConfig& m = c_.mla;
  if (!m.q_lora_rank) return;  // q_proj's rows are in qkv_
  rmsnorm_bf16(qkv_, L.q_norm, mla_q_a_, tokens, m.q_lora_rank, qkv_width_, m.q_lora_rank,
               static_cast<float>(c_.rms_eps), stream_);
  linear(mla_q_a_, L.q_b, q_, false, false, tokens, c_.heads * c_.qk_dim(), m.q_lora_rank);
}

void GpuModel::mla_prepare_tokens(const Layer& L, bf16* cache, const int* positions, const int* slots, int tokens) {
  const MLAConfig& m = c_.mla;
  const MlaQuery q = mla_q();
  const int q_rows = m.q_lora_rank ? m.q_lora_rank : c_.heads * c_.qk_dim();
  mla_prepare(qkv_ + q_rows, qkv_width_, q.rows, q.stride, L.kv_norm, positions, slots, inv_freq_,
              c_.rope_attention_factor(), static_cast<float>(c_.rms_eps), q_full_, cache, tokens, c_.heads,
              m.kv_lora_rank, m.qk_rope_dim, m.qk_nope_dim, stream_);
}

// Decode in the absorbed form (kernels/attention_mla.cu): q_lat = q_nope W_UK per head, attention over
// the latent rows, then attn = o_lat W_UV^T per head. kv_b_proj [heads][nope + v][rank], row-major,
// read column-major: head h's W_UK is a (rank x nope) matrix with leading dimension rank, its W_UV
// follows.
void GpuModel::mla_decode(const Layer& L, const bf16* cache, const AttnSeqs& decode, int first_row, int rows,
                          int splits) {
  const MLAConfig& m = c_.mla;
  const int heads = c_.heads, rank = m.kv_lora_rank, width = c_.kv_values_per_token();
  const MlaQuery q = mla_q();
  // q_full[t][h][:rank] = W_UK_h^T q_nope[t][h]: column-major C (rank x rows), ld heads * width.
  per_head_gemm(false, L.kv_b, rank, m.qk_nope_dim, q.rows + int64_t(first_row) * q.stride, q.stride, c_.qk_dim(),
                q_full_ + int64_t(first_row) * heads * width, heads * width, width, rows);
  mla_attention(q_full_, cache, decode, 1, out_latent_, heads, rank, m.qk_rope_dim, o_.block_tokens,
                static_cast<float>(c_.softmax_scale()), stream_, decode_work_, splits);
  // attn[t][h] = W_UV_h o_lat[t][h]: W_UV_h starts nope rows into head h's block, transposed.
  per_head_gemm(true, L.kv_b + int64_t(m.qk_nope_dim) * rank, m.v_dim, rank,
                out_latent_ + int64_t(first_row) * heads * rank, heads * rank, rank,
                attn_ + int64_t(first_row) * heads * m.v_dim, heads * m.v_dim, m.v_dim, rows);
}

// Prefill in the non-absorbed form: attending in the latent would take 2 (2 rank + rope) FLOPs per
// (query, key) pair and head, the expanded keys and values 2 (nope + rope + v), a third; expanding
// costs one GEMM over the context, and the attention then runs on tensor cores.
void GpuModel::mla_prefill(const Layer& L, const bf16* cache, const AttnSeqs& seq, int n_new, int context) {
  const MLAConfig& m = c_.mla;
  const int rank = m.kv_lora_rank;
  mla_gather_latent(cache, seq.block_table, context, rank, c_.kv_values_per_token(), o_.block_tokens, mla_latent_,
                    stream_);
  linear(mla_latent_, L.kv_b, mla_expanded_, false, false, context, c_.heads * (m.qk_nope_dim + m.v_dim), rank);
  const MlaQuery q = mla_q();
  mla_prefill_attention(MlaPrefill{q.rows, q.stride, q_full_, mla_expanded_, cache, c_.heads, m.qk_nope_dim,
                                   m.qk_rope_dim, m.v_dim, rank, o_.block_tokens},
                        seq, n_new, attn_, static_cast<float>(c_.softmax_scale()), stream_);
}

void GpuModel::mla_attention_layer(const Layer& L, bf16* cache, const Plan& p) {
  const int T = p.tokens;
  mla_query(L, T);
  mla_prepare_tokens(L, cache, meta_ + p.pos, meta_ + p.slot, T);
  // The host's copy of the step's sequences (upload_plan wrote it): [offsets][new tokens][contexts].
  const int* dec = meta_host_ + p.dec;
  const int* pre = meta_host_ + p.pre;
  if (p.n_decode > 0) {
    // The absorbed products run over the rows from the first decoding token to the last (the whole
    // step when it only decodes, so a captured graph holds the same rows at every replay); prefill
    // rows in between are overwritten below.
    const auto [first, last] = std::minmax_element(dec, dec + p.n_decode);
    mla_decode(L, cache, p.seqs(meta_, true), *first, *last - *first + 1, p.splits);
  }
  const AttnSeqs prefills = p.seqs(meta_, false);
  for (int i = 0; i < p.n_prefill; ++i) {  // one sequence at a time: its expanded keys fill the buffer
    const AttnSeqs one{prefills.token_offset + i, prefills.n_new + i, prefills.context + i,
                       prefills.block_table + int64_t(i) * prefills.table_stride, prefills.table_stride, 1};
    mla_prefill(L, cache, one, pre[p.n_prefill + i], pre[2 * p.n_prefill + i]);
  }
}

void GpuModel::run(const Plan& p) {
  const int T = p.tokens, H = c_.hidden, hd = c_.head_dim, attn_width = c_.heads * c_.v_dim();
  const float eps = static_cast<float>(c_.rms_eps), scale = static_cast<float>(c_.softmax_scale());
  const float rope_scale = static_cast<float>(c_.rope_attention_factor());
  const AttnSeqs decode = p.seqs(meta_, true), prefill = p.seqs(meta_, false);
  embedding(meta_ + p.tok, embed_, x_, T, H, stream_);
  for (int l = 0; l < c_.layers; ++l) {
    const Layer& L = layers_[l];
    const KvLayer kv = kv_layer(l);
    if (c_.mla.enabled) {
      mla_projection(L, x_, T);
      mla_attention_layer(L, kv.k, p);
    } else {
      qkv_projection(L, x_, QkvRope{L.qkv_bias, meta_ + p.pos, meta_ + p.slot, inv_freq_, rope_scale, q_, kv, c_.heads,
                                    c_.kv_heads, hd, o_.block_tokens}, T);
      attention_prefill(q_, kv, prefill, p.max_new, attn_, c_.heads, c_.kv_heads, hd, o_.block_tokens, scale, stream_);
      attention_decode(q_, kv, decode, attn_, decode_work_, p.splits, c_.heads, c_.kv_heads, hd, o_.block_tokens, scale,
                       stream_);
    }
    project(attn_, L.o, L.fp8.o, x_, true, adds_to_residual_, T, H, attn_width);
    sum_partials(x_, T);
    ffn_block(L, x_, T);
  }
  // Vocab-parallel: this rank's logits columns into its block of the all-gather's buffer.
  const bool vocab_split = vocab_rows_ < c_.vocab;
  float* logits = vocab_split ? vocab_parts_ + size_t(rank_->rank) * p.rows * vocab_rows_ : logits_;
  if (p.rows == T) {  // every token is a logits row, in order (decode steps): no gather
    normed_linear(x_, final_norm_, lm_head_, logits, true, T, vocab_rows_);
  } else {
    rmsnorm(x_, meta_ + p.row, final_norm_, final_h_, p.rows, H, eps, stream_);
    linear(final_h_, lm_head_, logits, true, false, p.rows, vocab_rows_, H);
  }
  if (vocab_split) gather_vocab(p.rows);
}

void GpuModel::forward(const StepBatch& batch) {
  Plan& p = *plan_;
  upload_plan(batch, p);
  routing_trace_.clear();
  moe_layers_done_ = 0;
  last_logit_rows_ = p.rows;
  const bool follows_or_records = record_routing_ || !forced_routing_.empty();
  const bool graphable = o_.cuda_graphs && p.n_prefill == 0 && p.rows == p.n_decode && !follows_or_records;
  if (!graphable) {
    if (!forced_routing_.empty()) require_valid_choices(c_, forced_routing_, p.tokens);
    run(p);
    if (follows_or_records) CUDA_CHECK(cudaStreamSynchronize(stream_));  // the copies are done with the host vectors
    forced_routing_.clear();  // this forward only
    return;
  }
  const auto key = std::make_pair(p.n_decode, p.context_bucket);
  auto it = graphs_.find(key);
  if (it == graphs_.end()) {
    run(p);  // eager first: kernels get configured outside capture
    cudaGraph_t graph;
    CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    run(p);
    CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    cudaGraphExec_t exec;
    CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    CUDA_CHECK(cudaGraphDestroy(graph));
    graphs_[key] = exec;
    return;
  }
  CUDA_CHECK(cudaGraphLaunch(it->second, stream_));
}

std::vector<float> GpuModel::logits() {
  std::vector<float> out(size_t(last_logit_rows_) * c_.vocab);
  CUDA_CHECK(cudaMemcpyAsync(out.data(), logits_, out.size() * 4, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  return out;
}

std::vector<int> GpuModel::sample(const std::vector<SampleRequest>& requests) {
  const int n = static_cast<int>(requests.size());
  std::vector<int> tokens(n);
  if (n == 0) return tokens;
  require(n <= o_.max_seqs, "sample: too many requests");
  float* h = sample_host_;
  for (int i = 0; i < n; ++i) {
    const SampleRequest& r = requests[i];
    memcpy(&h[i], &r.row, 4);
    h[n + i] = r.params.temperature;
    h[2 * n + i] = r.params.top_p;
    h[3 * n + i] = hash_unit(r.params.seed, r.draw);
  }
  CUDA_CHECK(cudaMemcpyAsync(sample_args_, h, 4 * size_t(n) * 4, cudaMemcpyHostToDevice, stream_));
  const SampleArgs args{reinterpret_cast<const int*>(sample_args_), sample_args_ + n, sample_args_ + 2 * n,
                        sample_args_ + 3 * n};
  sample_tokens(logits_, c_.vocab, args, n, sampled_, stream_);
  CUDA_CHECK(cudaMemcpyAsync(tokens.data(), sampled_, size_t(n) * 4, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  return tokens;
}

}  // namespace aidc
