#pragma once
// CUDA backend: bf16 weights, fp32 residual stream, cuBLAS GEMMs (own GEMV for small batches), own
// kernels for the rest, paged KV cache, CUDA graphs for pure-decode steps.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "model/weights.h"
#include "parallel/shard_plan.h"
#include "runtime/batch.h"

namespace aidc {

struct GpuOptions {
  int kv_blocks = 0;           // 0: fill `memory_fraction` of what is free after weights and buffers
  int block_tokens = 16;
  double memory_fraction = 0.9;
  int max_batch_tokens = 8192; // tokens in one step
  int max_seqs = 256;          // sequences in one step
  int max_logit_rows = 256;    // logits rows kept per step (all_logits needs one per token)
  int max_context = 8192;      // tokens per sequence
  bool cuda_graphs = true;
  // Linear layers of at most this many tokens use the engine's GEMV, larger ones cuBLAS. On the H100
  // (deepseek-llm-7b decode, docs/benchmarks/engine.md) cuBLAS wins from 3 tokens on: 4 tokens 5.97 ms
  // vs 6.99 ms a step, 8 tokens 6.31 vs 9.28.
  int gemv_max_tokens = 2;
  // From there up to this many tokens, the tensor-core GEMV (kernels/gemv_mma.cu) instead of cuBLAS.
  // 0 (cuBLAS) by default: on the H200 at 3-16 tokens it streamed 65% of the copy bandwidth against
  // cuBLAS's 71-74% (docs/benchmarks/engine-h200.md, both in the same run).
  int gemv_mma_max_tokens = 0;
};

// The router kernel's parameters for a model's MoE settings (the rule of route_token()).
MoeRouting gpu_routing(const MoEConfig& moe);

// Whether the GPU holds this tensor as fp8 codes + block scales (fp8 specs but MLA's q_b and kv_b,
// which it dequantises to bf16 at load).
bool gpu_holds_fp8(const TensorSpec& spec);

// True when a CUDA device is present (tests skip with "no CUDA device" otherwise).
bool cuda_device_available();

class GpuModel : public Backend {
 public:
  // `rank`: run as that rank of a tensor-parallel group (engine/parallel), on the current device: hold
  // its shard of the weights and its heads and FFN slice (the plan's rank_config), all-reduce the
  // residual after the row-parallel o_proj and down_proj, and all-gather the vocab-parallel logits,
  // through its communicator on this model's stream. Dense models only: MoE, MLA and fp8 weights with
  // more than one rank are refused.
  GpuModel(const ModelConfig& config, const WeightSource& weights, GpuOptions options,
           std::optional<ModelRank> rank = std::nullopt);
  ~GpuModel() override;
  GpuModel(const GpuModel&) = delete;
  GpuModel& operator=(const GpuModel&) = delete;

  const ModelConfig& config() const override { return c_; }
  int kv_blocks() const override { return kv_blocks_; }
  int kv_block_tokens() const override { return o_.block_tokens; }
  void forward(const StepBatch& batch) override;
  std::vector<float> logits() override;
  std::vector<int> sample(const std::vector<SampleRequest>& requests) override;

