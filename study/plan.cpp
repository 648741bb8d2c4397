// aidc plan: the deployment that meets the SLOs at the scenario's load with the best objective.
// Candidates are (GPU, server type, precision, replica layout, batch limit), the layout tensor parallel
// inside a server or, for a model that needs it, spanning servers, or a prefill pool and a decode pool
// bought in units of their throughput ratio (add_layouts); a candidate the
// analytic capacity model shows cannot meet the SLOs at any size is skipped with the limit that
// binds. For each other candidate the fewest servers meeting the SLOs is found by bisection over the
// sizes it can be built in (whole servers in whole, evenly filled racks), since latency only improves
// as servers are added; a size whose cost cannot beat the best plan found so far is pruned.
#include "study/plan.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <tuple>

#include "common/atomic_file.hpp"
#include "common/exit_codes.hpp"
#include "common/input_error.hpp"
#include "common/paths.hpp"
#include "cost/tco.hpp"
#include "perf/capacity.hpp"
#include "perf/model_factory.hpp"
#include "perf/pool_throughput.hpp"
#include "platform/layout.hpp"
#include "scenario/loader.hpp"
#include "scenario/schema.hpp"

namespace aidc::study {
namespace {

using nlohmann::ordered_json;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kRackUnits = 42;  // a full-height EIA-310 rack

std::string format(const char* pattern, double value) {
  char text[160];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}
std::string ms(double seconds) { return format("%.1f ms", seconds * 1000); }
// The percentile the SLO bounds and each run reports its latencies at: "p90".
std::string slo_percentile_name(const SloSpec& slo) { return format("p%g", slo.percentile); }

// How n servers stand: in the fewest racks that hold them evenly, those racks in rows within the
// schema's limits (one hall).
struct Layout {
  int servers = 0, racks = 0, rows = 0, racks_per_row = 0, servers_per_rack = 0;
};

std::optional<Layout> layout_of(int servers, int most_per_rack) {
  const int racks = (servers + most_per_rack - 1) / most_per_rack;
  if (servers % racks != 0) return std::nullopt;  // the racks would not be evenly filled
  const auto max_rows = static_cast<int>(schema_key("datacenter.rows_per_hall").max);
  const auto max_per_row = static_cast<int>(schema_key("datacenter.racks_per_row").max);
  for (int rows = 1; rows <= std::min(racks, max_rows); ++rows)
    if (racks % rows == 0 && racks / rows <= max_per_row) return Layout{servers, racks, rows, racks / rows, servers / racks};
  return std::nullopt;
}

// tp4 (inside a server), pp2-tp8 (pipeline stages across servers), ep16 / ep24-r8 / ep32-dbo (expert
// parallel with data-parallel attention, with redundant experts, with dual micro-batch overlap)
std::string layout_name(const DeploymentSpec& p) {
  if (p.data_parallel_attention)
    return "ep" + std::to_string(p.expert_parallel) + (p.tensor_parallel > 1 ? "-tp" + std::to_string(p.tensor_parallel) : "") +
           (p.redundant_experts > 0 ? "-r" + std::to_string(p.redundant_experts) : "") + (p.overlap_communication ? "-dbo" : "");
  return (p.pipeline_parallel > 1 ? "pp" + std::to_string(p.pipeline_parallel) + "-" : "") + "tp" + std::to_string(p.tensor_parallel);
}

// A disaggregated candidate's unit: prefill replicas of the candidate's layout and decode replicas of
// `decode`, each on whole servers of their own, in the ratio of the pools' throughputs (size_pools).
struct PoolUnit {
  DeploymentSpec decode;
  std::string decode_layout;  // `decode` in words (layout_text)
  int prefill_replicas = 1, decode_replicas = 1;
};

// A candidate is one replica layout of one GPU and server type at one precision and batch limit, bought
// in whole units: one replica, or, disaggregated, one PoolUnit. `parallel` holds only the layout keys
// (tensor, pipeline and expert parallelism, data-parallel attention, redundant experts) of the replicas,
// or of the prefill pool's; the run takes its other deployment keys from the scenario.
struct Candidate {
  std::string gpu, server_type, precision;
  DeploymentSpec parallel;
  std::string layout;  // `parallel` in words (layout_text)
  int max_batch_sequences = 256, max_batch_tokens = 8192, gpus_per_server = 8;  // per attention group
  double estimated_units = 1;  // analytic, from the capacity model or the pools' throughputs
  std::vector<Layout> sizes;   // the sizes it can be built in, smallest first, within --max-gpus
  std::optional<PoolUnit> pools;  // disaggregated
  int gpus_per_replica() const { return parallel.gpus_per_replica(); }
  int servers_per_replica() const { return servers_of(parallel); }
  int servers_of(const DeploymentSpec& p) const { return std::max(1, p.gpus_per_replica() / gpus_per_server); }
  int servers_per_unit() const {
    return pools ? pools->prefill_replicas * servers_of(parallel) + pools->decode_replicas * servers_of(pools->decode) : servers_per_replica();
  }
  double gpus_per_unit() const { return pools ? servers_per_unit() * gpus_per_server : gpus_per_replica(); }
  std::string layout_name() const {
    if (!pools) return aidc::study::layout_name(parallel);
    return "pd-" + std::to_string(pools->prefill_replicas) + "x" + aidc::study::layout_name(parallel) + "-" +
           std::to_string(pools->decode_replicas) + "x" + aidc::study::layout_name(pools->decode);
  }
  std::string label() const {
    return gpu + "/" + server_type + "/" + precision + "/" + layout_name() + "/b" + std::to_string(max_batch_sequences);
  }
  // The replicas that decode: all of them, or the decode pool's; and the prefill pool's.
  int replicas(const Layout& l) const {
    return pools ? l.servers / servers_per_unit() * pools->decode_replicas : l.servers * gpus_per_server / gpus_per_replica();
  }
  int prefill_replicas(const Layout& l) const { return pools ? l.servers / servers_per_unit() * pools->prefill_replicas : 0; }
  const DeploymentSpec& decode_parallel() const { return pools ? pools->decode : parallel; }
  // With data-parallel attention each attention group runs its own batch (DeepSeek's DP ranks), so the
  // batch limits hold per group and the replica's are that many times larger, within the schema's range.
  int replica_batch_sequences(const DeploymentSpec& p) const { return replica_limit("deployment.max_batch_sequences", max_batch_sequences, p); }
  int replica_batch_tokens(const DeploymentSpec& p) const { return replica_limit("deployment.max_batch_tokens", max_batch_tokens, p); }
  int replica_batch_sequences() const { return replica_batch_sequences(decode_parallel()); }
  int replica_batch_tokens() const { return replica_batch_tokens(decode_parallel()); }

