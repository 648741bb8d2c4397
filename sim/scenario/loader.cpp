#include "scenario/loader.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/field_reader.hpp"
#include "common/paths.hpp"
#include "core/calibration/reader.hpp"
#include "core/common/error.hpp"
#include "perf/memory_plan.hpp"
#include "platform/layout.hpp"
#include "scenario/schema.hpp"
#include "workload/csv_input.hpp"

namespace aidc {

double bytes_per_value(Precision p) {
  switch (p) {
    case Precision::BF16: return 2.0;
    case Precision::FP8: return 1.0;
    case Precision::INT8: return 1.0;
    case Precision::INT4: return 0.5;
  }
  return 2.0;
}

const char* to_string(Precision p) {
  for (const auto& [name, value] : ChoiceNames<Precision>::values)
    if (value == p) return name.data();
  return "bf16";
}

double LengthDistribution::upper_bound() const {
  switch (kind) {
    case Kind::Fixed: return value;
    case Kind::Uniform:
    case Kind::LogNormal: return max;
    case Kind::Empirical: return samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
  }
  return value;
}

double RateSchedule::rate_at(double t) const {
  switch (kind) {
    case Kind::Constant: return rate_per_s;
    case Kind::Diurnal: {
      const double hours = std::fmod(t, diurnal_period_s) / diurnal_period_s * 24.0;
      return rate_per_s * (1.0 + diurnal_amplitude * std::cos(2.0 * M_PI * (hours - diurnal_peak_hour) / 24.0));
    }
    case Kind::Steps: {
      double rate = 0;
      for (const auto& step : steps)
        if (step.at_s <= t) rate = step.rate_per_s;
      return rate;
    }
  }
  return rate_per_s;
}

double RateSchedule::max_rate() const {
  switch (kind) {
    case Kind::Constant: return rate_per_s;
    case Kind::Diurnal: return rate_per_s * (1.0 + diurnal_amplitude);
    case Kind::Steps: {
      double peak = 0;
      for (const auto& step : steps) peak = std::max(peak, step.rate_per_s);
      return peak;
    }
  }
  return rate_per_s;
}

namespace {

std::string directory_of(const std::string& file) {
  return std::filesystem::path(file).parent_path().string();
}

// Files named in a scenario are relative to the file that names them.
std::string resolve_relative(const std::string& value, const SourceLocation& where) {
  if (value.empty() || std::filesystem::path(value).is_absolute()) return value;
  const bool from_a_file = !where.file.empty() && where.file.rfind("--set", 0) != 0;
  return from_a_file ? (std::filesystem::path(directory_of(where.file)) / value).lexically_normal().string() : value;
}

// `named_at`: where the `extends:` naming this file sits (empty for the scenario itself).
ConfigNode resolve_extends(const std::string& path, std::vector<std::string>& chain, const SourceLocation& named_at) {
  const std::string canonical = std::filesystem::weakly_canonical(path).string();
  if (std::find(chain.begin(), chain.end(), canonical) != chain.end())
    throw_input_error(named_at, "extends", "circular extends: " + path + " is already one of this scenario's bases");
  ConfigNode node = load_yaml_file(path);
  chain.push_back(canonical);
  if (!node.is_map()) throw_input_error({path, 1, 1}, "", "expected a mapping of scenario keys");
  const ConfigNode::Entry* extends = node.find_entry("extends");
  if (!extends) return node;
  if (!extends->value.is_scalar())
    throw_input_error(extends->value.where(), "extends", "expected the path of a base scenario file");
  const std::string base_path = resolve_relative(extends->value.text(), extends->value.where());
  if (!std::filesystem::exists(base_path))
    throw_input_error(extends->value.where(), "extends", "base scenario not found: " + base_path);
  ConfigNode merged = resolve_extends(base_path, chain, extends->value.where());
  node.erase("extends");
  merge_config(merged, node);
  return merged;
}

// An error inside a file named by a key: "workload.trace_file (column prompt_tokens)".
std::string nested_path(const std::string& key_path, const std::string& column) {
  return column.empty() ? key_path : key_path + " (column " + column + ")";
}

LengthDistribution read_lengths(FieldReader& parent, std::string_view key) {
  LengthDistribution d;
  d.value = d.mean = std::get<double>(schema_key(parent.path_of(key)).default_value);
  const ConfigNode* node = parent.node() ? parent.node()->find(key) : nullptr;
  if (node && node->is_scalar()) {  // shorthand: a plain number is a fixed length
    d.value = read_number(parent, key);
    return d;
  }
  FieldReader r = parent.section(key);
  d.kind = read_enum<LengthDistribution::Kind>(r, "distribution");
  if (d.kind == LengthDistribution::Kind::Fixed) {
    d.value = read_number(r, "value");
  } else if (d.kind == LengthDistribution::Kind::Uniform) {
    d.min = read_number(r, "min");
    d.max = read_number(r, "max", std::max(d.min, d.value));
    if (d.max < d.min) r.error("max", "must be >= min");
  } else if (d.kind == LengthDistribution::Kind::LogNormal) {
    d.mean = read_number(r, "mean");
    d.sigma = read_number(r, "sigma");
    d.min = read_number(r, "min");
    d.max = read_number(r, "max", d.mean * 8);
    if (d.max < d.min) r.error("max", "must be >= min");
  } else {
    const std::string file = resolve_relative(read_text(r, "file"), r.where("file"));
    d.file = file;
    if (file.empty())
      r.error("file", "expected a CSV file with a 'tokens' column (and optional 'weight')");
    else
      try {
        load_empirical_lengths(file, d.samples, d.weights);
      } catch (const InputErrors& e) {
        for (const auto& err : e.errors()) r.error_in_file("file", err.where, nested_path(r.path_of("file"), err.key_path), err.message);
      }
  }
  r.finish();
  return d;
}

RateSchedule read_schedule(FieldReader r) {
  RateSchedule s;
  s.kind = read_enum<RateSchedule::Kind>(r, "kind");
  s.rate_per_s = read_number(r, "rate_per_s");
  if (s.kind == RateSchedule::Kind::Diurnal) {
    s.diurnal_amplitude = read_number(r, "amplitude");
    s.diurnal_peak_hour = read_number(r, "peak_hour");
    s.diurnal_period_s = read_number(r, "period_s");
  } else if (s.kind == RateSchedule::Kind::Steps) {
    const ConfigNode* steps = r.node() ? r.node()->find("steps") : nullptr;
    r.mark_known("steps");
    if (!steps || !steps->is_sequence() || steps->items().empty()) {
      r.error("steps", "expected a list of {at_s, rate_per_s}");
    } else {
      for (std::size_t i = 0; i < steps->items().size(); ++i) {
        FieldReader step(&steps->items()[i], r.path_of("steps") + "[" + std::to_string(i) + "]", r.errors());
        RateSchedule::Step st{read_number(step, "at_s"), read_number(step, "rate_per_s")};
        if (!s.steps.empty() && st.at_s <= s.steps.back().at_s) step.error("at_s", "steps must be in increasing at_s");
        s.steps.push_back(st);
        step.finish();
      }
    }
  }
  r.finish();
  return s;
}


void check_catalog_id(FieldReader& r, std::string_view key, const std::string& id, bool found,
                      const std::vector<std::string>& known, const char* what) {
  if (found) return;
  std::string message = std::string("unknown ") + what + " '" + id + "'";
  const std::string suggestion = closest_match(id, known);
  if (!suggestion.empty())
    message += " (did you mean '" + suggestion + "'?)";
  else {
    message += "; known: ";
    for (std::size_t i = 0; i < known.size(); ++i) message += (i ? ", " : "") + known[i];
  }
  r.error(key, message);
}

void read_datacenter(FieldReader r, DatacenterSpec& dc) {
  dc.gpu = read_text(r, "gpu");
  dc.server_type = read_text(r, "server_type");
  dc.halls = static_cast<int>(read_integer(r, "halls"));
  dc.rows_per_hall = static_cast<int>(read_integer(r, "rows_per_hall"));
  dc.racks_per_row = static_cast<int>(read_integer(r, "racks_per_row"));
  dc.servers_per_rack = static_cast<int>(read_integer(r, "servers_per_rack"));
  FieldReader net = r.section("network");
  FieldReader fabric = net.section("fabric");
  dc.fabric.fabric = read_choice(fabric, "kind");
  dc.fabric.server_link_gbit_s = read_number(fabric, "server_link_gbit_s");
  dc.fabric.oversubscription = read_number(fabric, "oversubscription");
  dc.fabric.latency_us = dc.fabric.fabric == "ethernet" ? read_number(fabric, "latency_us", FabricNetwork::kEthernetLatencyUs)
                                                        : read_number(fabric, "latency_us");
  fabric.finish();
  FieldReader frontend = net.section("frontend");
  dc.frontend.bandwidth_gbit_s = read_number(frontend, "bandwidth_gbit_s");
  dc.frontend.latency_ms = read_number(frontend, "latency_ms");
  frontend.finish();
  net.finish();
  r.finish();
}

void check_batch_budget(FieldReader& r, const DeploymentSpec& d) {
  if (d.max_batch_tokens < d.max_batch_sequences)
    r.error("max_batch_tokens", "must be >= max_batch_sequences (every running sequence decodes one token per step)");
}

// A pool of a disaggregated deployment: the deployment's keys with the pool's own over them.
PoolSpec read_pool(FieldReader r, const DeploymentSpec& base, const DatacenterSpec& dc, bool prefills) {
  PoolSpec pool;
  pool.gpu = r.text("gpu", dc.gpu);
  pool.server_type = r.text("server_type", dc.server_type);
  DeploymentSpec& d = pool.deployment = base;
  auto integer = [&r](const char* key, int& value) { value = static_cast<int>(read_integer(r, key, value)); };
  integer("replicas", d.replicas);
  integer("tensor_parallel", d.tensor_parallel);
  integer("expert_parallel", d.expert_parallel);
  integer("pipeline_parallel", d.pipeline_parallel);
  d.data_parallel_attention = r.flag("data_parallel_attention", d.data_parallel_attention);
  integer("redundant_experts", d.redundant_experts);
  d.overlap_communication = r.flag("overlap_communication", d.overlap_communication);
  d.pure_rdma_all_to_all = r.flag("pure_rdma_all_to_all", d.pure_rdma_all_to_all);
  integer("max_batch_sequences", d.max_batch_sequences);
  integer("max_batch_tokens", d.max_batch_tokens);
  if (prefills)
    integer("chunked_prefill_tokens", d.chunked_prefill_tokens);
  else
    d.chunked_prefill_tokens = 1;  // the one prompt token a decode replica recomputes (docs/deepseek-scale.md)
  check_batch_budget(r, d);
  r.finish();
  return pool;
}

void read_deployment(FieldReader r, DeploymentSpec& d, const DatacenterSpec& dc, std::optional<Disaggregation>& pools) {
  d.model = read_text(r, "model");
  d.precision = read_enum<Precision>(r, "precision");
  d.kv_cache_precision = read_enum<Precision>(r, "kv_cache_precision");
  d.replicas = static_cast<int>(read_integer(r, "replicas"));
  d.tensor_parallel = static_cast<int>(read_integer(r, "tensor_parallel"));
  d.expert_parallel = static_cast<int>(read_integer(r, "expert_parallel"));
  d.pipeline_parallel = static_cast<int>(read_integer(r, "pipeline_parallel"));
  d.data_parallel_attention = read_flag(r, "data_parallel_attention");
  d.redundant_experts = static_cast<int>(read_integer(r, "redundant_experts"));
  d.expert_load_skew = read_number(r, "expert_load_skew");
  d.overlap_communication = read_flag(r, "overlap_communication");
  d.pure_rdma_all_to_all = read_flag(r, "pure_rdma_all_to_all");
  d.mtp_acceptance = read_number(r, "mtp_acceptance");
  d.prefix_cache_hit_rate = read_number(r, "prefix_cache_hit_rate");
  d.placement = read_choice(r, "placement");
  d.max_batch_sequences = static_cast<int>(read_integer(r, "max_batch_sequences"));
  d.max_batch_tokens = static_cast<int>(read_integer(r, "max_batch_tokens"));
  d.chunked_prefill_tokens = static_cast<int>(read_integer(r, "chunked_prefill_tokens"));
  d.kv_block_tokens = static_cast<int>(read_integer(r, "kv_block_tokens"));
  d.kv_cache_memory_fraction = read_number(r, "kv_cache_memory_fraction");
  d.activation_reserve_gb = read_number(r, "activation_reserve_gb");
  d.scheduler = read_enum<SchedulerPolicy>(r, "scheduler");
  check_batch_budget(r, d);
  if (r.has("prefill") || r.has("decode"))
    pools = Disaggregation{read_pool(r.section("prefill"), d, dc, true), read_pool(r.section("decode"), d, dc, false)};
  r.finish();
}

void read_load_balancer(FieldReader r, LoadBalancerSpec& lb) {
  lb.policy = read_enum<BalancerPolicy>(r, "policy");
  FieldReader hc = r.section("health_check");
  lb.health_check.interval_s = read_number(hc, "interval_s");
  lb.health_check.fall = static_cast<int>(read_integer(hc, "fall"));
  lb.health_check.rise = static_cast<int>(read_integer(hc, "rise"));
  hc.finish();
  lb.virtual_nodes = static_cast<int>(read_integer(r, "virtual_nodes"));
  r.finish();
}

void read_workload(FieldReader r, WorkloadSpec& w) {
  w.kind = read_enum<WorkloadSpec::Kind>(r, "kind");
  w.users = static_cast<int>(read_integer(r, "users"));
  w.think_time_s = read_number(r, "think_time_s");
  w.think_distribution = read_choice(r, "think_distribution");
  w.ramp_up_s = read_number(r, "ramp_up_s");
  w.arrival = read_choice(r, "arrival");
  w.burstiness = read_number(r, "burstiness");
  w.schedule = read_schedule(r.section("schedule"));
  w.sessions = static_cast<int>(read_integer(r, "sessions"));
  w.trace_file = resolve_relative(read_text(r, "trace_file"), r.where("trace_file"));
  if (w.kind == WorkloadSpec::Kind::Trace) {
    if (w.trace_file.empty())
      r.error("trace_file", "expected a CSV file (arrival_s,prompt_tokens,output_tokens[,session]) for kind: trace");
    else
      try {
        w.trace = std::make_shared<const std::vector<TraceRow>>(load_trace(w.trace_file));
      } catch (const InputErrors& e) {
        for (const auto& err : e.errors())
          r.error_in_file("trace_file", err.where, nested_path(r.path_of("trace_file"), err.key_path), err.message);
      }
  }
  w.prompt_tokens = read_lengths(r, "prompt_tokens");
  w.output_tokens = read_lengths(r, "output_tokens");
  r.finish();
}

void read_slo(FieldReader r, SloSpec& slo) {
  slo.percentile = read_number(r, "percentile");
  // An absent bound keeps its default; `null` switches it off.
  auto bound = [&r](const char* key) -> std::optional<double> {
    const ConfigNode* node = r.node() ? r.node()->find(key) : nullptr;
    if (!node) {
      const SchemaValue fallback = schema_key(r.path_of(key)).default_value;
      return std::holds_alternative<double>(fallback) ? std::optional<double>(std::get<double>(fallback)) : std::nullopt;
    }
    if (node->is_null() || (node->is_scalar() && (node->text() == "null" || node->text() == "~"))) {
      r.mark_known(key);
      return std::nullopt;
    }
    return read_optional_number(r, key);
  };
  slo.ttft_s = bound("ttft_s");
  slo.tpot_s = bound("tpot_s");
  slo.e2e_s = bound("e2e_s");
  r.finish();
}

// A profile path is relative to the scenario file, else to scenarios/ (where profiles are committed).
std::string resolve_calibration(const std::string& value, const SourceLocation& where) {
  const std::string beside = resolve_relative(value, where);
  if (value.empty() || std::filesystem::exists(beside)) return beside;
  return (std::filesystem::path(scenarios_dir()) / value).string();
}

// Reads the profile (the run's only read of it) and checks it measured this deployment.
void read_calibration(FieldReader& root, Scenario& s) {
  if (s.performance.model != "calibrated") return;
  FieldReader perf(root.node() ? root.node()->find("performance") : nullptr, "performance", root.errors());
  if (!std::filesystem::exists(s.performance.calibration)) {
    perf.error("calibration", "profile not found: " + s.performance.calibration);
    return;
  }
  try {
    s.performance.profile = std::make_shared<const CalibrationProfile>(read_calibration_profile(s.performance.calibration));
  } catch (const FileErrors& e) {
    for (const auto& p : e.problems()) perf.error_in_file("calibration", {e.file(), p.line, p.column}, p.key, p.message);
    return;
  }
  const CalibrationProfile::Metadata& measured = s.performance.profile->metadata;
  if (measured.model != s.deployment.model)
    perf.error("calibration", "profile measured " + measured.model + " but deployment.model is " + s.deployment.model);
  if (measured.precision != to_string(s.deployment.precision))
    perf.error("calibration", "profile measured " + measured.precision + " but deployment.precision is " +
                                  to_string(s.deployment.precision));
}

// Tensor parallelism stays inside a server (NVLink); pipeline stages, or expert parallelism with
// data-parallel attention, take a replica across servers, whole servers at a time.
void check_layout(FieldReader& dep, const DeploymentSpec& d, const ServerSpec& server, const ModelConfig& model) {
  const int per_server = server.gpus_per_server;
  const std::string server_name = " (GPUs per '" + server.id + "' server)";
  if (d.tensor_parallel > per_server)
    dep.error("tensor_parallel", "expected at most " + std::to_string(per_server) + server_name +
                                     "; tensor parallelism stays inside a server: span servers with pipeline_parallel, or "
                                     "for MoE models expert_parallel with data_parallel_attention");
  else if (per_server % d.tensor_parallel != 0)
    dep.error("tensor_parallel", "expected a divisor of " + std::to_string(per_server) + server_name);
  if (model.heads % d.tensor_parallel != 0)
    dep.error("tensor_parallel", "expected a divisor of the model's " + std::to_string(model.heads) + " attention heads");
  if (d.expert_parallel > 1 && !model.is_moe())
    dep.error("expert_parallel", "model '" + model.name + "' has no experts; expected 1");
  if (d.data_parallel_attention) {
    if (!model.is_moe()) dep.error("data_parallel_attention", "model '" + model.name + "' has no experts; expected false");
    if (d.pipeline_parallel != 1) dep.error("pipeline_parallel", "expected 1 with data_parallel_attention");
    if (d.expert_parallel % d.tensor_parallel != 0)
      dep.error("expert_parallel", "expected a multiple of tensor_parallel (" + std::to_string(d.tensor_parallel) +
                                       "): attention runs in groups of tensor_parallel GPUs");
    const int experts = model.moe.n_routed_experts + d.redundant_experts;
    if (model.is_moe() && experts % d.expert_parallel != 0)
      dep.error("redundant_experts", std::to_string(model.moe.n_routed_experts) + " routed + " + std::to_string(d.redundant_experts) +
                                         " redundant experts per layer do not split evenly over expert_parallel " +
                                         std::to_string(d.expert_parallel) + " GPUs");
  } else {
    if (d.tensor_parallel % d.expert_parallel != 0)
      dep.error("expert_parallel", "expected a divisor of tensor_parallel (experts spread over the replica's GPUs), or "
                                   "data_parallel_attention: true to spread them over servers");
    if (d.redundant_experts > 0) dep.error("redundant_experts", "expected 0 without data_parallel_attention");
  }
  if (d.pipeline_parallel > model.layers)
    dep.error("pipeline_parallel", "expected at most the model's " + std::to_string(model.layers) + " layers");
  const int gpus = d.gpus_per_replica();
  if (gpus > per_server && gpus % per_server != 0)
    dep.error(d.data_parallel_attention ? "expert_parallel" : "pipeline_parallel",
              "a replica of " + std::to_string(gpus) + " GPUs spans servers: expected a multiple of " + std::to_string(per_server) +
                  server_name);
  if (d.mtp_acceptance > 0 && model.arch != Arch::DeepseekV3)
    dep.error("mtp_acceptance", "model '" + model.name + "' has no multi-token prediction module (DeepSeek-V3/R1 only); expected 0");
}

// Plans the memory of one replica of `d` and checks that one request of `longest` tokens fits its KV cache.
// `blamed`: the key the error names.
MemoryPlan plan_and_check_fit(FieldReader& dep, const char* blamed, const ModelConfig& model, const GpuSpec& gpu,
                              const ServerSpec& server, const DeploymentSpec& d, double longest) {
  const MemoryPlan memory = plan_memory(model, gpu, d);
  if (memory.kv_tokens_per_attention_group < longest) {
    char message[600];
    std::snprintf(message, sizeof message,
                  "does not fit: %.1f GB of %s weights per GPU + %.1f GB reserve leave room for %lld KV tokens, "
                  "but one request may need %.0f (longest prompt + output) on %s with %s",
                  memory.weight_bytes_per_gpu / 1e9, to_string(d.precision), d.activation_reserve_gb,
                  memory.kv_tokens_per_attention_group, longest, gpu.id.c_str(), layout_text(d, server).c_str());
    dep.error(blamed, message);
  }
  return memory;
}

void check_whole_prompts_fit(FieldReader& dep, const Scenario& s, const DeploymentSpec& d) {
  if (s.workload.kind != WorkloadSpec::Kind::Trace && d.chunked_prefill_tokens == 0 &&
      s.workload.prompt_tokens.upper_bound() > d.max_batch_tokens)
    dep.error("max_batch_tokens", "without chunked prefill a whole prompt must fit in one batch: expected >= " +
                                      std::to_string(static_cast<long long>(s.workload.prompt_tokens.upper_bound())));
}

// The KV cache may still be stored in fp8: it is dequantized for the attention math.
void check_weight_precision(FieldReader& r, const char* key, const DeploymentSpec& d, const GpuSpec& gpu) {
  if (const std::string why = weight_precision_refusal(d.precision, gpu); !why.empty()) r.error(key, why);
}

// Each pool on its own servers (prefill first), with its GPU, server type and layout; a prefill
// replica holds a prompt and its first token, a decode replica the whole request.
void check_pools(FieldReader& root, FieldReader& dep, Scenario& s, const Catalog& catalog, const ModelConfig& model) {
  const bool from_trace = s.workload.kind == WorkloadSpec::Kind::Trace;
  const double prompt = from_trace ? 0 : s.workload.prompt_tokens.upper_bound();
  const double longest = from_trace ? 0 : prompt + s.workload.output_tokens.upper_bound();
  bool placeable = true;
  for (const bool prefill : {true, false}) {
    PoolSpec& pool = prefill ? s.disaggregation->prefill : s.disaggregation->decode;
    FieldReader r = dep.section(prefill ? "prefill" : "decode");
    const GpuSpec* gpu = catalog.gpu(pool.gpu);
    const ServerSpec* server = catalog.server(pool.server_type);
    check_catalog_id(r, "gpu", pool.gpu, gpu, catalog.gpu_ids(), "GPU");
    check_catalog_id(r, "server_type", pool.server_type, server, catalog.server_ids(), "server type");
    placeable = placeable && gpu && server;
    if (!gpu || !server) continue;
    if (const std::string why = server->refusal(*gpu); !why.empty()) r.error("gpu", why);
    check_weight_precision(r, "gpu", pool.deployment, *gpu);
    check_layout(r, pool.deployment, *server, model);
    pool.memory = plan_and_check_fit(r, "gpu", model, *gpu, *server, pool.deployment, prefill ? prompt + 1 : longest);
    if (prefill) check_whole_prompts_fit(r, s, pool.deployment);
  }
  const std::size_t servers = placeable ? place_pools(s.datacenter, *s.disaggregation, catalog).server_pool.size() : 0;
  if (servers > static_cast<std::size_t>(s.datacenter.servers())) {
    FieldReader decode = dep.section("decode");
    decode.error("replicas", "the prefill and decode pools need " + std::to_string(servers) +
                                 " servers (packed, prefill first) but the datacenter has " + std::to_string(s.datacenter.servers()));
  }
  if (s.cost && placeable) {
    // One price override cannot price two kinds of GPU or server: each is then priced from the catalog.
    std::set<std::string> gpus, server_types;
    for (const InstalledServer& server : installed_servers(s, catalog)) gpus.insert(server.gpu->id), server_types.insert(server.server->id);
    FieldReader cost(root.node() ? root.node()->find("cost") : nullptr, "cost", root.errors());
    auto one_kind = [&cost](const char* key, bool priced, const std::set<std::string>& kinds, const char* what) {
      if (!priced || kinds.size() < 2) return;
      std::string names;
      for (const std::string& kind : kinds) names += (names.empty() ? "" : " and ") + kind;
      cost.error(key, std::string("one price for every ") + what + ", but the datacenter's servers hold " + names +
                          " (the prefill and decode pools' own, and the datacenter's on servers no pool uses): leave it "
                          "out to price each from the catalog");
    };
    one_kind("gpu_price", s.cost->gpu_price.has_value(), gpus, "GPU");
    one_kind("server_price", s.cost->server_price.has_value(), server_types, "server");
  }
  s.memory = s.disaggregation->prefill.memory;
}

void check_against_catalog(FieldReader& root, Scenario& s, const Catalog& catalog) {
  FieldReader dc(root.node() ? root.node()->find("datacenter") : nullptr, "datacenter", root.errors());
  FieldReader dep(root.node() ? root.node()->find("deployment") : nullptr, "deployment", root.errors());
  const GpuSpec* gpu = catalog.gpu(s.datacenter.gpu);
  const ServerSpec* server = catalog.server(s.datacenter.server_type);
  check_catalog_id(dc, "gpu", s.datacenter.gpu, gpu, catalog.gpu_ids(), "GPU");
  check_catalog_id(dc, "server_type", s.datacenter.server_type, server, catalog.server_ids(), "server type");
  const ModelConfig* model = nullptr;
  try {
    model = catalog.model(s.deployment.model);
  } catch (const InputErrors& e) {
    for (const auto& err : e.errors()) root.errors().add(err.where, err.key_path, err.message);
    return;
  }
  check_catalog_id(dep, "model", s.deployment.model, model, catalog.model_ids(), "model");
  if (!gpu || !server || !model) return;
  const DeploymentSpec& d = s.deployment;
  if (const std::string why = server->refusal(*gpu); !why.empty()) dc.error("gpu", why);
  if (!s.disaggregation) {  // else each pool's GPU, layout and size (check_pools)
    check_weight_precision(dep, "precision", d, *gpu);
    check_layout(dep, d, *server, *model);
    const long long gpus = 1LL * s.datacenter.servers() * server->gpus_per_server;
    if (1LL * d.replicas * d.gpus_per_replica() > gpus)
      dep.error("replicas", std::to_string(d.replicas) + " replicas x " + std::to_string(d.gpus_per_replica()) +
                                " GPUs need " + std::to_string(1LL * d.replicas * d.gpus_per_replica()) + " GPUs but the datacenter has " +
                                std::to_string(gpus));
  }
  // A trace's requests that cannot fit are rejected one by one at run time, as a server would;
  // a length distribution that can produce them is a mistake in the scenario.
  const bool from_trace = s.workload.kind == WorkloadSpec::Kind::Trace;
  const double longest = from_trace ? 0 : s.workload.prompt_tokens.upper_bound() + s.workload.output_tokens.upper_bound();
  if (longest > model->max_position)
    root.errors().add(FieldReader(root.node() ? root.node()->find("workload") : nullptr, "workload", root.errors()).where("prompt_tokens"),
                      "workload.prompt_tokens",
                      "the longest prompt + output (" + std::to_string(static_cast<long long>(longest)) + " tokens) exceeds " +
                          model->name + "'s context of " + std::to_string(model->max_position) + " tokens (max_position_embeddings)");
  if (s.disaggregation) {
    check_pools(root, dep, s, catalog, *model);
    return;
  }
  s.memory = plan_and_check_fit(dep, "model", *model, *gpu, *server, d, longest);
  check_whole_prompts_fit(dep, s, d);
}

// The resolved scenario written next to the results names its files by absolute path, so it runs
// again from anywhere.
void pin_file_paths(Scenario& s) {
  auto pin = [&s](const char* key_path, const std::string& file) {
    if (!file.empty()) set_scalar(s.resolved, key_path, std::filesystem::absolute(file).lexically_normal().string());
  };
  if (s.workload.kind == WorkloadSpec::Kind::Trace) pin("workload.trace_file", s.workload.trace_file);
  if (s.workload.prompt_tokens.kind == LengthDistribution::Kind::Empirical) pin("workload.prompt_tokens.file", s.workload.prompt_tokens.file);
  if (s.workload.output_tokens.kind == LengthDistribution::Kind::Empirical) pin("workload.output_tokens.file", s.workload.output_tokens.file);
  if (s.performance.model == "calibrated") pin("performance.calibration", s.performance.calibration);
  if (s.facility && s.facility->weather != "hong_kong") pin("facility.weather", s.facility->weather);
}

}  // namespace

ConfigNode resolve_scenario_tree(const std::string& path, const std::vector<std::string>& overrides) {
  std::vector<std::string> chain;
  ConfigNode tree = resolve_extends(path, chain, {path, 0, 0});
  for (const auto& assignment : overrides) apply_override(tree, assignment);
  return tree;
}

std::string weight_precision_refusal(Precision precision, const GpuSpec& gpu) {
  if (precision != Precision::FP8 || gpu.fp8_tflops) return "";
  return gpu.id + " has no fp8 units (gpus.yaml fp8_tflops: null), so it cannot run fp8 weights: expected bf16, int8 or int4 "
                  "(weight-only) for deployment.precision";
}

Scenario read_scenario(const ConfigNode& tree, const std::string& source_file, const Catalog& catalog) {
  Scenario s;
  s.source_file = source_file;
  s.resolved = tree;
  ErrorList errors;
  FieldReader root(&tree, "", errors);
  s.name = root.text("name", std::filesystem::path(source_file).stem().string());
  s.simulation.seed = static_cast<unsigned long long>(read_integer(root, "seed"));
  s.simulation.duration_s = read_number(root, "duration_s");
  s.simulation.warmup_s = read_number(root, "warmup_s");
  if (s.simulation.warmup_s >= s.simulation.duration_s) root.error("warmup_s", "must be shorter than duration_s");
  read_datacenter(root.section("datacenter"), s.datacenter);
  read_deployment(root.section("deployment"), s.deployment, s.datacenter, s.disaggregation);
  read_load_balancer(root.section("load_balancer"), s.load_balancer);
  read_workload(root.section("workload"), s.workload);
  read_slo(root.section("slo"), s.slo);
  FieldReader perf = root.section("performance");
  s.performance.model = read_choice(perf, "model");
  s.performance.calibration = resolve_calibration(read_text(perf, "calibration"), perf.where("calibration"));
  s.performance.step_overhead_ms = read_number(perf, "step_overhead_ms");
  if (s.performance.model == "calibrated" && s.performance.calibration.empty())
    perf.error("calibration", "expected a calibration profile (scenarios/calibration/*.yaml) for model: calibrated");
  perf.finish();
  FieldReader output = root.section("output");
  s.simulation.timeseries_interval_s = read_number(output, "timeseries_interval_s");
  output.finish();
  read_facility_and_cost(root, s.datacenter.halls, s.datacenter.racks(),
                         s.disaggregation ? s.disaggregation->replicas() : s.deployment.replicas, resolve_relative, s.facility, s.cost);
  FieldReader sim = root.section("simulation");
  s.simulation.fast_forward = read_flag(sim, "fast_forward");
  sim.finish();
  root.finish();
  if (errors.empty()) check_against_catalog(root, s, catalog);
  if (errors.empty()) read_calibration(root, s);
  if (errors.empty()) pin_file_paths(s);
  errors.throw_if_any();
  return s;
}

void require_one_pool(const Scenario& s, const std::string& command, const std::string& why) {
  if (!s.disaggregation) return;
  const ConfigNode* deployment = s.resolved.find("deployment");
  const ConfigNode::Entry* pool = deployment ? deployment->find_entry("prefill") : nullptr;
  const char* key = pool ? "deployment.prefill" : "deployment.decode";
  if (!pool && deployment) pool = deployment->find_entry("decode");
  throw_input_error(pool ? pool->key_where : SourceLocation{s.source_file, 0, 0}, key,
                    command + " does not take a disaggregated deployment: " + why);
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides, const Catalog& catalog) {
  return read_scenario(resolve_scenario_tree(path, overrides), path, catalog);
}

}  // namespace aidc