  // For bench and profile.
  struct Layer {
    bf16 *ln1, *ln2, *qkv, *qkv_bias, *o;
    // The dense FFN; in MoE layers the shared experts as one FFN (ffn_intermediate 0: none).
    bf16 *gate_up, *down;
    int ffn_intermediate;
    // MoE layers: router [experts][hidden] (+ V3 correction bias), experts' fused gate/up
    // [experts][2 * expert_intermediate][hidden] and down [experts][hidden][expert_intermediate].
    bf16 *router, *router_bias, *experts_gate_up, *experts_down;
    // MLA: qkv holds q_a_proj (or q_proj) and kv_a_proj_with_mqa fused; q_a_layernorm, q_b_proj,
    // kv_a_layernorm, kv_b_proj ([heads][nope + v][rank]: W_UK then W_UV of each head).
    bf16 *q_norm, *q_b, *kv_norm, *kv_b;
    // WeightFormat::Fp8Block: these linears held as fp8 codes + block scales instead (their bf16
    // pointers above null). MLA's q_b and kv_b stay bf16, dequantised at load (attention_mla reads bf16).
    struct Fp8Linears {
      Fp8Weight qkv, o, gate_up, down, experts_gate_up, experts_down;
    } fp8;
  };
  cudaStream_t stream() const { return stream_; }
  const Layer& layer(int l) const { return layers_[l]; }
  KvLayer kv_layer(int l) const;
  int64_t weight_bytes() const { return weight_bytes_; }
  int64_t kv_cache_bytes() const;
  void fill_kv_cache_random(uint64_t seed);
  // y (+)= x W^T with the engine's choice of kernel (GEMV for small batches, else cuBLAS).
  void linear(const bf16* x, const bf16* w, void* y, bool y_is_float, bool accumulate, int tokens, int out_features,
              int in_features);
  // The same for fp8 weights: the fp8 GEMV up to kFp8GemvMaxTokens tokens, else the weight dequantised
  // to a bf16 scratch and the bf16 path.
  void linear(const bf16* x, const Fp8Weight& w, void* y, bool y_is_float, bool accumulate, int tokens,
              int out_features, int in_features);
  // A layer's linear in the format it was loaded in: w8 when set, else w.
  void project(const bf16* x, const bf16* w, const Fp8Weight& w8, void* y, bool y_is_float, bool accumulate, int tokens,
               int out_features, int in_features);
  int sm_count() const { return sm_count_; }
  // Steps that record or follow expert choices run eager (the copies happen inside the step).
  void force_routing(ExpertChoices experts) override { forced_routing_ = std::move(experts); }
  void record_routing(bool on) override { record_routing_ = on; }
  ExpertChoices routing_trace() override { return std::move(routing_trace_); }
  // x += FFN(RMSNorm(x)) of one layer for `tokens` rows: dense, or shared + routed experts in MoE layers.
  void ffn_block(const Layer& layer, float* x, int tokens);
  // Dense attention's inputs from the residual stream: RMSNorm, q/k/v projection, RoPE, q to
  // rope.q_out and k, v into the cache (one launch for the smallest batches).
  void qkv_projection(const Layer& layer, const float* x, const QkvRope& rope, int tokens);
  // act_ = silu(gate) * up of RMSNorm(x) for a dense FFN (one launch for the smallest batches).
  void normed_ffn_activation(const Layer& layer, const float* x, int tokens);
  // MLA attention of one layer by part, in the order a step runs them: the fused first projection of
  // RMSNorm(x) (q_a_proj or q_proj, and kv_a_proj_with_mqa); the query (q_a_layernorm and q_b_proj
  // where q is a LoRA); mla_prepare of the step's tokens (latent and rope key into the cache, rotated
  // q_rope); decode rows [first_row, first_row + rows) in the absorbed form (W_UK on q, attention over
  // the latent, W_UV on its output); a prefilling sequence (`seq` holds one) in the non-absorbed form
  // (latent expanded by kv_b_proj over its context, flash attention on tensor cores). Outputs go to the
  // attention rows o_proj reads.
  void mla_projection(const Layer& layer, const float* x, int tokens);
  void mla_query(const Layer& layer, int tokens);
  void mla_prepare_tokens(const Layer& layer, bf16* cache, const int* positions, const int* slots, int tokens);
  void mla_decode(const Layer& layer, const bf16* cache, const AttnSeqs& decode, int first_row, int rows, int splits);
  void mla_prefill(const Layer& layer, const bf16* cache, const AttnSeqs& seq, int n_new, int context);

 private:
  struct Plan;  // one step's metadata layout on the device
  void* alloc(size_t bytes);
  void load_weights(const WeightSource& source);
  const ModelConfig& whole_model() const { return rank_ ? rank_->plan.model() : c_; }  // the checkpoint's shapes
  TensorShard shard_of(const TensorSpec& spec) const;
  // After a row-parallel linear wrote this rank's partial sum into x (added onto it on the rank that
  // owns the residual): x = residual + every rank's part, on every rank.
  void sum_partials(float* x, int tokens);
  void gather_vocab(int rows);  // vocab_parts_ -> logits_, every rank's columns in place
  void run(const Plan& plan);
  void upload_plan(const StepBatch& batch, Plan& plan);
  // y = RMSNorm(x) W^T: fused into the GEMV for the smallest batches, else through h_.
  void normed_linear(const float* x, const bf16* gain, const bf16* w, void* y, bool y_is_float, int tokens,
                     int out_features, const Fp8Weight& w8 = {});
  // w8 dequantised into dequant_scratch_ ([rows][cols] bf16), for the bf16 GEMMs of larger steps.
  const bf16* dequantized(const Fp8Weight& w8, int64_t rows, int cols);
  bool uses_gemv(int tokens, int in_features) const;  // the engine's GEMV rather than cuBLAS (o_.gemv_max_tokens)
  bool uses_gemv_mma(int tokens, int in_features) const;  // the tensor-core GEMV (o_.gemv_mma_max_tokens)
  bool fuses_norm(int tokens) const;  // RMSNorm inside the next GEMV (gemv_rmsnorm) at this step size
  void ffn_activation(const Layer& layer, const bf16* h, int tokens);  // act_ = silu(gate) * up of h
  void dense_ffn(const Layer& layer, const bf16* h, float* x, int tokens);
  void mla_attention_layer(const Layer& layer, bf16* cache, const Plan& plan);
  struct MlaQuery {
    const bf16* rows;  // per token, per head: q_nope then the unrotated q_rope
    int stride;
  };
  MlaQuery mla_q() const;  // q_b_proj's output, or q_proj's rows of the fused projection
  // Per-head products with the slices of kv_b_proj: C_h = op(W_h) B_h, strided over the heads.
  void per_head_gemm(bool transpose_w, const bf16* w, int m, int k, const bf16* b, int ldb, int stride_b, bf16* c,
                     int ldc, int stride_c, int tokens);
  void moe_ffn(const Layer& layer, float* x, int tokens);  // norm, router, routed + shared experts

