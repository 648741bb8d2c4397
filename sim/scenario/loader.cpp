#include "scenario/loader.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/field_reader.hpp"
#include "common/paths.hpp"
#include "perf/calibrated_model.hpp"
#include "perf/memory_plan.hpp"
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
  switch (p) {
    case Precision::BF16: return "bf16";
    case Precision::FP8: return "fp8";
    case Precision::INT8: return "int8";
    case Precision::INT4: return "int4";
  }
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

Precision read_precision(FieldReader& r, std::string_view key, Precision fallback) {
  const std::string text = r.choice(key, to_string(fallback), {"bf16", "fp8", "int8", "int4"});
  if (text == "fp8") return Precision::FP8;
  if (text == "int8") return Precision::INT8;
  if (text == "int4") return Precision::INT4;
  return Precision::BF16;
}

LengthDistribution read_lengths(FieldReader& parent, std::string_view key, double default_value) {
  LengthDistribution d;
  d.value = d.mean = default_value;
  const ConfigNode* node = parent.node() ? parent.node()->find(key) : nullptr;
  if (node && node->is_scalar()) {  // shorthand: a plain number is a fixed length
    d.value = parent.number(key, default_value, 1, 1e7);
    return d;
  }
  FieldReader r = parent.section(key);
  const std::string kind =
      r.choice("distribution", "fixed", {"fixed", "uniform", "lognormal", "empirical"});
  if (kind == "fixed") {
    d.kind = LengthDistribution::Kind::Fixed;
    d.value = r.number("value", default_value, 1, 1e7);
  } else if (kind == "uniform") {
    d.kind = LengthDistribution::Kind::Uniform;
    d.min = r.number("min", 1, 1, 1e7);
    d.max = r.number("max", std::max(d.min, default_value), 1, 1e7);
    if (d.max < d.min) r.error("max", "must be >= min");
  } else if (kind == "lognormal") {
    d.kind = LengthDistribution::Kind::LogNormal;
    d.mean = r.number("mean", default_value, 1, 1e7);
    d.sigma = r.number("sigma", 0.5, 0.01, 5);
    d.min = r.number("min", 1, 1, 1e7);
    d.max = r.number("max", d.mean * 8, 1, 1e7);
    if (d.max < d.min) r.error("max", "must be >= min");
  } else {
    d.kind = LengthDistribution::Kind::Empirical;
    const std::string file = resolve_relative(r.text("file", ""), r.where("file"));
    d.file = file;
    if (file.empty())
      r.error("file", "expected a CSV file with a 'tokens' column (and optional 'weight')");
    else
      try {
        load_empirical_lengths(file, d.samples, d.weights);
      } catch (const InputErrors& e) {
        for (const auto& err : e.errors()) r.errors().add(err.where, nested_path(r.path_of("file"), err.key_path), err.message);
      }
  }
  r.finish();
  return d;
}

RateSchedule read_schedule(FieldReader r, double default_rate) {
  RateSchedule s;
  const std::string kind = r.choice("kind", "constant", {"constant", "diurnal", "steps"});
  s.rate_per_s = r.number("rate_per_s", default_rate, 0);
  if (kind == "diurnal") {
    s.kind = RateSchedule::Kind::Diurnal;
    s.diurnal_amplitude = r.number("amplitude", 0.5, 0, 1);
    s.diurnal_peak_hour = r.number("peak_hour", 14, 0, 24);
    s.diurnal_period_s = r.number("period_s", 86400, 1);
  } else if (kind == "steps") {
    s.kind = RateSchedule::Kind::Steps;
    const ConfigNode* steps = r.node() ? r.node()->find("steps") : nullptr;
    r.mark_known("steps");
    if (!steps || !steps->is_sequence() || steps->items().empty()) {
      r.error("steps", "expected a list of {at_s, rate_per_s}");
    } else {
      for (std::size_t i = 0; i < steps->items().size(); ++i) {
        FieldReader step(&steps->items()[i], r.path_of("steps") + "[" + std::to_string(i) + "]", r.errors());
        RateSchedule::Step st{step.number("at_s", 0, 0), step.number("rate_per_s", 0, 0)};
        if (!s.steps.empty() && st.at_s <= s.steps.back().at_s) step.error("at_s", "steps must be in increasing at_s");
        s.steps.push_back(st);
        step.finish();
      }
    }
  }
  r.finish();
  return s;
}