 private:
  static int replica_limit(const char* key, int per_group, const DeploymentSpec& p) {
    return static_cast<int>(std::min<double>(schema_key(key).max, 1.0 * per_group * p.attention_groups()));
  }
};

// One run of one size of a candidate, with what its summary.json says.
struct Evaluation {
  Candidate candidate;
  Layout layout;
  std::string status;  // ok | bad_input | failed
  bool has_data = false, slo_met = false, within_margin = false, within_budget = true;
  bool n_plus_one = false;  // this size is one server more than the fewest that meet the SLOs
  double ttft_p = 0, tpot_p = 0, e2e_p = 0;
  double capex = 0, opex_per_year = 0, tco = 0, per_mtok_output = kInf, per_mtok_tokens = kInf;
  double cloud_monthly = 0, api_monthly = 0, input_tps = 0, output_tps = 0;
  std::optional<double> payback_cloud_months, payback_api_months;
  double it_kw_peak = 0, facility_kw_mean = 0, pue = 0;
  std::string currency;
  struct PoolCost {
    int servers = 0, gpus = 0;
    double capex = 0, opex_per_year = 0, tco = 0, per_mtok_output = kInf;
  };
  std::optional<std::array<PoolCost, 2>> pool_costs;  // disaggregated: summary.json cost.pools.prefill, .decode
  int gpus() const { return layout.servers * candidate.gpus_per_server; }
  bool meets() const { return status == "ok" && has_data && slo_met && within_margin && within_budget; }
  std::string verdict() const {
    if (status != "ok") return status;
    if (!has_data) return "no data";
    if (!slo_met) return "misses SLO";
    if (!within_margin) return "within SLO, not margin";
    if (!within_budget) return "over budget";
    return "meets SLO";
  }
  std::string name() const {
    return candidate.gpu + "-" + candidate.server_type + "-" + candidate.precision + "-" + candidate.layout_name() + "-b" +
           std::to_string(candidate.max_batch_sequences) + "-s" + std::to_string(layout.servers);
  }
};

double objective_of(const Evaluation& e, const std::string& objective) {
  if (objective == "capex") return e.capex;
  if (objective == "cost_per_mtok") return e.per_mtok_output;
  if (objective == "kw") return e.facility_kw_mean;
  return e.tco;
}

// The layout keys of one kind of replica under `prefix` ("deployment." or a pool's "deployment.prefill.").
void add_layout_keys(std::vector<std::string>& o, const std::string& prefix, const Candidate& c, const DeploymentSpec& p, int replicas) {
  for (const std::string& s : std::vector<std::string>{
           "tensor_parallel=" + std::to_string(p.tensor_parallel), "pipeline_parallel=" + std::to_string(p.pipeline_parallel),
           "expert_parallel=" + std::to_string(p.expert_parallel),
           "data_parallel_attention=" + std::string(p.data_parallel_attention ? "true" : "false"),
           "redundant_experts=" + std::to_string(p.redundant_experts),
           "overlap_communication=" + std::string(p.overlap_communication ? "true" : "false"), "replicas=" + std::to_string(replicas),
           "max_batch_sequences=" + std::to_string(c.replica_batch_sequences(p)),
           "max_batch_tokens=" + std::to_string(c.replica_batch_tokens(p))})
    o.push_back(prefix + s);
}

std::vector<std::string> overrides_for(const Candidate& c, const Layout& l, const std::vector<std::string>& base) {
  auto o = base;
  for (const std::string& s : std::vector<std::string>{
           "datacenter.gpu=" + c.gpu, "datacenter.server_type=" + c.server_type, "datacenter.halls=1",
           "datacenter.rows_per_hall=" + std::to_string(l.rows), "datacenter.racks_per_row=" + std::to_string(l.racks_per_row),
           "datacenter.servers_per_rack=" + std::to_string(l.servers_per_rack), "deployment.precision=" + c.precision})
    o.push_back(s);
  if (!c.pools) {
    add_layout_keys(o, "deployment.", c, c.parallel, c.replicas(l));
    return o;
  }
  add_layout_keys(o, "deployment.prefill.", c, c.parallel, c.prefill_replicas(l));
  add_layout_keys(o, "deployment.decode.", c, c.pools->decode, c.replicas(l));
  return o;
}

struct Skipped {
  std::string candidate, reason;
};

class Planner {
 public:
  Planner(const PlanOptions& options, const Catalog& catalog, const Scenario& base, RunExecutor& executor)
      : options_(options), catalog_(catalog), base_(base), model_(*catalog.model(base.deployment.model)), executor_(executor),
        cost_(base.cost.value_or(CostSpec{})), tighten_(1 - options.margin.value_or(0)), percentile_(slo_percentile_name(base.slo)) {
    // Every run reports money and power: a scenario without `cost:` gets its defaults.
    run_overrides_ = options.overrides;
    if (!base.cost) run_overrides_.push_back("cost.currency=" + std::string(cost::currency_code(cost_.currency)));
  }

  std::string cooling_kind() const {
    const auto kind = base_.facility ? base_.facility->halls.front().cooling.kind : facility::CoolingKind::Air;
    return schema_key("facility.halls[].cooling.kind").choices.at(static_cast<int>(kind));
  }
  double rack_kw() const { return options_.rack_kw.value_or(default_rack_kw(cooling_kind())); }

  std::vector<Candidate> candidates() {
    std::vector<Candidate> out;
    const auto gpus = options_.gpus.empty() ? catalog_.gpu_ids() : options_.gpus;
    const auto& precision_names = schema_key("deployment.precision").choices;
    const std::vector<std::string> precisions =
        options_.precisions.empty() ? std::vector<std::string>{precision_names.at(static_cast<int>(base_.deployment.precision))}
                                    : options_.precisions;
    for (const auto& p : precisions)
      if (std::find(precision_names.begin(), precision_names.end(), p) == precision_names.end())
        throw_input_error({"--precisions", 0, 0}, "", "unknown precision '" + p + "'");
    const std::vector<int> batches = options_.max_batch_sequences.empty() ? std::vector<int>{base_.deployment.max_batch_sequences}
                                                                          : options_.max_batch_sequences;
    for (const auto& server_id : options_.server_types)
      if (!catalog_.server(server_id)) throw_input_error({"--servers", 0, 0}, "", "unknown server type '" + server_id + "'");
    for (const auto& gpu_id : gpus) {
      const GpuSpec* gpu = catalog_.gpu(gpu_id);
      if (!gpu) throw_input_error({"--gpus", 0, 0}, "", "unknown GPU '" + gpu_id + "'");
      const auto servers = options_.server_types.empty() ? catalog_.server_ids() : options_.server_types;
      for (const auto& server_id : servers) {
        const ServerSpec& server = *catalog_.server(server_id);
        if (const std::string why = server.refusal(*gpu); !why.empty()) {
          if (!options_.server_types.empty()) skip(gpu_id + "/" + server_id, why);
          continue;
        }
        const double server_kw = server.max_power_w / 1000;
        const int per_rack = std::min(static_cast<int>(rack_kw() / server_kw), kRackUnits / server.rack_units);
        const int max_servers = options_.max_gpus / server.gpus_per_server;
        if (per_rack < 1) {
          skip(gpu_id + "/" + server_id, format("the server draws %.1f kW at nameplate, above the ", server_kw) +
                                            format("%.1f kW rack limit", rack_kw()));
          continue;
        }
        if (max_servers < 1) {
          skip(gpu_id + "/" + server_id, "one server holds " + std::to_string(server.gpus_per_server) +
                                            " GPUs, above --max-gpus " + std::to_string(options_.max_gpus));
          continue;
        }
        std::vector<Layout> sizes;
        for (int n = 1; n <= max_servers; ++n)
          if (const auto l = layout_of(n, per_rack)) sizes.push_back(*l);
        largest_size_ = std::max(largest_size_, sizes.empty() ? 0 : sizes.back().servers * server.gpus_per_server);
        for (const auto& precision : precisions) {
          const auto index = std::find(precision_names.begin(), precision_names.end(), precision) - precision_names.begin();
          if (const std::string why = weight_precision_refusal(static_cast<Precision>(index), *gpu); !why.empty()) {
            skip(gpu_id + "/" + server_id + "/" + precision, why);
            continue;
          }
          for (int batch : batches) add_layouts({gpu_id, server_id, precision, {}, "", batch, base_.deployment.max_batch_tokens, server.gpus_per_server, 1, {}, {}},
                                               sizes, out);
        }
      }
    }
    // Cheapest-looking first, so pruning bites early.
    std::sort(out.begin(), out.end(), [&](const Candidate& a, const Candidate& b) {
      return lower_bound(a, first_size_at_least(a, estimated_servers(a))) < lower_bound(b, first_size_at_least(b, estimated_servers(b)));
    });
    return out;
  }