  ModelConfig c_;
  GpuOptions o_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  int sm_count_ = 0;
  std::vector<void*> allocations_;
  int64_t weight_bytes_ = 0;

  bf16 *embed_ = nullptr, *final_norm_ = nullptr, *lm_head_ = nullptr;
  std::vector<Layer> layers_;
  std::map<std::string, bf16*> tensor_at_;  // HF name -> device location (inside fused buffers)
  std::map<std::string, std::pair<uint8_t*, float*>> fp8_at_;  // fp8 linears: codes and scales (inside fused buffers)
  bf16* dequant_scratch_ = nullptr;  // fp8: the largest fp8 linear (or expert stack) in bf16
  float* inv_freq_ = nullptr;

  bf16* kv_ = nullptr;
  int kv_blocks_ = 0;
  int table_stride_ = 0;

  // Activations, sized for max_batch_tokens.
  float *x_ = nullptr, *logits_ = nullptr, *decode_work_ = nullptr;
  int qkv_width_ = 0;  // fused first projection: q, k, v (MLA: q or q_a, then kv_a)
  bf16 *mla_q_a_ = nullptr, *q_full_ = nullptr, *out_latent_ = nullptr;  // MLA: normalised q_a, absorbed q, latent output
  bf16 *mla_latent_ = nullptr, *mla_expanded_ = nullptr;  // MLA prefill: one sequence's latent rows, expanded K_nope, V
  bf16 *h_ = nullptr, *qkv_ = nullptr, *q_ = nullptr, *attn_ = nullptr, *gate_up_ = nullptr, *act_ = nullptr,
       *final_h_ = nullptr;
  // MoE: router logits [T][experts], (token, slot) pairs' experts and weights, the sort by expert,
  // and per-pair activations (gate/up, SwiGLU, expert output in fp32 for the weighted combine).
  MoeRouting routing_{};
  float *router_logits_ = nullptr, *weight_of_pair_ = nullptr, *expert_out_ = nullptr;
  int* expert_of_pair_ = nullptr;
  MoeSorted sorted_{};
  int* forced_experts_ = nullptr;  // this layer's forced choices, when following another backend
  bool record_routing_ = false;
  ExpertChoices routing_trace_, forced_routing_;
  int moe_layers_done_ = 0;  // in the running forward: index into forced_routing_
  bf16 *expert_gate_up_ = nullptr, *expert_act_ = nullptr;
  int* meta_ = nullptr;        // device metadata (tokens, positions, slots, rows, sequences, tables)
  int* meta_host_ = nullptr;   // pinned staging
  size_t meta_ints_ = 0;
  float* sample_args_ = nullptr;  // device: rows(int bits), temperature, top_p, uniform
  float* sample_host_ = nullptr;
  int* sampled_ = nullptr;
  int last_logit_rows_ = 0;
  size_t decode_work_floats_ = 0;

  // Tensor parallel: rank_ set with a world above 1. Row-parallel linears accumulate onto the residual
  // on one rank only (the others write their partial sum in its place), so the all-reduce adds the
  // residual once.
  std::optional<ModelRank> rank_;
  bool adds_to_residual_ = true;
  int vocab_rows_ = 0;             // lm_head rows held: the vocabulary, or its rank's part
  float* vocab_parts_ = nullptr;   // vocab-parallel logits, rank-major: [rank][rows][vocab_rows_]

  std::unique_ptr<Plan> plan_;
  std::map<std::pair<int, int>, cudaGraphExec_t> graphs_;  // (decode batch, splits) -> graph
};

}  // namespace aidc
