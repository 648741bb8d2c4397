#include "scenario/schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

namespace aidc {

std::string_view to_string(KeyType type) {
  switch (type) {
    case KeyType::Integer: return "integer";
    case KeyType::Number: return "number";
    case KeyType::Flag: return "flag";
    case KeyType::Text: return "string";
    case KeyType::Choice: return "choice";
    case KeyType::Path: return "path";
    case KeyType::Money: return "money";
    case KeyType::Length: return "length";
    case KeyType::Mapping: return "mapping";
    case KeyType::List: return "list";
  }
  return "string";
}

namespace {

std::string format_number(double value) {
  char text[32];
  const double exponent = value > 0 ? std::log10(value) : 0;
  if (exponent >= 6 && exponent == std::floor(exponent))  // 1e8, not 100000000
    std::snprintf(text, sizeof text, "1e%.0f", exponent);
  else if (std::abs(value) < 1e15 && value == std::floor(value))
    std::snprintf(text, sizeof text, "%.0f", value);
  else
    std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

std::string to_text(const SchemaValue& value) {
  if (const double* number = std::get_if<double>(&value)) return format_number(*number);
  if (const bool* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  if (const std::string* text = std::get_if<std::string>(&value)) return *text;
  return "";
}

std::string SchemaKey::name() const {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string SchemaKey::section() const {
  const auto dot = path.find('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

namespace {

// ---- a loaded value as the table knows it ----

SchemaValue to_value(double v) { return v; }
SchemaValue to_value(int v) { return static_cast<double>(v); }
SchemaValue to_value(unsigned long long v) { return static_cast<double>(v); }
SchemaValue to_value(bool v) { return v; }
SchemaValue to_value(const std::string& v) { return v; }
SchemaValue to_value(const cost::Money& v) { return format_number(v.amount) + " " + std::string(cost::currency_code(v.currency)); }
SchemaValue to_value(const LengthDistribution& d) { return d.value; }  // the plain-number shorthand: fixed
template <typename Enum, typename = decltype(ChoiceNames<Enum>::values)>
SchemaValue to_value(Enum e) {
  for (const auto& [name, value] : ChoiceNames<Enum>::values)
    if (value == e) return std::string(name);
  return {};
}
template <typename T>
SchemaValue to_value(const std::optional<T>& v) {
  return v ? to_value(*v) : SchemaValue{};
}

// Steps through a member: an optional section is taken as present, a list as its first item.
template <typename T>
const T& step(const T& v) { return v; }
template <typename T>
const T& step(const std::optional<T>& v) { return *v; }
template <typename T>
const T& step(const std::vector<T>& v) { return v.front(); }

template <typename Object, typename Member, typename... Rest>
SchemaValue project(const Object& object, Member Object::*member, Rest... rest) {
  if constexpr (sizeof...(Rest) == 0)
    return to_value(object.*member);
  else
    return project(step(object.*member), rest...);
}

template <typename Enum>
std::vector<std::string> names_of() {
  std::vector<std::string> names;
  for (const auto& entry : ChoiceNames<Enum>::values) names.emplace_back(entry.first);
  return names;
}

// ---- building the table ----

class Key {
 public:
  Key(std::string path, KeyType type, std::string meaning) {
    k_.path = std::move(path);
    k_.type = type;
    k_.meaning = std::move(meaning);
  }
  Key& unit(std::string u) { k_.unit = std::move(u); return *this; }
  Key& range(double lo, double hi = std::numeric_limits<double>::infinity()) { k_.min = lo; k_.max = hi; return *this; }
  Key& choices(std::vector<std::string> words) { k_.choices = std::move(words); return *this; }
  template <typename Enum>
  Key& choice_of() { k_.choices = names_of<Enum>(); return *this; }
  Key& catalog(std::string kind) { k_.catalog = std::move(kind); return *this; }
  Key& nullable() { k_.nullable = true; return *this; }
  Key& when(std::string variant) { k_.when = std::move(variant); return *this; }
  Key& knob() { k_.knob = true; return *this; }
  // A default of its own, for a key that has no struct member holding it.
  Key& by_default(SchemaValue value) { k_.default_value = std::move(value); has_literal_default_ = true; return *this; }
  // A default computed from other keys: no single value, only a description.
  Key& computed(std::string how) { k_.default_note = std::move(how); computed_ = true; return *this; }
  // A second default beside the main one ("5 with kind: ethernet").
  Key& also(std::string note) { k_.default_note = std::move(note); return *this; }
  template <typename... Members>
  Key& member(Members... members) {
    k_.loaded = [=](const Scenario& s) { return project(s, members...); };
    return *this;
  }

  SchemaKey finish(const Scenario& reference) const {
    SchemaKey k = k_;
    if (!has_literal_default_ && !computed_ && k.loaded) k.default_value = k.loaded(reference);
    if (computed_) k.loaded = nullptr;  // its default depends on other keys: nothing single to compare
    return k;
  }

 private:
  SchemaKey k_;
  bool has_literal_default_ = false, computed_ = false;
};

// The defaults: a Scenario as the structs initialise it, with the optional sections present.
Scenario reference_scenario() {
  Scenario s;
  s.facility.emplace();
  HallSpec hall;
  hall.cooling = facility::default_cooling_plant(facility::CoolingKind::Air, 0);
  s.facility->halls = {hall};
  s.cost.emplace();
  return s;
}

using KT = KeyType;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Upper bounds that keep a scenario physical and its arithmetic finite, SimGrid's included (a link of
// 1e308 bytes/s or a latency of 1e-320 s makes it abort); each far beyond any real site.
constexpr double kMaxSeconds = 1e8;    // simulated time: about three years
constexpr double kMaxLinkGbitS = 1e6;  // 1 Pbit/s
constexpr double kMaxLatencyS = 10;    // one link, or the users' distance to the site
constexpr double kMaxRatePerS = 1e7;   // requests per second
constexpr double kMaxKw = 1e7;         // 10 GW
constexpr double kMaxMoney = 1e15;     // in any currency

void add_lengths(std::vector<Key>& keys, const std::string& name, LengthDistribution WorkloadSpec::*member,
                 const std::string& meaning) {
  const std::string path = "workload." + name;
  keys.push_back(Key(path, KT::Length, meaning + " A plain number is a fixed length.")
                     .unit("tokens").range(1, 1e7).when("closed_loop, open_loop").knob()
                     .member(&Scenario::workload, member));
  keys.push_back(Key(path + ".distribution", KT::Choice, "How lengths are drawn (below).")
                     .choice_of<LengthDistribution::Kind>().knob()
                     .member(&Scenario::workload, member, &LengthDistribution::kind));
  keys.push_back(Key(path + ".value", KT::Number, "The length (truncated to an integer).")
                     .unit("tokens").range(1, 1e7).when("fixed")
                     .member(&Scenario::workload, member, &LengthDistribution::value));
  keys.push_back(Key(path + ".min", KT::Number, "Shortest length.")
                     .unit("tokens").range(1, 1e7).when("uniform, lognormal")
                     .member(&Scenario::workload, member, &LengthDistribution::min));
  keys.push_back(Key(path + ".max", KT::Number, "Longest length, ≥ `min`; lognormal draws are clamped to it.")
                     .unit("tokens").range(1, 1e7).when("uniform, lognormal")
                     .computed("uniform: max(`min`, the fixed default); lognormal: 8 × `mean`"));
  keys.push_back(Key(path + ".mean", KT::Number, "Arithmetic mean (μ = ln(mean) − σ²/2).")
                     .unit("tokens").range(1, 1e7).when("lognormal").knob()
                     .member(&Scenario::workload, member, &LengthDistribution::mean));
  keys.push_back(Key(path + ".sigma", KT::Number, "σ of the underlying normal.")
                     .range(0.01, 5).when("lognormal")
                     .member(&Scenario::workload, member, &LengthDistribution::sigma));
  keys.push_back(Key(path + ".file", KT::Path, "CSV with a `tokens` column (and optional `weight`), relative to the YAML file; required.")
                     .when("empirical"));
}

// deployment.prefill.* and deployment.decode.*: each pool's own GPU, servers, layout and batch limits,
// every one the scenario's own unless given.
void add_pool_keys(std::vector<Key>& keys, const std::string& pool, const std::string& meaning) {
  const std::string path = "deployment." + pool;
  keys.push_back(Key(path, KT::Mapping, meaning));
  auto inherited = [&](const std::string& name, KeyType type, const std::string& what, const std::string& from) {
    return Key(path + "." + name, type, what).computed("`" + from + "`").knob();
  };
  keys.push_back(inherited("replicas", KT::Integer, "Replicas of this pool.", "deployment.replicas").range(1, 1 << 20));
  keys.push_back(inherited("gpu", KT::Text, "The accelerator of this pool's servers.", "datacenter.gpu").catalog("gpus"));
  keys.push_back(inherited("server_type", KT::Text, "The chassis of this pool's servers.", "datacenter.server_type").catalog("servers"));
  keys.push_back(inherited("tensor_parallel", KT::Integer, "As `deployment.tensor_parallel`, for this pool.", "deployment.tensor_parallel").range(1, 64));
  keys.push_back(inherited("expert_parallel", KT::Integer, "As `deployment.expert_parallel`, for this pool.", "deployment.expert_parallel").range(1, 4096));
  keys.push_back(inherited("pipeline_parallel", KT::Integer, "As `deployment.pipeline_parallel`, for this pool.", "deployment.pipeline_parallel").range(1, 64));
  keys.push_back(inherited("data_parallel_attention", KT::Flag, "As `deployment.data_parallel_attention`, for this pool.",
                           "deployment.data_parallel_attention"));
  keys.push_back(inherited("redundant_experts", KT::Integer, "As `deployment.redundant_experts`, for this pool.", "deployment.redundant_experts")
                     .range(0, 4096));
  keys.push_back(inherited("overlap_communication", KT::Flag, "As `deployment.overlap_communication`, for this pool.",
                           "deployment.overlap_communication"));
  keys.push_back(inherited("pure_rdma_all_to_all", KT::Flag, "As `deployment.pure_rdma_all_to_all`, for this pool.",
                           "deployment.pure_rdma_all_to_all"));
  keys.push_back(inherited("max_batch_sequences", KT::Integer, "As `deployment.max_batch_sequences`, for this pool.",
                           "deployment.max_batch_sequences").range(1, 1 << 16));
  keys.push_back(inherited("max_batch_tokens", KT::Integer, "As `deployment.max_batch_tokens`, for this pool.", "deployment.max_batch_tokens")
                     .unit("tokens").range(1, 1 << 22));
  // A decode replica prefills nothing but each request's last prompt token (to sample its first token).
  if (pool == "prefill")
    keys.push_back(inherited("chunked_prefill_tokens", KT::Integer, "As `deployment.chunked_prefill_tokens`, for this pool.",
                             "deployment.chunked_prefill_tokens").unit("tokens").range(0, 1 << 22));
}

std::vector<Key> scenario_keys() {
  using DC = DatacenterSpec;
  using Dep = DeploymentSpec;
  using W = WorkloadSpec;
  using F = FacilitySpec;
  using C = CostSpec;
  std::vector<Key> keys = {
      // top level
      Key("name", KT::Text, "Names the run; the default output folder is `runs/<name>-<YYYYmmdd-HHMMSS>`.")
          .computed("the file name without `.yaml`").knob(),
      Key("extends", KT::Path, "Base scenario this file is merged over (relative to this file).").knob(),
      Key("seed", KT::Integer, "Seed of every random draw; same seed + same file = same result.")
          .range(0, 1e18).knob().member(&Scenario::simulation, &SimulationSpec::seed),
      Key("duration_s", KT::Number, "Simulated time; requests still queued or running then are \"unfinished\".")
          .unit("s").range(1e-3, kMaxSeconds).knob().member(&Scenario::simulation, &SimulationSpec::duration_s),
      Key("warmup_s", KT::Number, "Start-up period left out of the statistics; < `duration_s`.")
          .unit("s").range(0, kMaxSeconds).knob().member(&Scenario::simulation, &SimulationSpec::warmup_s),
      Key("datacenter", KT::Mapping, "GPUs, servers, racks, network: [below](#datacenter)."),
      Key("deployment", KT::Mapping, "The model's replicas and batching: [below](#deployment)."),
      Key("load_balancer", KT::Mapping, "How requests pick a replica: [below](#load_balancer)."),
      Key("workload", KT::Mapping, "Where requests come from: [below](#workload)."),
      Key("slo", KT::Mapping, "Latency targets: [below](#slo)."),
      Key("performance", KT::Mapping, "How long one batch iteration takes: [below](#performance)."),
      Key("output", KT::Mapping, "What a run writes: [below](#output)."),
      Key("simulation", KT::Mapping, "How the run is simulated: [below](#simulation)."),
      Key("facility", KT::Mapping, "Power, cooling, weather, thermal, failures; absent: no facility model. [Below](#facility-and-cost)."),
      Key("cost", KT::Mapping, "Capex, opex, payback, carbon; alone it turns the facility model on. [Below](#facility-and-cost)."),

      // datacenter
      Key("datacenter.gpu", KT::Text, "The accelerator in every server.")
          .catalog("gpus").knob().member(&Scenario::datacenter, &DC::gpu),
      Key("datacenter.server_type", KT::Text, "The chassis; sets GPUs per server and the GPU-to-GPU link.")
          .catalog("servers").knob().member(&Scenario::datacenter, &DC::server_type),
      Key("datacenter.halls", KT::Integer, "Data halls.").range(1, 64).knob().member(&Scenario::datacenter, &DC::halls),
      Key("datacenter.rows_per_hall", KT::Integer, "Rows of racks per hall.")
          .range(1, 256).knob().member(&Scenario::datacenter, &DC::rows_per_hall),
      Key("datacenter.racks_per_row", KT::Integer, "Racks per row.")
          .range(1, 256).knob().member(&Scenario::datacenter, &DC::racks_per_row),
      Key("datacenter.servers_per_rack", KT::Integer, "Servers per rack.")
          .range(1, 64).knob().member(&Scenario::datacenter, &DC::servers_per_rack),
      Key("datacenter.network.fabric.kind", KT::Choice, "Fabric technology. Today it only sets the default of `latency_us`.")
          .choices({"infiniband", "roce", "ethernet"}).knob()
          .member(&Scenario::datacenter, &DC::fabric, &FabricNetwork::fabric),
      Key("datacenter.network.fabric.server_link_gbit_s", KT::Number,
          "Each server's link to its top-of-rack (ToR) switch; also the balancer's link.")
          .unit("Gbit/s").range(0.1, kMaxLinkGbitS).knob().member(&Scenario::datacenter, &DC::fabric, &FabricNetwork::server_link_gbit_s),
      Key("datacenter.network.fabric.oversubscription", KT::Number, "ToR downlink capacity / uplink capacity.")
          .unit("ratio").range(1, 64).knob().member(&Scenario::datacenter, &DC::fabric, &FabricNetwork::oversubscription),
      Key("datacenter.network.fabric.latency_us", KT::Number, "Latency of each link (per switch hop).")
          .unit("µs").range(0, kMaxLatencyS * 1e6).also(format_number(FabricNetwork::kEthernetLatencyUs) + " with `kind: ethernet`")
          .member(&Scenario::datacenter, &DC::fabric, &FabricNetwork::latency_us),
      Key("datacenter.network.frontend.bandwidth_gbit_s", KT::Number,
          "The link from users to the load balancer (the site's uplink), shared by all requests and responses.")
          .unit("Gbit/s").range(0.001, kMaxLinkGbitS).member(&Scenario::datacenter, &DC::frontend, &FrontendNetwork::bandwidth_gbit_s),
      Key("datacenter.network.frontend.latency_ms", KT::Number, "One-way latency users ↔ site; adds to TTFT and end-to-end latency.")
          .unit("ms").range(0, kMaxLatencyS * 1e3).knob().member(&Scenario::datacenter, &DC::frontend, &FrontendNetwork::latency_ms),

      // deployment
      Key("deployment.model", KT::Text, "The model every replica serves.")
          .catalog("models").knob().member(&Scenario::deployment, &Dep::model),
      Key("deployment.precision", KT::Choice,
          "Weight precision: 2, 1, 1, 0.5 bytes per value (int4 is weight-only and computes in bf16).")
          .choice_of<Precision>().knob().member(&Scenario::deployment, &Dep::precision),
      Key("deployment.kv_cache_precision", KT::Choice, "KV-cache precision (bytes as above), independent of `precision`.")
          .choice_of<Precision>().knob().member(&Scenario::deployment, &Dep::kv_cache_precision),
      Key("deployment.replicas", KT::Integer, "Model instances; each is one inference engine with its own batch and KV cache.")
          .range(1, 1 << 20).knob().member(&Scenario::deployment, &Dep::replicas),
      Key("deployment.tensor_parallel", KT::Integer,
          "GPUs of one server that shard every weight matrix and the attention heads (a replica's GPUs unless pipeline or data-parallel attention spans servers).")
          .range(1, 64).knob().member(&Scenario::deployment, &Dep::tensor_parallel),
      Key("deployment.expert_parallel", KT::Integer,
          "For MoE models: the routed experts are split over this many GPUs; within `tensor_parallel`, or with `data_parallel_attention` the replica's GPUs, across servers.")
          .range(1, 4096).knob().member(&Scenario::deployment, &Dep::expert_parallel),
      Key("deployment.pipeline_parallel", KT::Integer,
          "Pipeline stages, each `tensor_parallel` GPUs holding a share of the layers; a replica spans servers when stages × TP exceeds one.")
          .range(1, 64).knob().member(&Scenario::deployment, &Dep::pipeline_parallel),
      Key("deployment.data_parallel_attention", KT::Flag,
          "MoE only: the replica is `expert_parallel` GPUs; attention, dense layers and shared experts run data-parallel in groups of `tensor_parallel` GPUs, each with its own sequences and KV cache.")
          .knob().member(&Scenario::deployment, &Dep::data_parallel_attention),
      Key("deployment.redundant_experts", KT::Integer,
          "With `data_parallel_attention`: extra copies of hot routed experts per MoE layer (DeepSeek's EPLB keeps 32).")
          .range(0, 4096).knob().member(&Scenario::deployment, &Dep::redundant_experts),
      Key("deployment.expert_load_skew", KT::Number,
          "Routed tokens on the busiest expert-parallel GPU / the mean (1 = uniform routing); the slowest rank sets the step.")
          .unit("ratio").range(1, 64).knob().member(&Scenario::deployment, &Dep::expert_load_skew),
      Key("deployment.overlap_communication", KT::Flag,
          "Two micro-batches per step, one's all-to-all hidden behind the other's compute (DeepSeek's dual-batch overlap).")
          .knob().member(&Scenario::deployment, &Dep::overlap_communication),
      Key("deployment.pure_rdma_all_to_all", KT::Flag,
          "Expert parallel across servers: decode steps send every (token, expert) copy over RDMA, to GPUs of the same server too, as DeepEP's low-latency kernels did until June 2025 (DeepSeek's own deployment); off: over NVLink inside a server.")
          .knob().member(&Scenario::deployment, &Dep::pure_rdma_all_to_all),
      Key("deployment.mtp_acceptance", KT::Number,
          "Multi-token prediction (DeepSeek-V3/R1): acceptance rate of the one draft token per step, so a step yields 1 + this many tokens per sequence; 0 = off (DeepSeek-V3 report: 0.85-0.90).")
          .unit("fraction").range(0, 1).knob().member(&Scenario::deployment, &Dep::mtp_acceptance),
      Key("deployment.prefix_cache_hit_rate", KT::Number,
          "Share of prompt tokens whose KV comes from the prefix cache instead of being computed (DeepSeek reports 0.563).")
          .unit("fraction").range(0, 0.99).knob().member(&Scenario::deployment, &Dep::prefix_cache_hit_rate),
      Key("deployment.placement", KT::Choice,
          "`pack`: fill each server's GPUs before the next; `spread`: one replica per server in turn, racks first.")
          .choices({"pack", "spread"}).knob().member(&Scenario::deployment, &Dep::placement),
      Key("deployment.max_batch_sequences", KT::Integer, "Most sequences running in one replica's batch (vLLM `max_num_seqs`).")
          .range(1, 1 << 16).knob().member(&Scenario::deployment, &Dep::max_batch_sequences),
      Key("deployment.max_batch_tokens", KT::Integer,
          "Token budget of one iteration, prefill and decode together (vLLM `max_num_batched_tokens`); ≥ `max_batch_sequences`.")
          .unit("tokens").range(1, 1 << 22).knob().member(&Scenario::deployment, &Dep::max_batch_tokens),
      Key("deployment.chunked_prefill_tokens", KT::Integer,
          "Most prompt tokens of one request prefilled per iteration; 0 = off (a prompt is prefilled whole).")
          .unit("tokens").range(0, 1 << 22).knob().member(&Scenario::deployment, &Dep::chunked_prefill_tokens),
      Key("deployment.kv_block_tokens", KT::Integer, "Tokens per KV-cache block (paged attention).")
          .unit("tokens").range(1, 1024).member(&Scenario::deployment, &Dep::kv_block_tokens),
      Key("deployment.kv_cache_memory_fraction", KT::Number,
          "Share of each GPU's memory for weights + KV cache + reserve (vLLM `gpu_memory_utilization`).")
          .unit("fraction").range(0.05, 1).knob().member(&Scenario::deployment, &Dep::kv_cache_memory_fraction),
      Key("deployment.activation_reserve_gb", KT::Number, "Per GPU, kept for activations, CUDA graphs and workspace.")
          .unit("GB").range(0, 1e4).member(&Scenario::deployment, &Dep::activation_reserve_gb),
      Key("deployment.scheduler", KT::Choice, "Order in which waiting requests are admitted.")
          .choice_of<SchedulerPolicy>().knob().member(&Scenario::deployment, &Dep::scheduler),

      // load_balancer
      Key("load_balancer.policy", KT::Choice, "How a request picks a replica (below).")
          .choice_of<BalancerPolicy>().knob().member(&Scenario::load_balancer, &LoadBalancerSpec::policy),
      Key("load_balancer.virtual_nodes", KT::Integer, "`consistent_hash` only: points per replica on the hash ring.")
          .range(1, 10000).member(&Scenario::load_balancer, &LoadBalancerSpec::virtual_nodes),
      Key("load_balancer.health_check.interval_s", KT::Number, "Time between health checks of every replica (HAProxy `inter`).")
          .unit("s").range(0.01, kMaxSeconds).member(&Scenario::load_balancer, &LoadBalancerSpec::health_check, &HealthCheck::interval_s),
      Key("load_balancer.health_check.fall", KT::Integer, "Consecutive failed checks that mark a replica down.")
          .range(1, 100).member(&Scenario::load_balancer, &LoadBalancerSpec::health_check, &HealthCheck::fall),
      Key("load_balancer.health_check.rise", KT::Integer, "Consecutive good checks that bring it back.")
          .range(1, 100).member(&Scenario::load_balancer, &LoadBalancerSpec::health_check, &HealthCheck::rise),

      // workload
      Key("workload.kind", KT::Choice, "Where requests come from (below).")
          .choice_of<WorkloadSpec::Kind>().knob().member(&Scenario::workload, &W::kind),
      Key("workload.users", KT::Integer, "Concurrent users.")
          .range(1, 1e8).when("closed_loop").knob().member(&Scenario::workload, &W::users),
      Key("workload.think_time_s", KT::Number, "Mean time a user waits between an answer and the next request; 0 = at once.")
          .unit("s").range(0, kMaxSeconds).when("closed_loop").knob().member(&Scenario::workload, &W::think_time_s),
      Key("workload.think_distribution", KT::Choice, "Think times exponential with that mean, or always exactly `think_time_s`.")
          .choices({"exponential", "fixed"}).when("closed_loop").member(&Scenario::workload, &W::think_distribution),
      Key("workload.ramp_up_s", KT::Number,
          "> 0: each user's first request at a uniform random time in `[0, ramp_up_s]`; 0: after one think time.")
          .unit("s").range(0, kMaxSeconds).when("closed_loop").member(&Scenario::workload, &W::ramp_up_s),
      Key("workload.arrival", KT::Choice, "Inter-arrival process.")
          .choices({"poisson", "gamma"}).when("open_loop").knob().member(&Scenario::workload, &W::arrival),
      Key("workload.burstiness", KT::Number,
          "Coefficient of variation of gamma inter-arrival times (shape = 1 / burstiness²); 1 ≈ Poisson.")
          .range(0.05, 100).when("open_loop, gamma").knob().member(&Scenario::workload, &W::burstiness),
      Key("workload.sessions", KT::Integer, "Session ids drawn uniformly per request (for `consistent_hash`).")
          .range(1, 1e9).when("open_loop").member(&Scenario::workload, &W::sessions),
      Key("workload.trace_file", KT::Path,
          "The requests to replay, see [trace CSV](#trace-csv); relative to the YAML file that names it; required.")
          .when("trace"),
      Key("workload.schedule.kind", KT::Choice, "The arrival rate over time (below).")
          .choice_of<RateSchedule::Kind>().when("open_loop").knob()
          .member(&Scenario::workload, &W::schedule, &RateSchedule::kind),
      Key("workload.schedule.rate_per_s", KT::Number, "Constant rate, or the diurnal mean; 0 = no arrivals (read and unused with steps).")
          .unit("1/s").range(0, kMaxRatePerS).when("constant, diurnal").knob()
          .member(&Scenario::workload, &W::schedule, &RateSchedule::rate_per_s),
      Key("workload.schedule.amplitude", KT::Number, "Peak = mean × (1 + amplitude), trough = mean × (1 − amplitude).")
          .unit("fraction").range(0, 1).when("diurnal")
          .member(&Scenario::workload, &W::schedule, &RateSchedule::diurnal_amplitude),
      Key("workload.schedule.peak_hour", KT::Number, "Hour of the \"day\" at which the rate peaks.")
          .unit("h").range(0, 24).when("diurnal").member(&Scenario::workload, &W::schedule, &RateSchedule::diurnal_peak_hour),
      Key("workload.schedule.period_s", KT::Number, "Length of one \"day\"; shorter compresses a day into a short run.")
          .unit("s").range(1, kMaxSeconds).when("diurnal").member(&Scenario::workload, &W::schedule, &RateSchedule::diurnal_period_s),
      Key("workload.schedule.steps", KT::List, "The rate from each `at_s` on (0 before the first step); at least one item; required.")
          .when("steps"),
      Key("workload.schedule.steps[].at_s", KT::Number, "When the step starts; strictly increasing.")
          .unit("s").range(0, kMaxSeconds).when("steps").by_default(0.0),
      Key("workload.schedule.steps[].rate_per_s", KT::Number, "The rate from then on.")
          .unit("1/s").range(0, kMaxRatePerS).when("steps").by_default(0.0),

      // slo
      Key("slo.percentile", KT::Number, "The percentile compared with each bound (99 = p99).")
          .unit("%").range(1, 100).knob().member(&Scenario::slo, &SloSpec::percentile),
      Key("slo.ttft_s", KT::Number, "Time to first token, network included; `null` = no bound.")
          .unit("s").range(1e-6, kMaxSeconds).nullable().knob().member(&Scenario::slo, &SloSpec::ttft_s),
      Key("slo.tpot_s", KT::Number, "Time per output token after the first; `null` = no bound.")
          .unit("s").range(1e-6, kMaxSeconds).nullable().knob().member(&Scenario::slo, &SloSpec::tpot_s),
      Key("slo.e2e_s", KT::Number, "End-to-end latency: arrival → last token; no bound unless given.")
          .unit("s").range(1e-6, kMaxSeconds).nullable().knob().member(&Scenario::slo, &SloSpec::e2e_s),

      // performance, output, simulation
      Key("performance.model", KT::Choice, "`roofline`: the analytic model; `calibrated`: operator times measured by `aidc-engine profile`.")
          .choices({"roofline", "calibrated"}).member(&Scenario::performance, &PerformanceSpec::model),
      Key("performance.calibration", KT::Path,
          "The profile, relative to the scenario file if it exists there, else to `scenarios/`; required with `calibrated`.")
          .when("calibrated"),
      Key("performance.step_overhead_ms", KT::Number, "CPU-side time added to every iteration (scheduling, sampling, launch).")
          .unit("ms").range(0, 1000).when("roofline").member(&Scenario::performance, &PerformanceSpec::step_overhead_ms),
      Key("output.timeseries_interval_s", KT::Number, "Bin width of `timeseries.csv`.")
          .unit("s").range(1e-3, kMaxSeconds).member(&Scenario::simulation, &SimulationSpec::timeseries_interval_s),
      Key("simulation.fast_forward", KT::Flag,
          "Advance a replica over up to 64 decode-only iterations in one event; same results, faster (`false` checks that).")
          .member(&Scenario::simulation, &SimulationSpec::fast_forward),
  };
  add_lengths(keys, "prompt_tokens", &W::prompt_tokens, "Prompt (input) length of each request.");
  add_lengths(keys, "output_tokens", &W::output_tokens, "Output length of each request (exactly this many tokens are generated).");

  const std::string per_kind = "that of `cooling.kind`";
  const facility::LiquidLoop direct = facility::default_cooling_plant(facility::CoolingKind::DirectLiquid, 0).liquid;
  const facility::LiquidLoop immersion = facility::default_cooling_plant(facility::CoolingKind::Immersion, 0).liquid;
  auto liquid_default = [&](double facility::LiquidLoop::*member) {
    return "direct_liquid " + format_number(direct.*member) + ", immersion " + format_number(immersion.*member);
  };
  using facility::AirHandling;
  using facility::ChillerPlant;
  using facility::LiquidLoop;
  const std::string hall = "facility.halls[].";
  std::vector<Key> facility_keys = {
      Key("facility.pue_target", KT::Number, "Flag `pue.above_target` when energy-weighted or annualized PUE exceeds it.")
          .range(1, 5).knob().member(&Scenario::facility, &F::pue_target),
      Key("facility.weather", KT::Text, "`hong_kong` (built-in typical year) or a weather CSV, relative to the scenario.")
          .knob().member(&Scenario::facility, &F::weather),
      Key("facility.start", KT::Text, "\"MM-DD HH:MM\" of simulated t = 0 in the weather year.").knob().by_default(std::string("07-15 14:00")),
      Key("facility.psu_efficiency", KT::Number, "Server power supplies: wall power × efficiency = IT load.")
          .range(0.5, 1).member(&Scenario::facility, &F::psu_efficiency),
      Key("facility.switch_w", KT::Number, "Power of one top-of-rack switch.").unit("W").range(0, 1e5).member(&Scenario::facility, &F::switch_w),
      Key("facility.switches_per_rack", KT::Integer, "Top-of-rack switches per rack.")
          .range(0, 64).member(&Scenario::facility, &F::switches_per_rack),
      Key("facility.gpu_power_cap_w", KT::Number, "`nvidia-smi -pl` for every GPU; none: the GPU's TDP.")
          .unit("W").range(100, 1e5).nullable().knob().member(&Scenario::facility, &F::gpu_power_cap_w),
      Key("facility.rack_breaker_kw", KT::Number, "Breaker rating per rack (continuous limit 80%); none: no limit.")
          .unit("kW").range(0.1, kMaxKw).nullable().member(&Scenario::facility, &F::rack_breaker_kw),
      Key("facility.thermal.throttle_start_c", KT::Number, "GPU temperature where clock throttling starts.")
          .unit("°C").range(0, 150).member(&Scenario::facility, &F::throttle, &facility::ThrottleModel::start_c),
      Key("facility.thermal.throttle_full_c", KT::Number, "Temperature of full throttling; above `throttle_start_c`.")
          .unit("°C").range(0, 150).member(&Scenario::facility, &F::throttle, &facility::ThrottleModel::full_c),
      Key("facility.thermal.min_clock_fraction", KT::Number, "Clock left at full throttling.")
          .range(0.05, 1).member(&Scenario::facility, &F::throttle, &facility::ThrottleModel::min_clock_fraction),
      Key("facility.thermal.gpu_resistance_k_per_w", KT::Number, "GPU thermal resistance to its coolant.")
          .unit("K/W").range(1e-6, 10).nullable().computed(per_kind),
      Key("facility.thermal.gpu_time_constant_s", KT::Number, "GPU thermal time constant.")
          .unit("s").range(1e-3, 1e6).nullable().computed(per_kind),
      Key("facility.thermal.rack_rise_k_per_kw", KT::Number, "Rack air temperature rise per kW.")
          .unit("K/kW").range(1e-6, 100).nullable().computed(per_kind),
      Key("facility.thermal.rack_time_constant_s", KT::Number, "Rack thermal time constant.")
          .unit("s").range(1e-3, 1e6).nullable().computed(per_kind),
      Key("facility.control.policy", KT::Choice, "Cooling flow controller (docs/facility.md §6).")
          .choice_of<CoolingPolicy>().member(&Scenario::facility, &F::policy),
      Key("facility.control.temperature_threshold_c", KT::Number, "`seed`: raise the flow above this GPU temperature.")
          .unit("°C").range(0, 150).when("seed")
          .member(&Scenario::facility, &F::seed_controller, &facility::SeedThermalController::temperature_threshold_c),
      Key("facility.control.load_threshold", KT::Number, "`seed`: or above this load.")
          .range(0, 1).when("seed").member(&Scenario::facility, &F::seed_controller, &facility::SeedThermalController::load_threshold),
      Key("facility.control.high_flow_multiplier", KT::Number, "`seed`: the raised flow.")
          .range(1, 3).when("seed")
          .member(&Scenario::facility, &F::seed_controller, &facility::SeedThermalController::high_flow_multiplier),
      Key("facility.control.setpoint_c", KT::Number, "`proportional`: target GPU temperature.")
          .unit("°C").range(0, 150).when("proportional")
          .member(&Scenario::facility, &F::proportional_controller, &facility::ProportionalController::setpoint_c),
      Key("facility.control.gain_per_k", KT::Number, "`proportional`: flow change per kelvin above the setpoint.")
          .range(0, 10).when("proportional")
          .member(&Scenario::facility, &F::proportional_controller, &facility::ProportionalController::gain_per_k),
      Key("facility.control.min_flow", KT::Number, "`proportional`: lowest flow multiplier.")
          .range(0.1, 3).when("proportional")
          .member(&Scenario::facility, &F::proportional_controller, &facility::ProportionalController::min_flow),
      Key("facility.control.max_flow", KT::Number, "`proportional`: highest flow multiplier; ≥ `min_flow`.")
          .range(0.1, 3).when("proportional")
          .member(&Scenario::facility, &F::proportional_controller, &facility::ProportionalController::max_flow),
      Key("facility.alerts", KT::Mapping,
          "Rule name → rule; replaces the built-in rule of that name (gpu_temperature_high, p99_latency_high, "
          "gpu_utilization_sustained) or adds one."),
      Key("facility.alerts.<name>.metric", KT::Choice, "What the rule watches.")
          .choices({"gpu_temperature_c", "p99_latency_s", "gpu_utilization"}).by_default(std::string("gpu_temperature_c")),
      Key("facility.alerts.<name>.op", KT::Choice, "Comparison with the threshold.")
          .choices({">", ">=", "<", "<="}).by_default(std::string(">")),
      Key("facility.alerts.<name>.threshold", KT::Number, "The value compared with.").by_default(0.0),
      Key("facility.alerts.<name>.for_s", KT::Number, "How long the comparison must hold before the alert fires.")
          .unit("s").range(0, kMaxSeconds).by_default(0.0),
      Key("facility.halls", KT::List, "1 hall (applied to all) or `datacenter.halls` entries, each {power, cooling}."),
      Key(hall + "design_it_kw", KT::Number, "Design IT load; none: the planned peak, Σ servers with GPUs at their power limit, CPUs and fans at full (at most the nameplate), + switches.")
          .unit("kW").range(1e-3, kMaxKw).nullable().member(&Scenario::facility, &F::halls, &HallSpec::design_it_kw),
      Key(hall + "power.ups_redundancy", KT::Number, "UPS capacity / design load (2 = 2N).")
          .range(1, 3).member(&Scenario::facility, &F::halls, &HallSpec::ups_redundancy),
      Key(hall + "power.ups.rated_kw", KT::Number, "Installed UPS capacity.")
          .unit("kW").range(1e-3, kMaxKw).nullable().computed("`ups_redundancy` × design IT kW"),
      Key(hall + "power.ups.no_load_loss", KT::Number, "Fraction of `rated_kw` lost even at zero load.")
          .range(0, 0.2).member(&Scenario::facility, &F::halls, &HallSpec::power, &facility::PowerChainModel::ups,
                                &facility::UpsModel::no_load_loss),
      Key(hall + "power.ups.proportional_loss", KT::Number, "Fraction of `rated_kw` lost at full load, linear in load.")
          .range(0, 0.2).member(&Scenario::facility, &F::halls, &HallSpec::power, &facility::PowerChainModel::ups,
                                &facility::UpsModel::proportional_loss),
      Key(hall + "power.ups.square_law_loss", KT::Number, "Fraction of `rated_kw` lost at full load, quadratic in load.")
          .range(0, 0.2).member(&Scenario::facility, &F::halls, &HallSpec::power, &facility::PowerChainModel::ups,
                                &facility::UpsModel::square_law_loss),
      Key(hall + "power.distribution_loss_ratio", KT::Number, "Transformers, PDUs and cabling: loss = IT·r/(1 − r).")
          .range(0, 0.2).member(&Scenario::facility, &F::halls, &HallSpec::power, &facility::PowerChainModel::distribution_loss_ratio),
      Key(hall + "power.lighting_other_ratio", KT::Number, "Lighting and other loads, as a share of IT.")
          .range(0, 0.2).member(&Scenario::facility, &F::halls, &HallSpec::power, &facility::PowerChainModel::lighting_other_ratio),
      Key(hall + "cooling.kind", KT::Choice, "The hall's cooling; sets the defaults of the keys below.")
          .choice_of<facility::CoolingKind>().knob()
          .member(&Scenario::facility, &F::halls, &HallSpec::cooling, &facility::CoolingPlant::kind),
      Key(hall + "cooling.air.plant", KT::Choice, "Room air plant: chilled-water CRAHs or DX CRACs.")
          .choice_of<facility::AirPlantKind>()
          .member(&Scenario::facility, &F::halls, &HallSpec::cooling, &facility::CoolingPlant::air, &AirHandling::plant),
  };
  // A number of one part of a hall's cooling plant (air, chiller), read with that part's default.
  auto plant_part = [&](std::string part, auto part_member) {
    return [&facility_keys, &hall, part, part_member](const char* name, auto member, const char* unit, double lo, double hi,
                                                     const char* meaning) {
      facility_keys.push_back(Key(hall + "cooling." + part + "." + name, KT::Number, meaning).unit(unit).range(lo, hi)
                                  .member(&Scenario::facility, &F::halls, &HallSpec::cooling, part_member, member));
    };
  };
  auto air = plant_part("air", &facility::CoolingPlant::air);
  air("supply_air_c", &AirHandling::supply_air_c, "°C", 10, 35, "Cold-aisle supply temperature.");
  air("air_delta_t_k", &AirHandling::air_delta_t_k, "K", 1, 30, "Return − supply at design airflow.");
  air("fan_pressure_pa", &AirHandling::fan_pressure_pa, "Pa", 0, 5000, "CRAH fan total pressure.");
  air("fan_efficiency", &AirHandling::fan_efficiency, "", 0.05, 1, "Fan + motor efficiency.");
  facility_keys.push_back(Key(hall + "cooling.air.variable_speed_fans", KT::Flag, "Fans follow the load (else sized for the design heat).")
                              .member(&Scenario::facility, &F::halls, &HallSpec::cooling, &facility::CoolingPlant::air,
                                      &AirHandling::variable_speed_fans));
  air("sensible_heat_ratio", &AirHandling::sensible_heat_ratio, "", 0.5, 1, "Latent load = sensible / SHR − sensible.");
  facility_keys.push_back(Key(hall + "cooling.chiller.unit_capacity_kw", KT::Number, "One chiller; none: two duty units sized for the design heat.")
                              .unit("kW").range(1e-3, kMaxKw).nullable().member(&Scenario::facility, &F::halls, &HallSpec::chiller_unit_capacity_kw));
  auto chiller = plant_part("chiller", &facility::CoolingPlant::chiller);
  chiller("min_part_load", &ChillerPlant::min_part_load, "", 0.01, 1, "Below this a chiller cycles.");
  chiller("cop_adjustment", &ChillerPlant::cop_adjustment, "", -0.5, 0.5, "Relative shift of the COP fit.");
  chiller("coil_effectiveness", &ChillerPlant::coil_effectiveness, "", 0.1, 1, "CRAH coil effectiveness.");
  chiller("chilled_water_delta_t_k", &ChillerPlant::chilled_water_delta_t_k, "K", 1, 20, "Chilled-water return − supply.");
  chiller("condenser_water_delta_t_k", &ChillerPlant::condenser_water_delta_t_k, "K", 1, 20, "Condenser-water return − supply.");
  chiller("tower_approach_k", &ChillerPlant::tower_approach_k, "K", 0.5, 15, "Tower leaving water − wet-bulb.");
  chiller("economizer_approach_k", &ChillerPlant::economizer_approach_k, "K", 0.5, 10, "Plate heat exchanger approach.");
  facility_keys.push_back(Key(hall + "cooling.chiller.waterside_economizer", KT::Flag, "Free cooling through the towers when the wet-bulb allows.")
                              .member(&Scenario::facility, &F::halls, &HallSpec::cooling, &facility::CoolingPlant::chiller,
                                      &ChillerPlant::waterside_economizer));
  chiller("pump_efficiency", &ChillerPlant::pump_efficiency, "", 0.05, 1, "Pump + motor efficiency.");
  auto liquid = [&](const char* name, double LiquidLoop::*m, const char* unit, double lo, double hi, const char* meaning) {
    facility_keys.push_back(Key(hall + "cooling.liquid." + name, KT::Number, meaning).unit(unit).range(lo, hi)
                                .when("direct_liquid, immersion").computed(liquid_default(m)));
  };
  liquid("capture_fraction", &LiquidLoop::capture_fraction, "fraction", 0, 1, "Share of IT heat taken by the liquid; the rest goes to room air.");
  liquid("supply_c", &LiquidLoop::supply_c, "°C", 5, 60, "Facility water to the CDUs or tanks.");
  liquid("delta_t_k", &LiquidLoop::delta_t_k, "K", 1, 30, "Return − supply.");
  liquid("pump_pressure_pa", &LiquidLoop::pump_pressure_pa, "Pa", 0, 2e6, "CDU secondary + facility primary loops together.");
  liquid("pump_efficiency", &LiquidLoop::pump_efficiency, "", 0.05, 1, "Pump + motor efficiency.");
  liquid("dry_cooler_approach_k", &LiquidLoop::dry_cooler_approach_k, "K", 0.5, 20, "Leaving water − outdoor dry-bulb.");
  liquid("dry_cooler_air_delta_t_k", &LiquidLoop::dry_cooler_air_delta_t_k, "K", 1, 30, "Dry-cooler air temperature rise.");

  const std::vector<Key> failure_and_cost_keys = {
      Key("facility.failures.mtbf_gpu_hours", KT::Number, "Mean time between failures per GPU, for `random`.")
          .unit("h").range(1, 1e12).member(&Scenario::facility, &F::failures, &FailureSpec::mtbf_gpu_hours),
      Key("facility.failures.random", KT::Flag, "Draw failures from the MTBF (exponential) during the run.")
          .member(&Scenario::facility, &F::failures, &FailureSpec::random),
      Key("facility.failures.repair_s", KT::Number, "Time until a failed node is replaced.")
          .unit("s").range(0, kMaxSeconds).member(&Scenario::facility, &F::failures, &FailureSpec::repair_s),
      Key("facility.failures.storage_gb_s", KT::Number, "Weight reload bandwidth per GPU.")
          .unit("GB/s").range(0.001, 1e6).member(&Scenario::facility, &F::failures, &FailureSpec::storage_gb_s),
      Key("facility.failures.process_start_s", KT::Number, "Container + CUDA context + engine warm-up before loading weights.")
          .unit("s").range(0, kMaxSeconds).member(&Scenario::facility, &F::failures, &FailureSpec::process_start_s),
      Key("facility.failures.retries", KT::Integer, "HAProxy `retries` with `option redispatch`.")
          .range(0, 10).member(&Scenario::facility, &F::failures, &FailureSpec::retries),
      Key("facility.failures.scripted", KT::List, "Failures at given times, each with exactly one of `replica` or `rack`."),
      Key("facility.failures.scripted[].at_s", KT::Number, "When it fails.").unit("s").range(0, kMaxSeconds).by_default(0.0),
      Key("facility.failures.scripted[].replica", KT::Integer, "The replica that fails, 0 … replicas − 1 (disaggregated: the prefill pool's first, then the decode pool's)."),
      Key("facility.failures.scripted[].rack", KT::Integer, "Or the rack whose replicas all fail, 0 … racks − 1."),

      Key("cost.currency", KT::Choice, "Currency of the report.").choice_of<cost::Currency>().knob().member(&Scenario::cost, &C::currency),
      Key("cost.exchange.hkd_per_usd", KT::Number, "Exchange rate.")
          .range(0.01, 1e4).member(&Scenario::cost, &C::exchange, &cost::ExchangeRates::hkd_per_usd),
      Key("cost.exchange.cny_per_usd", KT::Number, "Exchange rate.")
          .range(0.01, 1e4).member(&Scenario::cost, &C::exchange, &cost::ExchangeRates::cny_per_usd),
      Key("cost.years", KT::Number, "TCO horizon.").unit("years").range(0.1, 50).knob().member(&Scenario::cost, &C::years),
      Key("cost.amortization_years", KT::Number, "Capex spread over this many years.")
          .unit("years").range(0.1, 50).member(&Scenario::cost, &C::amortization_years),
      Key("cost.capex_total", KT::Money, "The whole purchase as one figure (a quote); none: built up from the items below.").range(0, kMaxMoney)
          .nullable().member(&Scenario::cost, &C::capex_total),
      Key("cost.gpu_price", KT::Money, "Per GPU; none: the catalog's `price_usd`.").range(0, kMaxMoney).nullable().member(&Scenario::cost, &C::gpu_price),
      Key("cost.server_price", KT::Money, "Per server without GPUs; none: the catalog's `price_usd`.").range(0, kMaxMoney)
          .nullable().member(&Scenario::cost, &C::server_price),
      Key("cost.network", KT::Money, "The whole network.").range(0, kMaxMoney).member(&Scenario::cost, &C::network),
      Key("cost.rack_price", KT::Money, "Per rack.").range(0, kMaxMoney).member(&Scenario::cost, &C::rack_price),
      Key("cost.cooling_plant_per_kw", KT::Money, "Cooling plant per kW of design IT load.").range(0, kMaxMoney).member(&Scenario::cost, &C::cooling_plant_per_kw),
      Key("cost.power_infrastructure_per_kw", KT::Money, "Power infrastructure per kW of design IT load.").range(0, kMaxMoney)
          .member(&Scenario::cost, &C::power_infrastructure_per_kw),
      Key("cost.tariff_per_kwh", KT::Money, "Electricity price.").range(0, kMaxMoney).knob().member(&Scenario::cost, &C::tariff_per_kwh),
      Key("cost.maintenance_fraction_per_year", KT::Number, "Yearly maintenance as a share of capex.")
          .range(0, 1).member(&Scenario::cost, &C::maintenance_fraction_per_year),
      Key("cost.space_per_rack_month", KT::Money, "Colocation space per rack and month.").range(0, kMaxMoney).member(&Scenario::cost, &C::space_per_rack_month),
      Key("cost.grid_kg_co2_per_kwh", KT::Number, "Grid carbon intensity.")
          .unit("kg/kWh").range(0, 2).member(&Scenario::cost, &C::grid_kg_co2_per_kwh),
      Key("cost.cloud.price_per_gpu_hour", KT::Money, "Cloud price compared for payback; `null`: none.").range(0, kMaxMoney)
          .nullable().member(&Scenario::cost, &C::cloud_price_per_gpu_hour),
      Key("cost.cloud.monthly", KT::Money, "A monthly cloud bill; replaces the per-GPU-hour price when set.").range(0, kMaxMoney)
          .nullable().member(&Scenario::cost, &C::cloud_monthly),
      Key("cost.payback_amortization_months", KT::Number, "The seed article's payback variant (docs/facility.md §8).")
          .unit("months").range(0, 600).member(&Scenario::cost, &C::payback_amortization_months),
  };
  keys.insert(keys.end(), facility_keys.begin(), facility_keys.end());
  keys.insert(keys.end(), failure_and_cost_keys.begin(), failure_and_cost_keys.end());
  add_pool_keys(keys, "prefill",
                "Prefill/decode disaggregation: the pool that prefills every prompt (docs/deepseek-scale.md). Either pool given "
                "makes the run disaggregated; each key not given is the deployment's (or datacenter's) own.");
  add_pool_keys(keys, "decode", "Prefill/decode disaggregation: the pool that receives each request's KV cache and generates its answer.");
  return keys;
}

// "workload.schedule.steps[2].at_s" -> "workload.schedule.steps[].at_s"
std::string without_indices(std::string_view path) {
  static const std::regex index(R"(\[[0-9]+\])");
  return std::regex_replace(std::string(path), index, "[]");
}

// The choice key whose words name a key's variants: a sibling, else one beside an enclosing mapping
// (cooling.liquid.* are selected by cooling.kind).
std::string selector_of(const SchemaKey& key, const std::vector<SchemaKey>& keys) {
  const std::string first_variant = key.when.substr(0, key.when.find(','));
  for (std::string parent = key.path; parent.find('.') != std::string::npos;) {
    parent = parent.substr(0, parent.rfind('.'));
    for (const SchemaKey& candidate : keys)
      if (candidate.path.rfind(parent + ".", 0) == 0 && candidate.path.find('.', parent.size() + 1) == std::string::npos &&
          std::find(candidate.choices.begin(), candidate.choices.end(), first_variant) != candidate.choices.end())
        return candidate.path;
  }
  throw std::logic_error("scenario key '" + key.path + "': no choice key offers '" + first_variant + "'");
}

}  // namespace

const std::vector<SchemaKey>& scenario_schema() {
  static const std::vector<SchemaKey> table = [] {
    const Scenario reference = reference_scenario();
    std::vector<SchemaKey> keys;
    for (const Key& key : scenario_keys()) keys.push_back(key.finish(reference));
    for (SchemaKey& key : keys)
      if (!key.when.empty()) key.when_key = selector_of(key, keys);
    return keys;
  }();
  return table;
}

const SchemaKey& schema_key(std::string_view path) {
  const std::string wanted = without_indices(path);
  for (const SchemaKey& key : scenario_schema())
    if (key.path == wanted) return key;
  throw std::logic_error("scenario key '" + wanted + "' is not in the schema table (sim/scenario/schema.cpp)");
}

namespace {

double number_default(const SchemaKey& k) {
  const double* value = std::get_if<double>(&k.default_value);
  if (!value) throw std::logic_error("scenario key '" + k.path + "' has no number default; pass one");
  return *value;
}

long long integer_bound(double bound, long long infinite) {
  return std::isinf(bound) ? infinite : static_cast<long long>(bound);
}

}  // namespace

double read_number(FieldReader& r, std::string_view key, const SchemaKey& entry) {
  return r.number(key, number_default(entry), entry.min, entry.max);
}
double read_number(FieldReader& r, std::string_view key) { return read_number(r, key, schema_key(r.path_of(key))); }
double read_number(FieldReader& r, std::string_view key, double fallback) {
  const SchemaKey& k = schema_key(r.path_of(key));
  return r.number(key, fallback, k.min, k.max);
}
std::optional<double> read_optional_number(FieldReader& r, std::string_view key) {
  const SchemaKey& k = schema_key(r.path_of(key));
  return r.optional_number(key, k.min, k.max);
}
long long read_integer(FieldReader& r, std::string_view key, long long fallback) {
  const SchemaKey& k = schema_key(r.path_of(key));
  return r.integer(key, fallback, integer_bound(k.min, std::numeric_limits<long long>::min()),
                   integer_bound(k.max, std::numeric_limits<long long>::max()));
}
long long read_integer(FieldReader& r, std::string_view key) {
  return read_integer(r, key, static_cast<long long>(number_default(schema_key(r.path_of(key)))));
}
bool read_flag(FieldReader& r, std::string_view key) {
  const SchemaKey& k = schema_key(r.path_of(key));
  return r.flag(key, std::get<bool>(k.default_value));
}
std::string read_text(FieldReader& r, std::string_view key) { return r.text(key, to_text(schema_key(r.path_of(key)).default_value)); }
std::string read_choice(FieldReader& r, std::string_view key, const SchemaKey& entry) {
  return r.choice(key, to_text(entry.default_value), entry.choices);
}
std::string read_choice(FieldReader& r, std::string_view key) { return read_choice(r, key, schema_key(r.path_of(key))); }

// ---- aidc schema ----

std::string schema_json() {
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (const SchemaKey& k : scenario_schema()) {
    nlohmann::ordered_json key;
    key["path"] = k.path;
    key["type"] = to_string(k.type);
    key["unit"] = k.unit;
    if (const double* number = std::get_if<double>(&k.default_value))
      key["default"] = *number;
    else if (const bool* flag = std::get_if<bool>(&k.default_value))
      key["default"] = *flag;
    else if (const std::string* text = std::get_if<std::string>(&k.default_value))
      key["default"] = *text;
    else
      key["default"] = nullptr;
    key["default_note"] = k.default_note;
    key["min"] = std::isinf(k.min) ? nlohmann::ordered_json() : nlohmann::ordered_json(k.min);
    key["max"] = std::isinf(k.max) ? nlohmann::ordered_json() : nlohmann::ordered_json(k.max);
    key["choices"] = k.choices;
    key["catalog"] = k.catalog;
    key["nullable"] = k.nullable;
    key["when"] = k.when;
    key["when_key"] = k.when_key;
    key["knob"] = k.knob;
    key["meaning"] = k.meaning;
    keys.push_back(std::move(key));
  }
  nlohmann::ordered_json doc;
  doc["format"] = "aidc-schema/1";
  doc["keys"] = std::move(keys);
  return doc.dump(1) + "\n";
}

namespace {

std::string code(const std::string& text) { return text.empty() ? "" : "`" + text + "`"; }

std::string type_cell(const SchemaKey& k) {
  std::string type(to_string(k.type));
  if (k.nullable) type += " or `null`";
  return type;
}

std::string default_cell(const SchemaKey& k) {
  std::string cell;
  if (!std::holds_alternative<std::monostate>(k.default_value))
    cell = k.type == KeyType::Number || k.type == KeyType::Integer || k.type == KeyType::Length ? to_text(k.default_value)
                                                                                                  : code(to_text(k.default_value));
  if (!k.default_note.empty()) cell += (cell.empty() ? "" : "; ") + k.default_note;
  const bool container = k.type == KeyType::Mapping || k.type == KeyType::List;
  return cell.empty() && !container ? "none" : cell;
}

std::string range_cell(const SchemaKey& k) {
  if (!k.choices.empty()) {
    std::string cell;
    for (const std::string& choice : k.choices) cell += (cell.empty() ? "" : ", ") + code(choice);
    return cell;
  }
  if (!k.catalog.empty()) return "an id in `scenarios/catalog/" + k.catalog + "`";
  const bool low = !std::isinf(k.min), high = !std::isinf(k.max);
  if (low && high) return "[" + format_number(k.min) + ", " + format_number(k.max) + "]";
  if (low) return std::string("≥ ").append(format_number(k.min));
  if (high) return std::string("≤ ").append(format_number(k.max));
  return "";
}

std::string escape_cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// The table of the keys under `prefix` ("." = top level) that no other block claims.
std::string markdown_block(const std::string& prefix, const std::vector<std::string>& blocks) {
  const std::string under = prefix == "." ? "" : prefix + ".";
  auto claimed_by = [&](const std::string& path) {  // the longest block prefix of the path
    std::string best = ".";
    for (const std::string& block : blocks)
      if (block != "." && path.rfind(block + ".", 0) == 0 && (best == "." || block.size() > best.size())) best = block;
    return best;
  };
  std::string table =
      "| key | type | unit | default | range / values | applies to | meaning |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const SchemaKey& k : scenario_schema()) {
    if (k.path.rfind(under, 0) != 0 || claimed_by(k.path) != prefix) continue;
    table += "| " + code(k.path.substr(under.size())) + " | " + type_cell(k) + " | " + k.unit + " | " +
             escape_cell(default_cell(k)) + " | " + escape_cell(range_cell(k)) + " | " + k.when + " | " +
             escape_cell(k.meaning) + " |\n";
  }
  return table;
}

}  // namespace

std::string update_schema_blocks(const std::string& doc) {
  static const std::regex block(R"(<!-- schema: (\S+) -->\n[\s\S]*?<!-- /schema -->)");
  std::vector<std::string> prefixes;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), block); it != std::sregex_iterator(); ++it)
    prefixes.push_back((*it)[1].str());
  std::string out;
  std::size_t last = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), block); it != std::sregex_iterator(); ++it) {
    const std::string prefix = (*it)[1].str();
    out += doc.substr(last, it->position() - last);
    out += "<!-- schema: " + prefix + " -->\n" + markdown_block(prefix, prefixes) + "<!-- /schema -->";
    last = it->position() + it->length();
  }
  return out + doc.substr(last);
}

}  // namespace aidc