template <typename Enum>
Enum pick(const std::string& text, const std::vector<std::pair<std::string, Enum>>& table) {
  for (const auto& [name, value] : table)
    if (name == text) return value;
  return table.front().second;
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
  dc.gpu = r.text("gpu", dc.gpu);
  dc.server_type = r.text("server_type", dc.server_type);
  dc.halls = static_cast<int>(r.integer("halls", 1, 1, 64));
  dc.rows_per_hall = static_cast<int>(r.integer("rows_per_hall", 1, 1, 256));
  dc.racks_per_row = static_cast<int>(r.integer("racks_per_row", 1, 1, 256));
  dc.servers_per_rack = static_cast<int>(r.integer("servers_per_rack", 1, 1, 64));
  FieldReader net = r.section("network");
  FieldReader fabric = net.section("fabric");
  dc.fabric.fabric = fabric.choice("kind", "infiniband", {"infiniband", "roce", "ethernet"});
  dc.fabric.server_link_gbit_s = fabric.number("server_link_gbit_s", 400, 0.1);
  dc.fabric.oversubscription = fabric.number("oversubscription", 1.0, 1.0, 64);
  dc.fabric.latency_us = fabric.number("latency_us", dc.fabric.fabric == "ethernet" ? 5.0 : 1.0, 0);
  fabric.finish();
  FieldReader frontend = net.section("frontend");
  dc.frontend.bandwidth_gbit_s = frontend.number("bandwidth_gbit_s", 100, 0.001);
  dc.frontend.latency_ms = frontend.number("latency_ms", 5, 0);
  frontend.finish();
  net.finish();
  r.finish();
}

void read_deployment(FieldReader r, DeploymentSpec& d) {
  d.model = r.text("model", d.model);
  d.precision = read_precision(r, "precision", Precision::BF16);
  d.kv_cache_precision = read_precision(r, "kv_cache_precision", Precision::BF16);
  d.replicas = static_cast<int>(r.integer("replicas", 1, 1, 1 << 20));
  d.tensor_parallel = static_cast<int>(r.integer("tensor_parallel", 1, 1, 64));
  d.expert_parallel = static_cast<int>(r.integer("expert_parallel", 1, 1, 64));
  d.placement = r.choice("placement", "pack", {"pack", "spread"});
  d.max_batch_sequences = static_cast<int>(r.integer("max_batch_sequences", 256, 1, 1 << 16));
  d.max_batch_tokens = static_cast<int>(r.integer("max_batch_tokens", 8192, 1, 1 << 22));
  d.chunked_prefill_tokens = static_cast<int>(r.integer("chunked_prefill_tokens", 2048, 0, 1 << 22));
  d.kv_block_tokens = static_cast<int>(r.integer("kv_block_tokens", 16, 1, 1024));
  d.kv_cache_memory_fraction = r.number("kv_cache_memory_fraction", 0.9, 0.05, 1.0);
  d.activation_reserve_gb = r.number("activation_reserve_gb", 2.0, 0);
  d.scheduler = pick<SchedulerPolicy>(r.choice("scheduler", "fcfs", {"fcfs", "shortest_prompt_first"}),
                                      {{"fcfs", SchedulerPolicy::FirstComeFirstServed},
                                       {"shortest_prompt_first", SchedulerPolicy::ShortestPromptFirst}});
  if (d.max_batch_tokens < d.max_batch_sequences)
    r.error("max_batch_tokens", "must be >= max_batch_sequences (every running sequence decodes one token per step)");
  r.finish();
}