  void search(const std::vector<Candidate>& candidates) {
    for_each_parallel(candidates.size(), executor_.slots(), [&](std::size_t i) { bisect(candidates[i]); });
  }

  const std::vector<Evaluation>& evaluations() const { return evaluations_; }
  const std::vector<Evaluation>& plans() const { return plans_; }
  const std::vector<Skipped>& skipped() const { return skipped_; }
  const std::vector<Skipped>& pruned() const { return pruned_; }
  int largest_size() const { return largest_size_; }
  const std::vector<std::string>& run_overrides() const { return run_overrides_; }

  // Why no candidate remained: the limits that bound, the tightest first.
  std::string why_none() const {
    std::string why;
    if (fastest_decode_.seconds < kInf && base_.slo.tpot_s && fastest_decode_.seconds > tighten_ * *base_.slo.tpot_s)
      why = "TPOT " + ms(*base_.slo.tpot_s) + (options_.margin.value_or(0) > 0 ? format(" (%.0f%% margin: ", 100 * *options_.margin) + ms(tighten_ * *base_.slo.tpot_s) + ")" : "") +
            " is below the fastest decode step of any candidate: " + ms(fastest_decode_.seconds) + " on " + fastest_decode_.where +
            " at batch 1";
    else if (fastest_prefill_.seconds < kInf && base_.slo.ttft_s && fastest_prefill_.seconds > tighten_ * *base_.slo.ttft_s)
      why = "TTFT " + ms(*base_.slo.ttft_s) + " is below the prefill of one mean prompt on any candidate: " +
            ms(fastest_prefill_.seconds) + " on " + fastest_prefill_.where;
    else if (!skipped_.empty())
      why = "every candidate was skipped (see the list above)";
    return why;
  }

 private:
  void skip(const std::string& candidate, const std::string& reason) {
    std::lock_guard lock(mutex_);
    skipped_.push_back({candidate, reason});
  }

  // The replica layouts of one GPU, server type, precision and batch limit (docs/plan.md, "Layouts"):
  //  - tensor parallel inside a server: 1, 2, 4, … up to the server's GPUs;
  //  - for a MoE model, expert parallel with data-parallel attention (attention groups of one GPU, as
  //    DeepSeek's DP32 and DP144) over 1, 2, 4, … whole servers: EP = the replica's GPUs, at most one
  //    routed expert per GPU, with the fewest redundant experts (no fewer than the scenario's) that make
  //    the experts split evenly;
  //  - pipeline stages of one whole server each, over the fewest of 2, 4, … servers that hold the model,
  //    only where no layout inside one server remained: stages add KV room, not speed
  //    (docs/deepseek-scale.md);
  //  - disaggregated (--layouts, by default where no layout inside one server remained): a prefill pool
  //    and a decode pool, each of one layout on whole servers (the EP family above for a MoE model; TP
  //    over a server, or 2 or 4 pipeline stages, for a dense one), the decode pool's at least as wide as
  //    the prefill pool's (DeepSeek: EP32 prefill, EP144 decode).
  // A family across servers stops at the first replica above --max-gpus, which is reported.
  void add_layouts(const Candidate& shape, const std::vector<Layout>& sizes, std::vector<Candidate>& out) {
    const int per_server = shape.gpus_per_server;
    const bool colocated = options_.layouts.empty() || wants("colocated");
    bool inside_a_server = false;
    for (int tp = 1; colocated && tp <= per_server; tp *= 2) {
      DeploymentSpec parallel;
      parallel.tensor_parallel = tp;
      inside_a_server = add(shape, parallel, sizes, out) || inside_a_server;
    }
    std::vector<DeploymentSpec> pool_layouts;  // on whole servers
    const int experts = model_.moe.n_routed_experts;
    for (int servers = 1; model_.is_moe() && servers * per_server <= experts; servers *= 2) {
      if (servers * per_server < 2) continue;  // one GPU is not expert parallel
      DeploymentSpec parallel;
      parallel.data_parallel_attention = true;
      parallel.expert_parallel = servers * per_server;
      const int per_gpu = (experts + base_.deployment.redundant_experts + parallel.expert_parallel - 1) / parallel.expert_parallel;
      parallel.redundant_experts = per_gpu * parallel.expert_parallel - experts;
      if (above_max_gpus(shape, parallel)) break;
      // Overlap costs a second read of the weights per step (docs/deepseek-scale.md): where the scenario
      // asks for it, the same layout without it is a candidate too.
      for (const bool overlap : base_.deployment.overlap_communication ? std::vector<bool>{true, false} : std::vector<bool>{false}) {
        DeploymentSpec variant = parallel;
        variant.overlap_communication = overlap;
        pool_layouts.push_back(variant);
        if (colocated) inside_a_server = (add(shape, variant, sizes, out) && servers == 1) || inside_a_server;
      }
    }
    bool held = inside_a_server || !colocated;
    for (int stages = 2; !held && stages <= model_.layers; stages *= 2) {
      DeploymentSpec parallel;
      parallel.tensor_parallel = per_server;
      parallel.pipeline_parallel = stages;
      if (above_max_gpus(shape, parallel)) break;
      held = add(shape, parallel, sizes, out);
    }
    if (!(wants("disaggregated") || (options_.layouts.empty() && !inside_a_server))) return;
    for (int stages = 1; !model_.is_moe() && stages <= std::min(4, model_.layers); stages *= 2) {
      DeploymentSpec parallel;
      parallel.tensor_parallel = per_server;
      parallel.pipeline_parallel = stages;
      if (parallel.gpus_per_replica() > options_.max_gpus) break;
      pool_layouts.push_back(parallel);
    }
    for (const DeploymentSpec& prefill : pool_layouts)
      for (const DeploymentSpec& decode : pool_layouts)
        if (decode.gpus_per_replica() >= prefill.gpus_per_replica()) add_pools(shape, prefill, decode, sizes, out);
  }

