#include "perf/parallel_layout_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/model/operator_loads.hpp"
#include "perf/roofline_model.hpp"

namespace aidc {
namespace {
// fp8 dispatch carries one fp32 scale per 128 values (DeepSeek's 1x128 activation blocks).
constexpr double kFp8ScaleBytesPerValue = 4.0 / 128.0;
// DeepEP's normal (prefill) kernels run on SMs of their own while the other micro-batch computes: 20 of
// an H800's 132 SMs fill its InfiniBand and NVLink (DeepSeek-V3 report, arXiv 2412.19437, section 3.2.2).
constexpr double kNormalKernelSmShare = 20.0 / 132.0;

// Compute that shares the GPU with the normal kernels runs on the SMs they leave.
void leave_normal_kernel_sms(StepCost& cost) {
  const double slowdown = 1.0 / (1.0 - kNormalKernelSmShare);
  cost.compute_bound_s *= slowdown, cost.memory_bound_s *= slowdown;
}

// C(n, k) / C(m, k) for n <= m: the chance that k picks without replacement from m all miss m - n items.
double miss_all(double n, double m, int k) {
  double p = 1.0;
  for (int i = 0; i < k; ++i) p *= std::max(0.0, n - i) / (m - i);
  return p;
}
}  // namespace

double expected_servers_reached(const ModelConfig& m, int servers) {
  if (servers <= 1) return servers;
  const int groups = m.moe.n_group, chosen = m.moe.topk_group;
  if (groups > 1 && chosen < groups && groups % servers == 0) {
    // Group-limited routing: experts lie in consecutive groups, groups / servers of them per server, and a
    // token's experts come from `chosen` groups, each contributing at least one.
    const int per_server = groups / servers;
    return servers * (1.0 - miss_all(groups - per_server, groups, chosen));
  }
  const double experts = m.moe.n_routed_experts;
  return servers * (1.0 - miss_all(experts - experts / servers, experts, m.moe.experts_per_token));
}

ParallelLayoutModel::ParallelLayoutModel(std::unique_ptr<PerformanceModel> inner, const ModelConfig& model,
                                         const GpuSpec& gpu, const ServerSpec& server, const DatacenterSpec& dc,
                                         const DeploymentSpec& d, double step_overhead_s)
    : inner_(std::move(inner)),
      model_(model),
      deployment_(d),
      gpus_per_server_(server.gpus_per_server),
      spread_(rank_spread(d.gpus_per_replica(), server, dc)),
      rates_(fabric_rates(gpu, server, dc, d.gpus_per_replica())),
      weight_bytes_(bytes_per_value(d.precision)),
      kv_bytes_(bytes_per_value(d.kv_cache_precision)),
      dispatch_bytes_(d.precision == Precision::FP8 && gpu.fp8_tflops ? 1.0 + kFp8ScaleBytesPerValue : kActivationBytes),
      // Attention runs at the KV cache's precision (DeepSeek: core MLA in bf16 with fp8 weights).
      flops_per_s_(peak_tflops(gpu, d.kv_cache_precision) * 1e12 * gpu.attention_efficiency),
      bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.memory_efficiency),
      linear_flops_per_s_(peak_tflops(gpu, d.precision) * 1e12 * linear_efficiency(gpu, d.precision)),
      weight_bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.weight_read_efficiency),
      step_overhead_s_(step_overhead_s),
      gpu_id_(gpu.id) {}

void ParallelLayoutModel::add(StepCost& cost, const OperatorLoad& load, bool linear) const {
  const double compute_s = load.flops / (linear ? linear_flops_per_s_ : flops_per_s_);
  const double memory_s = load.bytes / (linear ? weight_bytes_per_s_ : bytes_per_s_);
  if (compute_s > memory_s)
    cost.compute_bound_s += compute_s;
  else
    cost.memory_bound_s += memory_s;
}