void read_load_balancer(FieldReader r, LoadBalancerSpec& lb) {
  lb.policy = pick<BalancerPolicy>(
      r.choice("policy", "round_robin",
               {"round_robin", "least_outstanding", "consistent_hash", "power_of_two_choices"}),
      {{"round_robin", BalancerPolicy::RoundRobin},
       {"least_outstanding", BalancerPolicy::LeastOutstanding},
       {"consistent_hash", BalancerPolicy::ConsistentHash},
       {"power_of_two_choices", BalancerPolicy::PowerOfTwoChoices}});
  FieldReader hc = r.section("health_check");
  lb.health_check.interval_s = hc.number("interval_s", 2.0, 0.01);
  lb.health_check.fall = static_cast<int>(hc.integer("fall", 3, 1, 100));
  lb.health_check.rise = static_cast<int>(hc.integer("rise", 2, 1, 100));
  hc.finish();
  lb.virtual_nodes = static_cast<int>(r.integer("virtual_nodes", 100, 1, 10000));
  r.finish();
}

void read_workload(FieldReader r, WorkloadSpec& w) {
  w.kind = pick<WorkloadSpec::Kind>(r.choice("kind", "closed_loop", {"closed_loop", "open_loop", "trace"}),
                                    {{"closed_loop", WorkloadSpec::Kind::ClosedLoop},
                                     {"open_loop", WorkloadSpec::Kind::OpenLoop},
                                     {"trace", WorkloadSpec::Kind::Trace}});
  w.users = static_cast<int>(r.integer("users", 100, 1, 100000000));
  w.think_time_s = r.number("think_time_s", 10, 0);
  w.think_distribution = r.choice("think_distribution", "exponential", {"exponential", "fixed"});
  w.ramp_up_s = r.number("ramp_up_s", 0, 0);
  w.arrival = r.choice("arrival", "poisson", {"poisson", "gamma"});
  w.burstiness = r.number("burstiness", 1.0, 0.05, 100);
  w.schedule = read_schedule(r.section("schedule"), 1.0);
  w.sessions = static_cast<int>(r.integer("sessions", 1000, 1));
  w.trace_file = resolve_relative(r.text("trace_file", ""), r.where("trace_file"));
  if (w.kind == WorkloadSpec::Kind::Trace) {
    if (w.trace_file.empty())
      r.error("trace_file", "expected a CSV file (arrival_s,prompt_tokens,output_tokens[,session]) for kind: trace");
    else
      try {
        load_trace(w.trace_file);
      } catch (const InputErrors& e) {
        for (const auto& err : e.errors()) r.errors().add(err.where, nested_path(r.path_of("trace_file"), err.key_path), err.message);
      }
  }
  w.prompt_tokens = read_lengths(r, "prompt_tokens", 512);
  w.output_tokens = read_lengths(r, "output_tokens", 256);
  r.finish();
}

void read_slo(FieldReader r, SloSpec& slo) {
  slo.percentile = r.number("percentile", 99, 1, 100);
  // An absent bound keeps its default; `null` switches it off.
  auto bound = [&r](const char* key, std::optional<double> fallback) -> std::optional<double> {
    const ConfigNode* node = r.node() ? r.node()->find(key) : nullptr;
    if (!node) return fallback;
    if (node->is_null() || (node->is_scalar() && (node->text() == "null" || node->text() == "~"))) {
      r.mark_known(key);
      return std::nullopt;
    }
    return r.optional_number(key, 1e-6);
  };
  slo.ttft_s = bound("ttft_s", 0.5);
  slo.tpot_s = bound("tpot_s", 0.1);
  slo.e2e_s = bound("e2e_s", std::nullopt);
  r.finish();
}

// A profile path is relative to the scenario file, else to scenarios/ (where profiles are committed).
std::string resolve_calibration(const std::string& value, const SourceLocation& where) {
  const std::string beside = resolve_relative(value, where);
  if (value.empty() || std::filesystem::exists(beside)) return beside;
  return (std::filesystem::path(scenarios_dir()) / value).string();
}