  bool wants(const char* layouts) const {
    return std::find(options_.layouts.begin(), options_.layouts.end(), layouts) != options_.layouts.end();
  }

  bool above_max_gpus(Candidate c, const DeploymentSpec& parallel) {
    c.parallel = parallel;
    if (c.gpus_per_replica() <= options_.max_gpus) return false;
    skip(c.label(), "a replica of " + std::to_string(c.gpus_per_replica()) + " GPUs (" + std::to_string(c.servers_per_replica()) +
                        " servers) is above --max-gpus " + std::to_string(options_.max_gpus) + ", and so are the larger ones of its kind");
    return true;
  }

  // The sizes a candidate's unit fills whole.
  static std::vector<Layout> whole_units(const Candidate& c, const std::vector<Layout>& sizes) {
    std::vector<Layout> out;
    for (const Layout& l : sizes)
      if (l.servers % c.servers_per_unit() == 0) out.push_back(l);
    return out;
  }

  // A candidate of this layout, built in whole replicas, unless the loader or the capacity model rules it out.
  bool add(Candidate c, const DeploymentSpec& parallel, const std::vector<Layout>& sizes, std::vector<Candidate>& out) {
    c.parallel = parallel;
    c.layout = layout_text(parallel, *catalog_.server(c.server_type));
    c.sizes = whole_units(c, sizes);
    if (!estimate(c)) return false;
    out.push_back(c);
    return true;
  }

  // A disaggregated candidate: its unit's ratio from the pools' throughputs, bought in whole units.
  void add_pools(Candidate c, const DeploymentSpec& prefill, const DeploymentSpec& decode, const std::vector<Layout>& sizes,
                 std::vector<Candidate>& out) {
    const ServerSpec& server = *catalog_.server(c.server_type);
    c.parallel = prefill;
    c.layout = layout_text(prefill, server);
    c.pools = PoolUnit{decode, layout_text(decode, server), 1, 1};
    if (c.gpus_per_unit() > options_.max_gpus) {
      skip(c.label(), "one prefill and one decode replica, " + std::to_string(c.servers_per_unit()) + " servers, are above --max-gpus " +
                          std::to_string(options_.max_gpus));
      return;
    }
    c.sizes = whole_units(c, sizes);
    if (!estimate_pools(c)) return;
    c.sizes = whole_units(c, sizes);
    if (c.sizes.empty()) {
      skip(c.label(), "a unit of " + std::to_string(c.servers_per_unit()) + " servers (the pools' throughput ratio) fills no size within --max-gpus " +
                          std::to_string(options_.max_gpus) + " in whole racks");
      return;
    }
    out.push_back(c);
  }

  // The pools' analytic sizes at the offered load (size_pools: prefill replicas for the input tokens,
  // decode replicas for the output tokens within the TPOT bound), reduced to a unit of one replica of
  // the smaller pool and the nearest whole number of the larger's; false (reason recorded) when a pool
  // cannot meet its bound at any size.
  bool estimate_pools(Candidate& c) {
    if (c.sizes.empty()) {
      skip(c.label(), "no size within --max-gpus fills whole racks");
      return false;
    }
    try {
      const Scenario s = read_scenario(resolve_scenario_tree(base_.source_file, overrides_for(c, c.sizes.front(), options_.overrides)),
                                       base_.source_file, catalog_);
      const PoolSpec& prefill = s.disaggregation->prefill;
      const PoolSpec& decode = s.disaggregation->decode;
      const auto prefill_model = make_pool_performance_model(s, catalog_, prefill);
      const auto decode_model = make_pool_performance_model(s, catalog_, decode);
      const double prompt = mean_length(s.workload.prompt_tokens), output = mean_length(s.workload.output_tokens);
      const double tpot = s.slo.tpot_s ? tighten_ * *s.slo.tpot_s : kInf;
      DeploymentSpec one_sequence = decode.deployment;
      one_sequence.max_batch_sequences = 1;
      const double decode_floor =
          decode_throughput(*decode_model, one_sequence, decode.memory, prompt + output / 2, prompt + output, kInf).step_s;
      note_floor(fastest_decode_, decode_floor, c);
      if (decode_floor > tpot) {
        skip(c.label(), "TPOT bound " + ms(tpot) + " is below the decode pool's fastest step, " + ms(decode_floor) + " at batch 1");
        return false;
      }
      DeploymentSpec one_prompt = prefill.deployment;
      one_prompt.max_batch_tokens = static_cast<int>(prompt);
      const double prefill_floor = prompt / prefill_tokens_per_s(*prefill_model, one_prompt, prompt);
      note_floor(fastest_prefill_, prefill_floor, c);
      if (s.slo.ttft_s && prefill_floor > tighten_ * *s.slo.ttft_s) {
        skip(c.label(), "TTFT bound " + ms(tighten_ * *s.slo.ttft_s) + " is below the prefill pool's prefill of one mean prompt, " +
                            ms(prefill_floor));
        return false;
      }
      const DecodeThroughput decoding = decode_throughput(*decode_model, decode.deployment, decode.memory, prompt + output / 2, prompt + output, tpot);
      const PoolSizes need = size_pools(peak_offered_rate(s.workload), prompt, output,
                                        prefill_tokens_per_s(*prefill_model, prefill.deployment, prompt), decoding);
      const int p = std::max(1, need.prefill_replicas), d = std::max(1, need.decode_replicas);
      c.pools->prefill_replicas = p >= d ? static_cast<int>(std::lround(double(p) / d)) : 1;
      c.pools->decode_replicas = p >= d ? 1 : static_cast<int>(std::lround(double(d) / p));
      c.estimated_units = std::max(std::ceil(double(p) / c.pools->prefill_replicas), std::ceil(double(d) / c.pools->decode_replicas));
      return true;
    } catch (const InputErrors& e) {  // a pool does not fit memory, ...
      const InputError& first = e.errors().front();
      skip(c.label(), (first.key_path.empty() ? "" : first.key_path + ": ") + first.message);
      return false;
    }
  }