double ParallelLayoutModel::moe_all_to_all_seconds(double tokens, bool decode_only) const {
  const DeploymentSpec& d = deployment_;
  // Each GPU dispatches its share of the replica's tokens (sequence-split within a TP group) to the
  // experts they route to, and receives the experts' outputs back (combine) in bf16; the GPU holding the
  // busiest experts receives (and sends back) `expert_load_skew` times the mean, and sets the time.
  const double token_values = tokens / d.expert_parallel * model_.hidden * d.expert_load_skew;
  const double copies = token_values * model_.moe.experts_per_token;
  const int servers = spread_.ranks / std::max(1, spread_.per_server);
  if (decode_only || servers <= 1) {
    // DeepEP's low-latency (decode) kernels: every (token, expert) copy goes straight to its expert's GPU,
    // over NVLink inside a server, or over RDMA to every GPU ("pure RDMA", DeepEP until June 2025).
    const RankSpread peers = d.pure_rdma_all_to_all && servers > 1 ? RankSpread{spread_.ranks, 1, spread_.per_rack} : spread_;
    return all_to_all_seconds(copies * dispatch_bytes_, peers, rates_) + all_to_all_seconds(copies * kActivationBytes, peers, rates_);
  }
  // DeepEP's normal (prefill) kernels: a token crosses the fabric once to each other server holding one of
  // its experts, to the GPU of its own index there, which forwards it over NVLink (and the combine comes
  // back the same way, reduced per server): DeepSeek-V3 report, section 3.2.2, and its node-limited routing.
  const double remote_servers = expected_servers_reached(model_, servers) * (servers - 1.0) / servers;
  const double cross_rack_share = double(spread_.ranks - spread_.per_rack) / (spread_.ranks - spread_.per_server);
  auto one_way = [&](double bytes_per_value) {
    const double fabric = token_values * remote_servers * bytes_per_value;
    const double forwarded = copies * bytes_per_value * (spread_.per_server - 1.0) / spread_.per_server;
    return std::max({fabric / rates_.nic_bytes_per_s, fabric * cross_rack_share / rates_.cross_rack_bytes_per_s,
                     forwarded / rates_.nvlink_bytes_per_s}) +
           rates_.latency_s;
  };
  return one_way(dispatch_bytes_) + one_way(kActivationBytes);
}

StepCost ParallelLayoutModel::micro_batch_compute(double tokens, double logits_rows) const {
  const ModelConfig& m = model_;
  const DeploymentSpec& d = deployment_;
  const int tp = d.tensor_parallel;
  const double group_tokens = tokens / d.attention_groups();
  StepCost cost;
  add(cost, elementwise_load(m, group_tokens) * m.layers, false);
  add(cost, linear_load(group_tokens, double(m.attention_parameters_per_layer()), qkv_activation_values(m), weight_bytes_, tp) * m.layers,
      true);
  if (m.dense_layer_count() > 0)
    add(cost, linear_load(group_tokens, double(m.dense_ffn_parameters_per_layer()), 2.0 * m.hidden + 3.0 * m.intermediate, weight_bytes_, tp) *
                  m.dense_layer_count(),
        true);
  const double expert = double(m.expert_parameters());
  const double expert_activations = 2.0 * m.hidden + 3.0 * m.moe.expert_intermediate;
  // Shared experts and the router: every group for its own tokens.
  add(cost, linear_load(group_tokens, m.moe.n_shared_experts * expert + double(m.router_parameters_per_layer()),
                        2.0 * m.hidden + 3.0 * m.moe.expert_intermediate * m.moe.n_shared_experts, weight_bytes_, tp) *
                m.moe_layer_count(),
      true);
  // Routed experts: this GPU's share of every (token, expert) pair of the replica, on the busiest GPU;
  // it reads the weights of those of its experts the batch touches.
  const double pairs = tokens * m.moe.experts_per_token / d.expert_parallel * d.expert_load_skew;
  const double held = double(m.moe.n_routed_experts + d.redundant_experts) / d.expert_parallel;
  const double touched = held * m.expected_experts_touched(tokens) / m.moe.n_routed_experts;
  add(cost, OperatorLoad{2.0 * pairs * expert, touched * expert * weight_bytes_ + pairs * expert_activations * kActivationBytes} *
                m.moe_layer_count(),
      true);
  add(cost, {0, group_tokens * m.hidden * weight_bytes_}, false);  // embedding rows
  if (logits_rows > 0)
    add(cost, linear_load(logits_rows / d.attention_groups(), 1.0 * m.vocab * m.hidden, m.hidden + m.vocab, weight_bytes_, tp), true);
  return cost;
}

StepCost ParallelLayoutModel::expert_parallel_token_cost(double tokens, int logits_rows) const {
  const ModelConfig& m = model_;
  const DeploymentSpec& d = deployment_;
  const bool decode_only = logits_rows >= tokens;  // every token samples: decode (and MTP draft) tokens only
  // Two micro-batches (DeepSeek's dual-batch overlap): each runs every layer's GEMMs for its half, so
  // small-batch steps read the weights twice.
  const int micro_batches = d.overlap_communication ? 2 : 1;
  StepCost cost;
  for (int i = 0; i < micro_batches; ++i) cost += micro_batch_compute(tokens / micro_batches, double(logits_rows) / micro_batches);
  const double communication_s =
      2.0 * m.layers * ring_all_reduce_seconds(tokens / d.attention_groups() * m.hidden * kActivationBytes, d.tensor_parallel,
                                               rates_.nvlink_bytes_per_s) +
      m.moe_layer_count() * moe_all_to_all_seconds(tokens, decode_only);
  if (!d.overlap_communication) {
    cost.communication_s = communication_s;
    return cost;
  }
  // One micro-batch's all-to-all runs while the other computes; only what compute cannot cover shows.
  // The normal kernels' SMs are taken from the computing micro-batch; the low-latency kernels hand theirs
  // back once their messages are out (https://github.com/deepseek-ai/profile-data, "Decoding").
  if (!decode_only) leave_normal_kernel_sms(cost);
  cost.communication_s = std::max(0.0, communication_s - (cost.compute_bound_s + cost.memory_bound_s));
  return cost;
}