void check_calibration(FieldReader& root, const Scenario& s) {
  if (s.performance.model != "calibrated") return;
  FieldReader perf(root.node() ? root.node()->find("performance") : nullptr, "performance", root.errors());
  if (!std::filesystem::exists(s.performance.calibration)) {
    perf.error("calibration", "profile not found: " + s.performance.calibration);
    return;
  }
  try {
    const CalibrationProfile profile = load_calibration_profile(s.performance.calibration);
    if (profile.model != s.deployment.model)
      perf.error("calibration", "profile measured " + profile.model + " but deployment.model is " + s.deployment.model);
    if (profile.precision != to_string(s.deployment.precision))
      perf.error("calibration", "profile measured " + profile.precision + " but deployment.precision is " +
                                    to_string(s.deployment.precision));
  } catch (const InputErrors& e) {
    for (const auto& err : e.errors()) root.errors().add(err.where, err.key_path, err.message);
  }
}

void check_against_catalog(FieldReader& root, Scenario& s, const Catalog& catalog) {
  FieldReader dc(root.node() ? root.node()->find("datacenter") : nullptr, "datacenter", root.errors());
  FieldReader dep(root.node() ? root.node()->find("deployment") : nullptr, "deployment", root.errors());
  const GpuSpec* gpu = catalog.gpu(s.datacenter.gpu);
  const ServerSpec* server = catalog.server(s.datacenter.server_type);
  check_catalog_id(dc, "gpu", s.datacenter.gpu, gpu, catalog.gpu_ids(), "GPU");
  check_catalog_id(dc, "server_type", s.datacenter.server_type, server, catalog.server_ids(), "server type");
  const ModelSpec* model = nullptr;
  try {
    model = catalog.model(s.deployment.model);
  } catch (const InputErrors& e) {
    for (const auto& err : e.errors()) root.errors().add(err.where, err.key_path, err.message);
    return;
  }
  check_catalog_id(dep, "model", s.deployment.model, model, catalog.model_ids(), "model");
  if (!gpu || !server || !model) return;
  const DeploymentSpec& d = s.deployment;
  if (!server->accepts(*gpu))
    dc.error("gpu", "a " + gpu->form_factor + " GPU does not fit server type '" + server->id + "'");
  if (d.tensor_parallel > server->gpus_per_server)
    dep.error("tensor_parallel", "expected at most " + std::to_string(server->gpus_per_server) +
                                     " (GPUs per '" + server->id + "' server); replicas do not span servers");
  else if (server->gpus_per_server % d.tensor_parallel != 0)
    dep.error("tensor_parallel", "expected a divisor of " + std::to_string(server->gpus_per_server) + " GPUs per server");
  if (model->heads % d.tensor_parallel != 0)
    dep.error("tensor_parallel", "expected a divisor of the model's " + std::to_string(model->heads) + " attention heads");
  if (d.tensor_parallel % d.expert_parallel != 0)
    dep.error("expert_parallel", "expected a divisor of tensor_parallel (experts spread over the replica's GPUs)");
  if (d.expert_parallel > 1 && !model->is_moe())
    dep.error("expert_parallel", "model '" + model->id + "' has no experts; expected 1");
  const long long gpus = 1LL * s.datacenter.servers() * server->gpus_per_server;
  if (1LL * d.replicas * d.tensor_parallel > gpus)
    dep.error("replicas", std::to_string(d.replicas) + " replicas x " + std::to_string(d.tensor_parallel) +
                              " GPUs need " + std::to_string(1LL * d.replicas * d.tensor_parallel) + " GPUs but the datacenter has " +
                              std::to_string(gpus));
  // A trace's requests that cannot fit are rejected one by one at run time, as a server would;
  // a length distribution that can produce them is a mistake in the scenario.
  const bool from_trace = s.workload.kind == WorkloadSpec::Kind::Trace;
  const double longest = from_trace ? 0 : s.workload.prompt_tokens.upper_bound() + s.workload.output_tokens.upper_bound();
  if (longest > model->max_context)
    root.errors().add(FieldReader(root.node() ? root.node()->find("workload") : nullptr, "workload", root.errors()).where("prompt_tokens"),
                      "workload.prompt_tokens",
                      "the longest prompt + output (" + std::to_string(static_cast<long long>(longest)) + " tokens) exceeds " +
                          model->id + "'s context of " + std::to_string(model->max_context) + " tokens (max_position_embeddings)");
  const MemoryPlan memory = plan_memory(*model, *gpu, d);
  if (memory.kv_capacity_tokens < longest) {
    char message[400];
    std::snprintf(message, sizeof message,
                  "does not fit: %.1f GB of %s weights per GPU + %.1f GB reserve leave room for %lld KV tokens, "
                  "but one request may need %.0f (longest prompt + output) on %s with tensor_parallel %d",
                  memory.weight_bytes_per_gpu / 1e9, to_string(d.precision), d.activation_reserve_gb,
                  memory.kv_capacity_tokens, longest, gpu->id.c_str(), d.tensor_parallel);
    dep.error("model", message);
  }
  if (!from_trace && d.chunked_prefill_tokens == 0 && s.workload.prompt_tokens.upper_bound() > d.max_batch_tokens)
    dep.error("max_batch_tokens", "without chunked prefill a whole prompt must fit in one batch: expected >= " +
                                      std::to_string(static_cast<long long>(s.workload.prompt_tokens.upper_bound())));
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

Scenario read_scenario(const ConfigNode& tree, const std::string& source_file, const Catalog& catalog) {
  Scenario s;
  s.source_file = source_file;
  s.resolved = tree;
  ErrorList errors;
  FieldReader root(&tree, "", errors);
  s.name = root.text("name", std::filesystem::path(source_file).stem().string());
  s.simulation.seed = static_cast<unsigned long long>(root.integer("seed", 1, 0));
  s.simulation.duration_s = root.number("duration_s", 600, 1e-3, 1e8);
  s.simulation.warmup_s = root.number("warmup_s", 60, 0);
  if (s.simulation.warmup_s >= s.simulation.duration_s) root.error("warmup_s", "must be shorter than duration_s");
  read_datacenter(root.section("datacenter"), s.datacenter);
  read_deployment(root.section("deployment"), s.deployment);
  read_load_balancer(root.section("load_balancer"), s.load_balancer);
  read_workload(root.section("workload"), s.workload);
  read_slo(root.section("slo"), s.slo);
  FieldReader perf = root.section("performance");
  s.performance.model = perf.choice("model", "roofline", {"roofline", "calibrated"});
  s.performance.calibration = resolve_calibration(perf.text("calibration", ""), perf.where("calibration"));
  s.performance.step_overhead_ms = perf.number("step_overhead_ms", 1.5, 0, 1000);
  if (s.performance.model == "calibrated" && s.performance.calibration.empty())
    perf.error("calibration", "expected a calibration profile (scenarios/calibration/*.yaml) for model: calibrated");
  perf.finish();
  FieldReader output = root.section("output");
  s.simulation.timeseries_interval_s = output.number("timeseries_interval_s", 10, 1e-3);
  output.finish();
  read_facility_and_cost(root, s.datacenter.halls, s.datacenter.racks(), s.deployment.replicas, resolve_relative, s.facility,
                         s.cost);
  FieldReader sim = root.section("simulation");
  s.simulation.fast_forward = sim.flag("fast_forward", true);
  sim.finish();
  root.finish();
  if (errors.empty()) check_against_catalog(root, s, catalog);
  if (errors.empty()) check_calibration(root, s);
  if (errors.empty()) pin_file_paths(s);
  errors.throw_if_any();
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides, const Catalog& catalog) {
  return read_scenario(resolve_scenario_tree(path, overrides), path, catalog);
}

}  // namespace aidc