  // Fills the analytic replica estimate; false (with the reason recorded) when the candidate cannot
  // meet the SLOs at any size.
  bool estimate(Candidate& c) {
    if (c.sizes.empty()) {
      skip(c.label(), "no size within --max-gpus fills whole racks");
      return false;
    }
    try {
      Scenario s = read_scenario(resolve_scenario_tree(base_.source_file, overrides_for(c, c.sizes.front(), options_.overrides)),
                                 base_.source_file, catalog_);
      const auto performance = make_performance_model(s, catalog_);
      const double offered = peak_offered_rate(s.workload);
      const CapacityEstimate cap = estimate_capacity(s, *performance, offered);
      note_floor(fastest_decode_, cap.decode_step_s_at_batch_1, c);
      if (s.slo.tpot_s && cap.decode_step_s_at_batch_1 > tighten_ * *s.slo.tpot_s) {
        skip(c.label(), "TPOT bound " + ms(tighten_ * *s.slo.tpot_s) + " is below its fastest decode step, " +
                            ms(cap.decode_step_s_at_batch_1) + " at batch 1");
        return false;
      }
      note_floor(fastest_prefill_, cap.prefill_s_mean_prompt, c);
      if (s.slo.ttft_s && cap.prefill_s_mean_prompt > tighten_ * *s.slo.ttft_s) {
        skip(c.label(), "TTFT bound " + ms(tighten_ * *s.slo.ttft_s) + " is below the prefill of one mean prompt, " +
                            ms(cap.prefill_s_mean_prompt));
        return false;
      }
      if (cap.replica_requests_per_s <= 0) {
        skip(c.label(), "the analytic capacity model finds no batch that meets the SLOs");
        return false;
      }
      c.estimated_units = std::max(1.0, std::ceil(offered / cap.replica_requests_per_s));
      return true;
    } catch (const InputErrors& e) {  // does not fit memory, TP does not divide the heads, no fp8 units, ...
      const InputError& first = e.errors().front();
      skip(c.label(), (first.key_path.empty() ? "" : first.key_path + ": ") + first.message);
      return false;
    }
  }

  struct Floor {
    double seconds = kInf;
    std::string where;
  };
  void note_floor(Floor& floor, double seconds, const Candidate& c) {
    if (seconds > 0 && seconds < floor.seconds)
      floor = {seconds, c.gpu + " (" + c.precision + ", " + c.layout + ")"};
  }

  int estimated_servers(const Candidate& c) const {
    return static_cast<int>(std::ceil(c.estimated_units * c.gpus_per_unit() / c.gpus_per_server));
  }
  std::size_t first_size_at_least(const Candidate& c, int servers) const {
    std::size_t i = 0;
    while (i + 1 < c.sizes.size() && c.sizes[i].servers < servers) ++i;
    return i;
  }

  // Less than or equal to any run's objective at this size: the items of capex that do not depend on
  // the run (GPUs, servers, racks, network) and, for TCO, maintenance and space on top. Electricity,
  // cooling plant and power infrastructure are left out (≥ 0). cost_per_mtok and kw have no such
  // bound: every candidate runs.
  double lower_bound(const Candidate& c, std::size_t size) const { return lower_bound(c, size, options_.objective); }
  double lower_bound(const Candidate& c, std::size_t size, const std::string& objective) const {
    const Layout& l = c.sizes[size];
    const GpuSpec& gpu = *catalog_.gpu(c.gpu);
    const ServerSpec& server = *catalog_.server(c.server_type);
    cost::CapexInputs in;
    in.gpus = l.servers * c.gpus_per_server;
    in.gpu_unit_price = cost_.gpu_price.value_or(cost::Money{gpu.price_usd, cost::Currency::USD});
    in.servers = l.servers;
    in.server_unit_price = cost_.server_price.value_or(cost::Money{server.price_usd, cost::Currency::USD});
    in.network = cost_.network;
    in.racks = l.racks;
    in.rack_unit_price = cost_.rack_price;
    const double capex = cost_.capex_total ? cost::convert(*cost_.capex_total, cost_.currency, cost_.exchange)
                                           : cost::capex(in, cost_.currency, cost_.exchange).total();
    const double opex =
        cost::opex_per_year({0, cost_.tariff_per_kwh, cost_.maintenance_fraction_per_year, l.racks, cost_.space_per_rack_month},
                            capex, cost_.currency, cost_.exchange).total();
    return objective == "capex" ? capex : cost::total_cost_of_ownership(capex, opex, cost_.years);
  }
  bool bounded_objective() const { return options_.objective == "capex" || options_.objective == "tco"; }

  // The size a plan would buy when `size` is the fewest servers that meet the SLOs.
  std::optional<std::size_t> bought(const Candidate& c, std::size_t size) const {
    if (!options_.n_plus_one) return size;
    for (std::size_t i = size + 1; i < c.sizes.size(); ++i)
      if (c.sizes[i].servers >= c.sizes[size].servers + 1) return i;
    return std::nullopt;
  }

  // True when buying for this size cannot beat the best plan or exceeds the budget (recorded once).
  bool pruned_at(const Candidate& c, std::size_t size) {
    const auto buy = bought(c, size);
    if (!buy) return true;
    const double bound = lower_bound(c, *buy);
    const double capex_bound = lower_bound(c, *buy, "capex");
    std::lock_guard lock(mutex_);
    const std::string at = std::to_string(c.sizes[*buy].servers) + " servers";
    if (options_.budget && capex_bound > *options_.budget) {
      pruned_.push_back({c.label(), at + format(" cost at least %.0f, above the budget", capex_bound)});
      return true;
    }
    if (bounded_objective() && best_ < kInf && bound >= best_) {
      pruned_.push_back({c.label(), at + format(" cost at least %.0f", bound) + format(", not below the best plan's %.0f", best_)});
      return true;
    }
    return false;
  }

  Evaluation evaluate(const Candidate& c, std::size_t size, bool a_plan) {
    Evaluation e;
    e.candidate = c;
    e.layout = c.sizes[size];
    const std::string name = e.name();
    if (const auto done = evaluated(name)) {  // N+1 buys a size the bisection already ran
      if (a_plan) record_plan(*done);
      return *done;
    }
    const RunResult r = executor_.run({base_.source_file, overrides_for(c, e.layout, run_overrides_),
                                       options_.out_dir + "/runs/" + name, options_.out_dir + "/logs/" + name + ".log", {}});
    e.status = r.exit_code == kExitDone ? "ok" : r.exit_code == kExitBadInput ? "bad_input" : "failed";
    if (r.summary) read_summary(*r.summary, e);
    std::lock_guard lock(mutex_);
    evaluations_.push_back(e);
    std::printf("  %-44s %5d GPUs %4d servers  %-22s ttft %s %.3f s  tpot %s %.4f s\n", name.c_str(), e.gpus(), e.layout.servers,
                e.verdict().c_str(), percentile_.c_str(), e.ttft_p, percentile_.c_str(), e.tpot_p);
    std::fflush(stdout);
    if (a_plan) record_plan_locked(e);
    return e;
  }

  std::optional<Evaluation> evaluated(const std::string& name) {
    std::lock_guard lock(mutex_);
    for (const Evaluation& e : evaluations_)
      if (e.name() == name) return e;
    return std::nullopt;
  }
  void record_plan(Evaluation e) {
    std::lock_guard lock(mutex_);
    record_plan_locked(e);
  }
  void record_plan_locked(Evaluation e) {
    e.n_plus_one = options_.n_plus_one;
    if (!e.meets()) return;
    plans_.push_back(e);
    best_ = std::min(best_, objective_of(e, options_.objective));
  }