StepCost ParallelLayoutModel::token_cost(int tokens, int logits_rows, int sequences) const {
  StepCost cost;
  if (deployment_.data_parallel_attention) {
    cost = expert_parallel_token_cost(tokens, logits_rows);
  } else {
    cost = inner_->token_cost(tokens, logits_rows, sequences);
    // Each stage boundary sends the hidden states on; boundaries between servers cross the fabric.
    const int stages_per_server = std::max(1, gpus_per_server_ / deployment_.tensor_parallel);
    const int boundaries = deployment_.pipeline_parallel - 1;
    const int across_servers = (deployment_.pipeline_parallel - 1) / stages_per_server;
    const double bytes = double(tokens) * model_.hidden * kActivationBytes;
    cost.communication_s += across_servers * (bytes / rates_.nic_bytes_per_s + rates_.latency_s) +
                            (boundaries - across_servers) * bytes / rates_.nvlink_bytes_per_s;
    return cost;  // the inner model added the step overhead
  }
  cost.overhead_s = step_overhead_s_;
  return cost;
}

// Checked against DeepSeek's own profile of V3 on H800 (docs/deepseek-scale.md, tests DeepSeekProfile.*):
// the model's step was 22% (decode, EP128, 128 sequences per GPU at 4,096 keys) and 23% (prefill, EP32)
// shorter than DeepSeek's, so TPOT comes out up to 23% low and throughput up to 30% high.
ModelFidelity ParallelLayoutModel::fidelity() const {
  if (!deployment_.data_parallel_attention) return inner_->fidelity();
  ModelFidelity f;
  f.kind = "roofline";
  f.band_basis = "DeepSeek's own profile of V3 on H800 (EP32 prefill, EP128 decode): the model's step 22-23% shorter, per layer";
  f.throughput_band = 0.30;
  f.tpot_band = 0.23;
  f.checked = {.max_decode_batch = 128 * 128, .max_context_tokens = 4096};
  if (gpu_id_ != "H800") f.out_of_range.push_back("GPU " + gpu_id_ + " is not the profile's (H800)");
  return with_range_checks(f);
}

StepCost ParallelLayoutModel::attention_cost(const BatchShape& batch) const {
  if (!deployment_.data_parallel_attention) return inner_->attention_cost(batch);
  note(batch);
  // The balancer spreads sequences evenly over the attention groups (DeepSeek's DP load balancing).
  const double groups = deployment_.attention_groups();
  const int tp = deployment_.tensor_parallel;
  StepCost cost;
  OperatorLoad prefill;
  for (const auto& chunk : batch.prefills) {
    const OperatorLoad one = prefill_attention_load(model_, chunk.tokens, chunk.context_before, kv_bytes_, tp);
    prefill.flops += one.flops, prefill.bytes += one.bytes;
  }
  if (!batch.prefills.empty()) add(cost, prefill * (model_.layers / groups), false);
  if (batch.decode_sequences > 0)
    add(cost, decode_attention_load(model_, batch.decode_context_tokens / groups, kv_bytes_, tp) * model_.layers, false);
  if (deployment_.overlap_communication && !batch.prefills.empty()) leave_normal_kernel_sms(cost);
  if (deployment_.overlap_communication) {
    // The all-to-all that the linear layers could not hide (token_cost) also runs behind attention:
    // credited here as negative communication, so token_cost + attention_cost is the overlapped step.
    const double exposed_s = expert_parallel_token_cost(batch.tokens(), batch.logits_rows).communication_s;
    cost.communication_s = -std::min(exposed_s, cost.compute_bound_s + cost.memory_bound_s);
  }
  return cost;
}

std::string ParallelLayoutModel::description() const {
  const DeploymentSpec& d = deployment_;
  char text[400];
  if (d.data_parallel_attention)
    std::snprintf(text, sizeof text,
                  "expert-parallel roofline: %s on %s, %s, EP %d over %d attention groups of TP %d, %d redundant experts, "
                  "skew %.2f; all-to-all at %.0f GB/s NVLink and %.1f GB/s fabric per GPU%s",
                  model_.name.c_str(), gpu_id_.c_str(), to_string(d.precision), d.expert_parallel, d.attention_groups(),
                  d.tensor_parallel, d.redundant_experts, d.expert_load_skew, rates_.nvlink_bytes_per_s / 1e9,
                  rates_.nic_bytes_per_s / 1e9, d.overlap_communication ? ", overlapped with compute (two micro-batches)" : "");
  else
    std::snprintf(text, sizeof text, "%s; pipeline of %d stages, sends at %.1f GB/s across servers", inner_->description().c_str(),
                  d.pipeline_parallel, rates_.nic_bytes_per_s / 1e9);
  return text;
}

}  // namespace aidc
