#pragma once
// The scenario: everything a run needs, read from YAML. Plain data; the loader fills it and checks it
// against the catalogs. The member initialisers are the keys' defaults; scenario/schema.cpp lists every
// key with its range and meaning (docs/scenario.md is generated from it).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config_tree.hpp"
#include "core/calibration/profile.hpp"
#include "perf/memory_plan.hpp"
#include "scenario/facility_spec.hpp"
#include "workload/csv_input.hpp"

namespace aidc {

struct FrontendNetwork {
  double bandwidth_gbit_s = 100;  // users to the load balancer (the site's internet uplink)
  double latency_ms = 5;          // one way, users to site
};

struct FabricNetwork {
  std::string fabric = "infiniband";  // infiniband | roce | ethernet
  double server_link_gbit_s = 400;    // each server's NIC bandwidth to its top-of-rack switch
  double oversubscription = 1.0;      // ToR downlink / uplink capacity
  double latency_us = 1;              // per switch hop
  static constexpr double kEthernetLatencyUs = 5;  // the default of latency_us on ethernet
};

struct DatacenterSpec {
  std::string gpu = "A100-80G-SXM";
  std::string server_type = "hgx-8";
  int halls = 1, rows_per_hall = 1, racks_per_row = 1, servers_per_rack = 1;
  FabricNetwork fabric;
  FrontendNetwork frontend;
  int racks() const { return halls * rows_per_hall * racks_per_row; }
  int servers() const { return racks() * servers_per_rack; }
};

enum class Precision { BF16, FP8, INT8, INT4 };
double bytes_per_value(Precision p);
const char* to_string(Precision p);

enum class SchedulerPolicy { FirstComeFirstServed, ShortestPromptFirst };

struct DeploymentSpec {
  std::string model = "deepseek-llm-7b";
  Precision precision = Precision::BF16;
  Precision kv_cache_precision = Precision::BF16;
  int replicas = 1;
  int tensor_parallel = 1;
  int expert_parallel = 1;
  // Replicas that span servers (docs/deepseek-scale.md): pipeline stages across servers, or, for MoE
  // models, attention data-parallel over expert_parallel / tensor_parallel groups with the routed
  // experts sharded over all expert_parallel GPUs (DeepSeek's EP32/EP144 layouts).
  int pipeline_parallel = 1;
  bool data_parallel_attention = false;
  int redundant_experts = 0;             // extra copies of hot experts per MoE layer (DeepSeek's EPLB)
  double expert_load_skew = 1.0;         // routed tokens on the busiest GPU / the mean: the slowest rank sets the step
  bool overlap_communication = false;    // two micro-batches: all-to-all hidden behind the other's compute
  bool pure_rdma_all_to_all = false;     // decode all-to-all over RDMA to GPUs of the same server too (DeepEP before 2025-06)
  double mtp_acceptance = 0;             // multi-token prediction: acceptance of the one draft token; 0 = off
  double prefix_cache_hit_rate = 0;      // share of prompt tokens whose KV is served from the prefix cache
  std::string placement = "pack";  // pack | spread
  int max_batch_sequences = 256;
  int max_batch_tokens = 8192;          // tokens processed per iteration, prefill and decode together
  int chunked_prefill_tokens = 2048;    // most prompt tokens of one request per iteration; 0 = whole prompt at once
  int kv_block_tokens = 16;
  double kv_cache_memory_fraction = 0.9;  // of GPU memory usable for weights + KV cache
  double activation_reserve_gb = 2.0;     // per GPU, for activations, CUDA graphs and workspace
  SchedulerPolicy scheduler = SchedulerPolicy::FirstComeFirstServed;
  int gpus_per_replica() const { return data_parallel_attention ? expert_parallel : tensor_parallel * pipeline_parallel; }
  // Attention instances of a replica, each with its own sequences and KV cache.
  int attention_groups() const { return data_parallel_attention ? expert_parallel / tensor_parallel : 1; }
};

// Prefill/decode disaggregation (docs/deepseek-scale.md): two pools of replicas in one run, each on its
// own servers with its own GPU, server type, layout and batch limits; a request is prefilled by a
// prefill replica and its KV cache moves to a decode replica, which generates the answer.
struct PoolSpec {
  std::string gpu, server_type;  // the datacenter's unless the pool names its own
  DeploymentSpec deployment;     // the scenario's deployment with the pool's own keys over it
  MemoryPlan memory;             // planned by the loader for the pool's GPU and layout
};
struct Disaggregation {
  PoolSpec prefill, decode;
  int replicas() const { return prefill.deployment.replicas + decode.deployment.replicas; }
  // Replicas 0 … P−1 are the prefill pool's (pool 0), P … P+D−1 the decode pool's (pool 1).
  int pool_index(int replica) const { return replica < prefill.deployment.replicas ? 0 : 1; }
  const PoolSpec& pool_of(int replica) const { return pool_index(replica) == 0 ? prefill : decode; }
};

enum class BalancerPolicy { RoundRobin, LeastOutstanding, ConsistentHash, PowerOfTwoChoices };

struct HealthCheck {
  double interval_s = 2.0;  // HAProxy `inter`
  int fall = 3;             // consecutive failed checks to mark a server down
  int rise = 2;             // consecutive good checks to bring it back
};

struct LoadBalancerSpec {
  BalancerPolicy policy = BalancerPolicy::RoundRobin;
  HealthCheck health_check;
  int virtual_nodes = 100;  // consistent_hash ring points per replica
};

struct LengthDistribution {
  enum class Kind { Fixed, Uniform, LogNormal, Empirical } kind = Kind::Fixed;
  double value = 0, min = 1, max = 0, mean = 0, sigma = 0.5;
  std::vector<double> samples, weights;  // empirical
  std::string file;                      // empirical: the CSV they came from
  double upper_bound() const;            // the largest length it can produce
  static LengthDistribution fixed_at(double tokens) {
    LengthDistribution d;
    d.value = d.mean = tokens;
    return d;
  }
};

struct RateSchedule {
  enum class Kind { Constant, Diurnal, Steps } kind = Kind::Constant;
  double rate_per_s = 1.0;         // constant rate, or the diurnal mean
  double diurnal_amplitude = 0.5;  // peak = mean * (1 + amplitude)
  double diurnal_peak_hour = 14;   // hour of day of the peak
  double diurnal_period_s = 86400;
  struct Step {
    double at_s, rate_per_s;
  };
  std::vector<Step> steps;  // rate from at_s on
  double rate_at(double t) const;
  double max_rate() const;
};

struct WorkloadSpec {
  enum class Kind { ClosedLoop, OpenLoop, Trace } kind = Kind::ClosedLoop;
  // closed loop
  int users = 100;
  double think_time_s = 10;
  std::string think_distribution = "exponential";  // exponential | fixed
  double ramp_up_s = 0;                            // users start spread uniformly over this time
  // open loop
  std::string arrival = "poisson";  // poisson | gamma
  double burstiness = 1.0;          // coefficient of variation of gamma inter-arrival times
  RateSchedule schedule;
  int sessions = 1000;  // session ids spread over open-loop requests (consistent hashing)
  // trace replay: CSV with arrival_s,prompt_tokens,output_tokens[,session]
  std::string trace_file;
  std::shared_ptr<const std::vector<TraceRow>> trace;  // its rows, read once by the loader
  LengthDistribution prompt_tokens = LengthDistribution::fixed_at(512), output_tokens = LengthDistribution::fixed_at(256);
};

struct SloSpec {
  double percentile = 99;
  std::optional<double> ttft_s = 0.5, tpot_s = 0.1, e2e_s;
};

struct PerformanceSpec {
  std::string model = "roofline";  // roofline | calibrated
  std::string calibration;         // calibrated: profile YAML (relative to scenarios/ or the scenario)
  // calibrated: that profile, read once by the loader for the performance and power models.
  std::shared_ptr<const CalibrationProfile> profile;
  double step_overhead_ms = 1.5;   // scheduler + sampling + launch time per iteration (CPU side)
};

struct SimulationSpec {
  double duration_s = 600;
  double warmup_s = 60;
  unsigned long long seed = 1;
  double timeseries_interval_s = 10;
  bool fast_forward = true;  // advance replicas over spans with no arrival or finish in one event
};

struct Scenario {
  std::string name = "scenario";
  std::string source_file;
  DatacenterSpec datacenter;
  DeploymentSpec deployment;
  LoadBalancerSpec load_balancer;
  WorkloadSpec workload;
  SloSpec slo;
  PerformanceSpec performance;
  SimulationSpec simulation;
  std::optional<FacilitySpec> facility;  // power, cooling, thermal, failures (docs/facility.md)
  std::optional<CostSpec> cost;          // capex, opex, payback, carbon
  MemoryPlan memory;  // weights and KV cache per GPU and replica, planned once by the loader (it checks the fit)
  // Present when `deployment.prefill` or `deployment.decode` is given: the run has two pools.
  std::optional<Disaggregation> disaggregation;
  ConfigNode resolved;  // the merged YAML tree, written out as scenario.yaml
};

}  // namespace aidc