  // The run's own model's expected TPOT error (sim/report/model_report), or the default where it has none.
  static double model_error_band(const ordered_json& j) {
    if (j.contains("model") && j["model"].contains("error_band") && j["model"]["error_band"].is_object() &&
        j["model"]["error_band"]["tpot"].is_number())
      return j["model"]["error_band"]["tpot"].get<double>();
    return kDefaultSloMargin;
  }

  void read_summary(const ordered_json& j, Evaluation& e) const {
    const auto number = [](const ordered_json& v) { return v.is_number() ? v.get<double>() : kInf; };
    const auto& slo = j["slo"];
    e.has_data = j["requests"]["completed"].get<long long>() > 0;
    e.slo_met = slo["met"].get<bool>();
    e.ttft_p = number(slo["ttft_at_percentile_s"]);
    e.tpot_p = number(slo["tpot_at_percentile_s"]);
    e.e2e_p = number(slo["e2e_at_percentile_s"]);
    e.within_margin = true;
    const double tighten = 1 - (options_.margin ? *options_.margin : model_error_band(j));
    for (const auto& [bound, measured] : {std::pair{"ttft_s", e.ttft_p}, {"tpot_s", e.tpot_p}, {"e2e_s", e.e2e_p}})
      if (slo[bound].is_number()) e.within_margin = e.within_margin && measured <= tighten * slo[bound].get<double>();
    e.input_tps = j["throughput"]["input_tokens_per_s"].get<double>();
    e.output_tps = j["throughput"]["output_tokens_per_s"].get<double>();
    if (j.contains("power")) {
      e.it_kw_peak = j["power"]["it_kw_peak"].get<double>();
      e.facility_kw_mean = j["power"]["facility_kw_mean"].get<double>();
      e.pue = j["pue"]["annualized"].get<double>();
    }
    if (!j.contains("cost")) return;
    const auto& k = j["cost"];
    e.currency = k["currency"].get<std::string>();
    e.capex = k["capex"].get<double>();
    e.opex_per_year = k["opex_per_year"].get<double>();
    e.tco = k["tco"].get<double>();
    e.per_mtok_output = number(k["per_million_output_tokens"]);
    if (e.per_mtok_output < kInf)  // the same yearly cost over every token served, input and output
      e.per_mtok_tokens = e.per_mtok_output * e.output_tps / (e.input_tps + e.output_tps);
    e.cloud_monthly = k["cloud_monthly"].get<double>();
    if (k["payback_months"].is_number()) e.payback_cloud_months = k["payback_months"].get<double>();
    const auto currency = cost::parse_currency(e.currency);
    e.api_monthly = cost::api_monthly_cost(e.input_tps, e.output_tps, {options_.api_usd_per_million_input, cost::Currency::USD},
                                           {options_.api_usd_per_million_output, cost::Currency::USD}, currency, cost_.exchange);
    e.payback_api_months = cost::payback_months({e.capex, e.api_monthly, e.opex_per_year / 12, cost_.payback_amortization_months});
    if (options_.budget && e.capex > *options_.budget) e.within_budget = false;
    if (!k.contains("pools")) return;
    std::array<Evaluation::PoolCost, 2> pools;
    for (std::size_t p = 0; p < 2; ++p) {
      const auto& pool = k["pools"][p == 0 ? "prefill" : "decode"];
      pools[p] = {pool["servers"].get<int>(), pool["gpus"].get<int>(), number(pool["capex"]), pool["opex_per_year"].get<double>(),
                  pool["tco"].get<double>(), number(pool["per_million_output_tokens"])};
    }
    e.pool_costs = pools;
  }

  void bisect(const Candidate& c) {
    const std::size_t last = c.sizes.size() - 1;
    // Half the analytic estimate is a safe floor for the search; prune if even that cannot win.
    std::size_t low = first_size_at_least(c, std::max(1, estimated_servers(c) / 2));
    if (pruned_at(c, low)) return;
    std::size_t high = first_size_at_least(c, estimated_servers(c));
    // Grow until the SLOs are met. A pruned size stands in for one that meets them: neither it nor
    // any larger size can win, so only smaller ones are left to try.
    bool high_meets = false;
    while (!pruned_at(c, high)) {
      const Evaluation e = evaluate(c, high, !options_.n_plus_one);
      if (e.status != "ok") return;
      if (e.slo_met && e.within_margin && e.has_data) {
        high_meets = true;
        break;
      }
      if (high == last) return;
      low = high + 1;
      high = first_size_at_least(c, 2 * c.sizes[high].servers);
    }
    // The fewest servers meeting the SLOs lies in [low, high].
    while (low < high) {
      const std::size_t mid = low + (high - low) / 2;
      if (pruned_at(c, mid)) {
        high = mid, high_meets = false;
        continue;
      }
      const Evaluation e = evaluate(c, mid, !options_.n_plus_one);
      if (e.status == "ok" && e.has_data && e.slo_met && e.within_margin)
        high = mid, high_meets = true;
      else
        low = mid + 1;
    }
    if (!high_meets) return;
    if (!options_.n_plus_one) return;
    const auto buy = bought(c, high);
    if (!buy) {
      skip(c.label(), "N+1 needs a size above --max-gpus");
      return;
    }
    if (!pruned_at(c, high)) evaluate(c, *buy, true);
  }

  const PlanOptions& options_;
  const Catalog& catalog_;
  const Scenario& base_;
  const ModelConfig& model_;
  RunExecutor& executor_;
  CostSpec cost_;
  double tighten_;  // 1 − margin
  std::string percentile_;  // the SLO's, as "p90"
  std::vector<std::string> run_overrides_;
  std::mutex mutex_;
  std::vector<Evaluation> evaluations_, plans_;
  std::vector<Skipped> skipped_, pruned_;
  Floor fastest_decode_, fastest_prefill_;
  double best_ = kInf;
  int largest_size_ = 0;
};

ordered_json optional_number(double value) { return value < kInf ? ordered_json(value) : ordered_json(); }
ordered_json optional_number(const std::optional<double>& value) { return value ? ordered_json(*value) : ordered_json(); }

// One kind of replica's layout keys, as the scenario names them, with `layout` in words.
ordered_json layout_json(const Candidate& c, const DeploymentSpec& p, const std::string& layout) {
  return {{"layout", layout},
          {"tensor_parallel", p.tensor_parallel},
          {"pipeline_parallel", p.pipeline_parallel},
          {"expert_parallel", p.expert_parallel},
          {"data_parallel_attention", p.data_parallel_attention},
          {"redundant_experts", p.redundant_experts},
          {"overlap_communication", p.overlap_communication},
          {"gpus_per_replica", p.gpus_per_replica()},
          {"max_batch_sequences", c.replica_batch_sequences(p)},
          {"max_batch_tokens", c.replica_batch_tokens(p)}};
}

// One pool of a disaggregated deployment: its layout, size and cost.
ordered_json pool_json(const Evaluation& e, bool prefill) {
  const Candidate& c = e.candidate;
  const DeploymentSpec& p = prefill ? c.parallel : c.pools->decode;
  const int replicas = prefill ? c.prefill_replicas(e.layout) : c.replicas(e.layout);
  ordered_json j = layout_json(c, p, prefill ? c.layout : c.pools->decode_layout);
  j["replicas"] = replicas;
  j["replicas_per_unit"] = prefill ? c.pools->prefill_replicas : c.pools->decode_replicas;
  j["gpus"] = replicas * p.gpus_per_replica();
  j["servers"] = replicas * c.servers_of(p);
  if (e.pool_costs) {
    const Evaluation::PoolCost& k = (*e.pool_costs)[prefill ? 0 : 1];
    j["capex"] = optional_number(k.capex);  // null under cost.capex_total
    j["opex_per_year"] = k.opex_per_year;
    j["tco"] = k.tco;
    j["per_million_output_tokens"] = optional_number(k.per_mtok_output);
  }
  return j;
}

// A deployment as plan.json gives it. The layout keys are those of the replicas that decode: every
// replica co-located, the decode pool's disaggregated (`prefill` then has the prefill pool's).
ordered_json to_json(const Evaluation& e) {
  ordered_json j = {{"gpu", e.candidate.gpu},
                    {"server_type", e.candidate.server_type},
                    {"precision", e.candidate.precision},
                    {"disaggregated", e.candidate.pools.has_value()}};
  j.update(layout_json(e.candidate, e.candidate.decode_parallel(),
                       e.candidate.pools ? e.candidate.pools->decode_layout : e.candidate.layout));
  j.update(ordered_json{
          {"replicas", e.candidate.replicas(e.layout)},
          {"gpus", e.gpus()},
          {"servers", e.layout.servers},
          {"racks", e.layout.racks},
          {"servers_per_rack", e.layout.servers_per_rack},
          {"n_plus_one", e.n_plus_one},
          {"it_kw_peak", e.it_kw_peak},
          {"facility_kw_mean", e.facility_kw_mean},
          {"pue_annualized", e.pue},
          {"currency", e.currency},
          {"capex", e.capex},
          {"opex_per_year", e.opex_per_year},
          {"tco", e.tco},
          {"per_million_output_tokens", optional_number(e.per_mtok_output)},
          {"per_million_tokens_input_and_output", optional_number(e.per_mtok_tokens)},
          {"cloud_monthly", e.cloud_monthly},
          {"payback_months_vs_cloud", optional_number(e.payback_cloud_months)},
          {"api_monthly", e.api_monthly},
          {"payback_months_vs_api", optional_number(e.payback_api_months)},
          {"ttft_slo_percentile_s", optional_number(e.ttft_p)},
          {"tpot_slo_percentile_s", optional_number(e.tpot_p)},
          {"e2e_slo_percentile_s", optional_number(e.e2e_p)},
          {"verdict", e.verdict()},
          {"status", e.status}});
  if (e.candidate.pools) j["pools"] = {{"prefill", pool_json(e, true)}, {"decode", pool_json(e, false)}};
  return j;
}

std::string months(const std::optional<double>& m) { return m ? format("%.1f mo", *m) : std::string("never"); }

}  // namespace

double default_rack_kw(const std::string& cooling_kind) {
  if (cooling_kind == "direct_liquid") return 60;
  if (cooling_kind == "immersion") return 100;
  return 20;
}

int run_plan(const PlanOptions& options, RunExecutor& executor) {
  static const std::vector<std::string> kObjectives = {"capex", "tco", "cost_per_mtok", "kw"};
  if (std::find(kObjectives.begin(), kObjectives.end(), options.objective) == kObjectives.end())
    throw_input_error({"--objective", 0, 0}, "", "expected capex, tco, cost_per_mtok or kw");
  for (const std::string& layouts : options.layouts)
    if (layouts != "colocated" && layouts != "disaggregated")
      throw_input_error({"--layouts", 0, 0}, "", "unknown layouts '" + layouts + "': expected colocated or disaggregated");
  if (options.margin && (*options.margin < 0 || *options.margin >= 1))
    throw_input_error({"--margin", 0, 0}, "", "expected a share in [0, 1)");
  const Catalog catalog = Catalog::load(scenarios_dir());
  const Scenario base = load_scenario(options.scenario_file, options.overrides, catalog);
  Planner planner(options, catalog, base, executor);
  const auto candidates = planner.candidates();
  std::printf("aidc plan: %zu candidate deployments (GPU x server x precision x replica layout x batch limit);"
              " objective %s, SLO margin %s, racks up to %.1f kW (%s cooling)%s%s\n",
              candidates.size(), options.objective.c_str(),
              options.margin ? format("%.0f%%", 100 * *options.margin).c_str() : "each run's model error band", planner.rack_kw(), planner.cooling_kind().c_str(),
              options.n_plus_one ? ", N+1" : "", options.budget ? format(", budget %.0f", *options.budget).c_str() : "");
  for (const auto& s : planner.skipped()) std::printf("  skipped %-40s %s\n", s.candidate.c_str(), s.reason.c_str());
  std::printf("  largest deployment considered: %d GPUs (--max-gpus %d)\n", planner.largest_size(), options.max_gpus);
  std::fflush(stdout);
  if (!candidates.empty()) planner.search(candidates);

  std::vector<Evaluation> all = planner.evaluations();
  std::sort(all.begin(), all.end(), [&](const Evaluation& a, const Evaluation& b) {
    return objective_of(a, options.objective) < objective_of(b, options.objective) ||
           (objective_of(a, options.objective) == objective_of(b, options.objective) && a.ttft_p < b.ttft_p);
  });
  // One row per run; the layout columns are those of the replicas that decode (co-located: all of
  // them), the pool columns empty for a co-located run.
  const std::string percentile = slo_percentile_name(base.slo);
  std::string csv =
      "gpu,server_type,replicas,tensor_parallel,pipeline_parallel,expert_parallel,data_parallel_attention,redundant_experts,"
      "overlap_communication,max_batch_sequences,precision,servers,racks,gpus,capex,tco,per_million_output_tokens,facility_kw_mean,slo_percentile,"
      "ttft_slo_percentile_s,tpot_slo_percentile_s,e2e_slo_percentile_s,disaggregated,prefill_layout,prefill_replicas,prefill_gpus,"
      "prefill_servers,prefill_capex,prefill_tco,decode_layout,decode_gpus,decode_servers,decode_capex,decode_tco,verdict,status\n";
  for (const auto& e : all) {
    const Candidate& c = e.candidate;
    const DeploymentSpec& p = c.decode_parallel();
    char row[1024];
    std::snprintf(row, sizeof row, "%s,%s,%d,%d,%d,%d,%s,%d,%s,%d,%s,%d,%d,%d,%.0f,%.0f,%.6g,%.4f,%g,%.6f,%.6f,%.6f,%s,", c.gpu.c_str(),
                  c.server_type.c_str(), c.replicas(e.layout), p.tensor_parallel, p.pipeline_parallel, p.expert_parallel,
                  p.data_parallel_attention ? "true" : "false", p.redundant_experts, p.overlap_communication ? "true" : "false",
                  c.replica_batch_sequences(), c.precision.c_str(),
                  e.layout.servers, e.layout.racks, e.gpus(), e.capex, e.tco, e.per_mtok_output, e.facility_kw_mean, base.slo.percentile,
                  e.ttft_p, e.tpot_p, e.e2e_p, c.pools ? "true" : "false");
    csv += row;
    if (c.pools) {
      const auto pool = [&](bool prefill) {
        const ordered_json j = pool_json(e, prefill);
        return (prefill ? layout_name(c.parallel) + "," + std::to_string(j["replicas"].get<int>()) : layout_name(c.pools->decode)) + "," +
               std::to_string(j["gpus"].get<int>()) + "," + std::to_string(j["servers"].get<int>()) + "," +
               (j.contains("capex") && j["capex"].is_number() ? format("%.0f", j["capex"].get<double>()) : "") + "," +
               (j.contains("tco") ? format("%.0f", j["tco"].get<double>()) : "");
      };
      csv += pool(true) + "," + pool(false);
    } else {
      csv += ",,,,,,,,,,";
    }
    csv += "," + e.verdict() + "," + e.status + "\n";
  }
  // The plans, best objective first; the frontier keeps those that also lower TTFT (at the SLO's percentile).
  std::vector<Evaluation> plans = planner.plans();
  std::sort(plans.begin(), plans.end(), [&](const Evaluation& a, const Evaluation& b) {  // ties by name: the same answer however runs finished
    return std::tuple(objective_of(a, options.objective), a.name()) < std::tuple(objective_of(b, options.objective), b.name());
  });
  ordered_json frontier = ordered_json::array();
  std::vector<const Evaluation*> frontier_points;
  double best_latency = kInf;
  for (const auto& e : plans)
    if (e.ttft_p < best_latency) {
      best_latency = e.ttft_p;
      frontier.push_back(to_json(e));
      frontier_points.push_back(&e);
    }
  ordered_json skipped = ordered_json::array(), pruned = ordered_json::array();
  for (const auto& s : planner.skipped()) skipped.push_back({{"candidate", s.candidate}, {"reason", s.reason}});
  for (const auto& s : planner.pruned()) pruned.push_back({{"candidate", s.candidate}, {"reason", s.reason}});
  const Evaluation* winner = plans.empty() ? nullptr : &plans.front();
  const std::string why = winner ? "" : !candidates.empty() ? "no deployment up to the size limit meets the SLOs" : planner.why_none();
  ordered_json result = {{"scenario", base.name},
                         {"objective", options.objective},
                         {"margin", options.margin ? ordered_json(*options.margin) : ordered_json("model error band")},
                         {"rack_kw_limit", planner.rack_kw()},
                         {"slo_percentile", base.slo.percentile},
                         {"layouts", options.layouts.empty() ? ordered_json("default") : ordered_json(options.layouts)},
                         {"n_plus_one", options.n_plus_one},
                         {"budget", options.budget ? ordered_json(*options.budget) : ordered_json()},
                         {"api_usd_per_million", {{"input", options.api_usd_per_million_input}, {"output", options.api_usd_per_million_output}}},
                         {"winner", winner ? to_json(*winner) : ordered_json()},
                         {"why_none", winner ? ordered_json() : ordered_json(why)},
                         {"frontier", frontier},
                         {"largest_gpus_considered", planner.largest_size()},
                         {"skipped", skipped},
                         {"pruned", pruned},
                         {"evaluated", all.size()}};
  write_file_atomically(options.out_dir + "/plan.csv", csv);
  write_file_atomically(options.out_dir + "/plan.json", result.dump(2) + "\n");
  for (const auto& s : planner.pruned()) std::printf("  pruned %-41s %s\n", s.candidate.c_str(), s.reason.c_str());
  if (!winner) {
    std::printf("\nNo deployment meets the SLOs: %s. See %s/plan.json\n", why.c_str(), options.out_dir.c_str());
    return kExitDone;
  }
  const Evaluation& w = *winner;
  const std::string how = w.candidate.pools ? std::string("a prefill pool and a decode pool")
                                             : w.candidate.layout + ", " + std::to_string(w.candidate.replicas(w.layout)) + " replicas, batch " +
                                                   std::to_string(w.candidate.replica_batch_sequences());
  std::printf("\nBest deployment (%s): %d x %s in %d %s servers, %d rack%s (%s, %s)%s\n", options.objective.c_str(), w.gpus(),
              w.candidate.gpu.c_str(), w.layout.servers, w.candidate.server_type.c_str(), w.layout.racks, w.layout.racks == 1 ? "" : "s",
              w.candidate.precision.c_str(), how.c_str(), w.n_plus_one ? ", one server spare (N+1)" : "");
  if (w.candidate.pools)
    for (const bool prefill : {true, false}) {
      const ordered_json pool = pool_json(w, prefill);
      std::printf("  %s pool: %d replicas of %s, batch %d; %d GPUs in %d servers%s\n", prefill ? "prefill" : "decode ",
                  pool["replicas"].get<int>(), pool["layout"].get<std::string>().c_str(), pool["max_batch_sequences"].get<int>(),
                  pool["gpus"].get<int>(), pool["servers"].get<int>(),
                  pool.contains("capex") && pool["capex"].is_number() ? format(", capex %.0f", pool["capex"].get<double>()).c_str() : "");
    }
  std::printf("Frontier (objective vs %s TTFT, the SLO's percentile; money in %s; the winning run's report: %s/runs/%s):\n",
              percentile.c_str(), w.currency.c_str(), options.out_dir.c_str(), w.name().c_str());
  std::printf("  %5s %7s %5s %7s %7s %5s %12s %12s %9s %9s %9s %9s %8s\n", "GPUs", "servers", "racks", "IT kW", "fac kW", "PUE",
              "capex", "TCO", "/Mtok out", "/Mtok all", "pay cloud", "pay API", ("TTFT " + percentile).c_str());
  for (const Evaluation* e : frontier_points)
    std::printf("  %5d %7d %5d %7.1f %7.1f %5.2f %12.0f %12.0f %9.3f %9.3f %9s %9s %6.0f ms  %s %s %s\n", e->gpus(), e->layout.servers,
                e->layout.racks, e->it_kw_peak, e->facility_kw_mean, e->pue, e->capex, e->tco, e->per_mtok_output, e->per_mtok_tokens,
                months(e->payback_cloud_months).c_str(), months(e->payback_api_months).c_str(), e->ttft_p * 1000, e->candidate.gpu.c_str(),
                e->candidate.precision.c_str(), e->candidate.layout_name().c_str());
  return kExitDone;
}

}  // namespace aidc::study
