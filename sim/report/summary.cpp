#include "report/summary.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/atomic_file.hpp"
#include "common/statistics.hpp"
#include "platform/layout.hpp"
#include "report/facility_report.hpp"
#include "report/model_report.hpp"

namespace aidc {
namespace {

const char* status_name(RequestStatus s) {
  switch (s) {
    case RequestStatus::InFlight: return "unfinished";
    case RequestStatus::Completed: return "completed";
    case RequestStatus::Failed: return "failed";
    case RequestStatus::Rejected: return "rejected";
  }
  return "unfinished";
}

nlohmann::ordered_json distribution(const std::vector<double>& values) {
  const Summary s = summarize(values);
  return {{"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}};
}

std::string format(const char* pattern, double value) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// The pools a run's replicas form, in replica order: the deployment's one, or prefill then decode.
struct PoolView {
  std::string name;
  int first = 0, replicas = 0, gpus_per_replica = 0, max_batch_sequences = 0, servers = 0;
  const GpuSpec* gpu = nullptr;
  const ServerSpec* server = nullptr;
};

std::vector<PoolView> pools_of(const Scenario& s, const Catalog& catalog) {
  if (!s.disaggregation) {
    const DeploymentSpec& d = s.deployment;
    return {{"deployment", 0, d.replicas, d.gpus_per_replica(), d.max_batch_sequences, s.datacenter.servers(),
             catalog.gpu(s.datacenter.gpu), catalog.server(s.datacenter.server_type)}};
  }
  const PoolPlacement placement = place_pools(s.datacenter, *s.disaggregation, catalog);
  std::vector<PoolView> pools;
  int first = 0;
  for (const PoolSpec* pool : {&s.disaggregation->prefill, &s.disaggregation->decode}) {
    const DeploymentSpec& d = pool->deployment;
    pools.push_back({pools.empty() ? "prefill" : "decode", first, d.replicas, d.gpus_per_replica(), d.max_batch_sequences,
                     placement.pool_servers[pools.size()], catalog.gpu(pool->gpu), catalog.server(pool->server_type)});
    first += d.replicas;
  }
  return pools;
}

// Per pool of a disaggregated run: its GPUs and how busy they were, the time a request spent in the
// prefill pool (queue + prefill) and waiting for room in a decode batch, and the KV caches moved.
nlohmann::ordered_json pools_summary(const Scenario& s, const RunRecord& run, const std::vector<PoolView>& pools,
                                     const std::vector<double>& busy_by_replica, double covered) {
  std::vector<double> in_prefill, transfer, admission;
  double bytes = 0;
  long long transfers = 0;
  for (const RequestRecord& r : run.requests) {
    if (std::isnan(r.kv_arrived_s)) continue;
    bytes += r.kv_bytes;
    ++transfers;
    if (r.arrival_s < s.simulation.warmup_s) continue;
    in_prefill.push_back(r.kv_sent_s - r.arrival_s);
    transfer.push_back(r.kv_arrived_s - r.kv_sent_s);
    if (!std::isnan(r.decode_admitted_s)) admission.push_back(r.decode_admitted_s - r.kv_arrived_s);
  }
  nlohmann::ordered_json j;
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const PoolView& pool = pools[p];
    double busy = 0;
    for (int r = pool.first; r < pool.first + pool.replicas; ++r)
      busy += busy_by_replica[static_cast<std::size_t>(r)];
    const double replica_seconds = covered * pool.replicas;
    j[pool.name] = {{"gpu", pool.gpu->id}, {"server_type", pool.server->id}, {"replicas", pool.replicas},
                    {"gpus", pool.replicas * pool.gpus_per_replica}, {"servers", pool.servers},
                    {"utilization_mean", replica_seconds > 0 ? busy / replica_seconds : 0.0}};
    // With a facility: the wall power of the pool's servers and the board power of its serving GPUs.
    if (run.facility) {
      const FacilityRecord::PoolPower& power = run.facility->pools[p];
      j[pool.name]["power"] = {{"it_kw_mean", power.it_kw_mean}, {"it_kwh", power.it_kwh}, {"serving_gpu_w_mean", power.serving_gpu_w_mean}};
    }
  }
  j["prefill"]["arrival_to_kv_sent_s"] = distribution(in_prefill);  // queue + prefill (+ the request's trip to it)
  j["decode"]["kv_arrived_to_admitted_s"] = distribution(admission);  // waiting for room in a decode batch
  j["kv_transfer"] = {{"transfers", transfers}, {"bytes", bytes},
                      {"bytes_per_transfer_mean", transfers > 0 ? bytes / static_cast<double>(transfers) : 0.0},
                      {"seconds", distribution(transfer)}};
  return j;
}

}  // namespace

nlohmann::ordered_json make_summary(const Scenario& s, const Catalog& catalog, const RunRecord& run,
                                    const CapacityEstimate& capacity) {
  const double warmup = s.simulation.warmup_s, end = s.simulation.duration_s, window = end - warmup;
  long long completed = 0, failed = 0, rejected = 0, unfinished = 0, measured = 0, met = 0, judged = 0, unfinished_late = 0;
  double finished_in_window = 0, input_tokens = 0, output_tokens = 0;
  std::vector<double> ttft, tpot, e2e;
  for (const auto& r : run.requests) {
    switch (r.status) {
      case RequestStatus::Completed: ++completed; break;
      case RequestStatus::Failed: ++failed; break;
      case RequestStatus::Rejected: ++rejected; break;
      case RequestStatus::InFlight: ++unfinished; break;
    }
    if (r.status == RequestStatus::Completed && r.finish_s >= warmup) {
      ++finished_in_window;
      input_tokens += r.prompt_tokens;
      output_tokens += r.output_tokens;
    }
    if (r.arrival_s < warmup) continue;
    ++measured;
    if (r.status == RequestStatus::InFlight) {
      // Still waiting at the end: its latency is at least the time it has waited. Once that
      // passes a bound it is a miss, and enters the percentiles with that lower bound, so an
      // overloaded run cannot look healthy by leaving its slowest requests out.
      const double waited_first = (std::isnan(r.first_token_s) ? end : r.first_token_s) - r.arrival_s;
      const double waited = end - r.arrival_s;
      const bool late_first = s.slo.ttft_s && std::isnan(r.first_token_s) && waited_first > *s.slo.ttft_s;
      const bool late_total = s.slo.e2e_s && waited > *s.slo.e2e_s;
      if (late_first) ttft.push_back(waited_first);
      if (late_total) e2e.push_back(waited);
      if (late_first || late_total) ++judged, ++unfinished_late;
      continue;
    }
    ++judged;
    if (r.status != RequestStatus::Completed) continue;
    const double first = r.first_token_s - r.arrival_s, total = r.finish_s - r.arrival_s;
    ttft.push_back(first);
    e2e.push_back(total);
    bool ok = (!s.slo.ttft_s || first <= *s.slo.ttft_s) && (!s.slo.e2e_s || total <= *s.slo.e2e_s);
    if (r.output_tokens > 1) {
      const double per_token = (total - first) / (r.output_tokens - 1);
      tpot.push_back(per_token);
      ok = ok && (!s.slo.tpot_s || per_token <= *s.slo.tpot_s);
    }
    met += ok ? 1 : 0;
  }
  const double p = s.slo.percentile;
  const double ttft_p = percentile(ttft, p), tpot_p = percentile(tpot, p), e2e_p = percentile(e2e, p);
  // Every bound set needs samples: one without ("no data") is never a pass.
  const auto within = [](const std::optional<double>& bound, const std::vector<double>& sample, double measured) {
    return !bound || (!sample.empty() && measured <= *bound);
  };
  const bool slo_met = !ttft.empty() && within(s.slo.ttft_s, ttft, ttft_p) && within(s.slo.tpot_s, tpot, tpot_p) &&
                       within(s.slo.e2e_s, e2e, e2e_p);

  const TimeSeries& series = run.series;
  double busy = 0, kv = 0, covered = 0, running = 0, samples = 0;
  std::vector<double> busy_by_replica(static_cast<std::size_t>(series.replicas()), 0.0);
  for (std::size_t b = 0; b < series.bins(); ++b) {
    const double bin_start = static_cast<double>(b) * series.interval();
    if (bin_start + 1e-9 < warmup) continue;
    covered += std::min(series.interval(), end - bin_start);
    for (int r = 0; r < series.replicas(); ++r) {
      busy += series.busy_s(r, b), kv += series.kv_fraction_s(r, b);
      busy_by_replica[static_cast<std::size_t>(r)] += series.busy_s(r, b);
    }
    running += series.in_flight(b) - series.queued(b), samples += 1;
  }
  // What the GPUs' time was spent on, not whether a kernel ran ("busy" is near 100% at any load, like
  // nvidia-smi's utilization.gpu): the roofline runs a compute-bound second at the compute roof and a
  // memory-bound one at the bandwidth roof, so MFU and MBU are those seconds times the roofs' share of
  // peak, over the run's replica-seconds. Batch occupancy: sequences in the batches / batch slots.
  const std::vector<PoolView> pools = pools_of(s, catalog);
  const double run_replica_seconds = run.simulated_s * series.replicas();
  double mfu = 0, mbu = 0, slots = 0;
  int gpus = 0;
  for (const PoolView& pool : pools) {
    double compute_s = 0, memory_s = 0;
    for (int r = pool.first; r < pool.first + pool.replicas && r < static_cast<int>(run.work_done.size()); ++r)
      compute_s += run.work_done[static_cast<std::size_t>(r)].compute_bound_s, memory_s += run.work_done[static_cast<std::size_t>(r)].memory_bound_s;
    if (run_replica_seconds > 0) {
      mfu += compute_s * pool.gpu->compute_efficiency / run_replica_seconds;
      mbu += memory_s * pool.gpu->memory_efficiency / run_replica_seconds;
    }
    slots += static_cast<double>(pool.replicas) * pool.max_batch_sequences;
    gpus += pool.replicas * pool.gpus_per_replica;
  }
  int installed = 0;
  for (const InstalledServer& server : installed_servers(s, catalog)) installed += server.server->gpus_per_server;
  const double occupancy = samples > 0 && slots > 0 ? running / samples / slots : 0;
  const double replica_seconds = covered * series.replicas();
  auto optional = [](const std::optional<double>& v) { return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(); };

  nlohmann::ordered_json j;
  j["scenario"] = s.name;
  j["requests"] = {{"arrived", run.requests.size()}, {"completed", completed}, {"failed", failed},
                   {"rejected", rejected}, {"unfinished", unfinished}, {"measured", measured},
                   {"unfinished_past_slo", unfinished_late}};
  j["latency_s"] = {{"ttft", distribution(ttft)}, {"tpot", distribution(tpot)}, {"e2e", distribution(e2e)}};
  j["throughput"] = {{"requests_per_s", finished_in_window / window},
                     {"input_tokens_per_s", input_tokens / window},
                     {"output_tokens_per_s", output_tokens / window}};
  j["slo"] = {{"percentile", p},
              {"ttft_s", optional(s.slo.ttft_s)},
              {"tpot_s", optional(s.slo.tpot_s)},
              {"e2e_s", optional(s.slo.e2e_s)},
              // null when no request gave a sample: "no data", never a pass
              {"ttft_at_percentile_s", ttft.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(ttft_p)},
              {"tpot_at_percentile_s", tpot.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(tpot_p)},
              {"e2e_at_percentile_s", e2e.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(e2e_p)},
              {"attainment", judged > 0 ? static_cast<double>(met) / static_cast<double>(judged) : 0.0},
              {"met", slo_met}};
  j["gpus"] = {{"type", s.datacenter.gpu},
               {"count", gpus},
               {"installed", installed},
               {"utilization_mean", replica_seconds > 0 ? busy / replica_seconds : 0.0},  // kernels running: not a load measure
               {"mfu", mfu},
               {"mbu", mbu},
               {"batch_occupancy_mean", occupancy}};
  j["kv_cache"] = {{"utilization_mean", replica_seconds > 0 ? kv / replica_seconds : 0.0},
                   {"preemptions", run.preemptions},
                   {"blocks_per_replica", run.kv_blocks_per_replica.empty() ? 0 : run.kv_blocks_per_replica.front()},
                   {"max_blocks_used", run.max_kv_blocks_used}};
  j["capacity"] = {{"offered_requests_per_s", capacity.offered_requests_per_s},
                   {"replica_requests_per_s_at_slo", capacity.replica_requests_per_s},
                   {"batch_at_slo", capacity.batch_at_slo},
                   {"estimated_min_gpus", capacity.estimated_min_gpus},
                   {"rule_of_thumb_gpus", capacity.rule_of_thumb_gpus}};
  if (s.disaggregation) j["pools"] = pools_summary(s, run, pools, busy_by_replica, covered);
  j["performance_model"] = run.performance_model;
  j["sim"] = {{"simulated_s", run.simulated_s}, {"wall_s", run.wall_s}, {"events", run.events},
              {"seed", s.simulation.seed}, {"fast_forward", s.simulation.fast_forward}};
  add_facility_summary(j, s, catalog, run);
  return j;
}

nlohmann::ordered_json summarize_run(const Scenario& s, const Catalog& catalog, const RunRecord& run,
                                     const PerformanceModel& performance) {
  double offered = 0;
  for (const auto& r : run.requests) offered += r.arrival_s >= s.simulation.warmup_s ? 1 : 0;
  offered /= s.simulation.duration_s - s.simulation.warmup_s;
  // The model's block first: the capacity estimate asks the model about batches the run never ran.
  nlohmann::ordered_json model = model_summary(performance);
  nlohmann::ordered_json j = make_summary(s, catalog, run, estimate_capacity(s, performance, offered));
  j["model"] = std::move(model);
  return j;
}

void write_requests_csv(std::ostream& out, const RunRecord& run, const ExtraRequestColumns* extra) {
  out << "id,arrival_s,first_token_s,finish_s,prompt_tokens,output_tokens,replica,status";
  if (extra)
    for (const auto& name : extra->names) out << ',' << name;
  out << '\n';
  char line[256];
  for (std::size_t i = 0; i < run.requests.size(); ++i) {
    const RequestRecord& r = run.requests[i];
    auto time = [](double t, char* buffer, std::size_t size) {
      if (std::isnan(t))
        buffer[0] = '\0';
      else
        std::snprintf(buffer, size, "%.6f", t);
      return buffer;
    };
    char first[32], finish[32];
    std::snprintf(line, sizeof line, "%zu,%.6f,%s,%s,%d,%d,%d,%s\n", i, r.arrival_s, time(r.first_token_s, first, sizeof first),
                  time(r.finish_s, finish, sizeof finish), r.prompt_tokens, r.output_tokens, r.replica, status_name(r.status));
    if (extra) {
      line[std::strlen(line) - 1] = '\0';  // the row goes on
      out << line;
      for (const auto& cell : extra->cells[i]) out << ',' << cell;
      out << '\n';
      continue;
    }
    out << line;
  }
}

std::string timeseries_csv(const RunRecord& run) {
  const TimeSeries& s = run.series;
  std::string out = "t_s,arrivals,in_flight,queued,input_tokens_per_s,output_tokens_per_s,gpu_utilization_mean,kv_utilization_mean";
  for (int r = 0; r < s.replicas(); ++r) out += ",r" + std::to_string(r) + "_util,r" + std::to_string(r) + "_kv";
  out += facility_timeseries_header(run) + '\n';
  const double end = run.simulated_s;
  char cell[64];
  for (std::size_t b = 0; b < s.bins(); ++b) {
    const double start = static_cast<double>(b) * s.interval();
    const double width = std::min(s.interval(), end - start);
    double busy = 0, kv = 0;
    for (int r = 0; r < s.replicas(); ++r) busy += s.busy_s(r, b), kv += s.kv_fraction_s(r, b);
    std::snprintf(cell, sizeof cell, "%.3f,%.0f,%.0f,%.0f,", start + width, s.arrivals(b), s.in_flight(b), s.queued(b));
    out += cell;
    std::snprintf(cell, sizeof cell, "%.3f,%.3f,%.6f,%.6f", s.input_tokens(b) / width, s.output_tokens(b) / width,
                  busy / width / s.replicas(), kv / width / s.replicas());
    out += cell;
    for (int r = 0; r < s.replicas(); ++r) {
      std::snprintf(cell, sizeof cell, ",%.6f,%.6f", s.busy_s(r, b) / width, s.kv_fraction_s(r, b) / width);
      out += cell;
    }
    out += facility_timeseries_cells(run, b) + '\n';
  }
  return out;
}

std::string text_report(const Scenario& s, const nlohmann::ordered_json& j) {
  std::string out;
  auto line = [&out](const std::string& text) { out += text + "\n"; };
  auto ms = [](double seconds) { return format("%.1f ms", seconds * 1000); };
  auto latency_row = [&](const char* name, const nlohmann::ordered_json& d) {
    char row[160];
    std::snprintf(row, sizeof row, "  %-5s mean %9.1f ms   p50 %9.1f ms   p90 %9.1f ms   p99 %9.1f ms", name,
                  1000 * d["mean"].get<double>(), 1000 * d["p50"].get<double>(), 1000 * d["p90"].get<double>(),
                  1000 * d["p99"].get<double>());
    line(row);
  };
  const bool measured = j.contains("load");  // aidc load measured it against a real endpoint
  line(std::string(measured ? "aidc load: " : "aidc run: ") + s.name + "  (" + s.source_file + ")");
  if (j.contains("pools"))
    line("  " + std::to_string(j["gpus"]["count"].get<int>()) + " GPUs in " + std::to_string(s.datacenter.servers()) + " servers / " +
         std::to_string(s.datacenter.racks()) + " racks; " + s.deployment.model + " (" + to_string(s.deployment.precision) +
         ") disaggregated:");
  else
    line("  " + std::to_string(j["gpus"]["count"].get<int>()) + " x " + s.datacenter.gpu + " in " +
         std::to_string(s.datacenter.servers()) + " servers / " + std::to_string(s.datacenter.racks()) + " racks; " +
         std::to_string(s.deployment.replicas) + " replicas of " + s.deployment.model + " (" + to_string(s.deployment.precision) +
         ", TP " + std::to_string(s.deployment.tensor_parallel) + ")");
  if (j.contains("pools")) {
    const auto& pools = j["pools"];
    for (const char* name : {"prefill", "decode"}) {
      const auto& pool = pools[name];
      line("  " + std::string(name) + " pool: " + std::to_string(pool["replicas"].get<int>()) + " replicas, " +
           std::to_string(pool["gpus"].get<int>()) + " x " + pool["gpu"].get<std::string>() + " on " +
           std::to_string(pool["servers"].get<int>()) + " " + pool["server_type"].get<std::string>() + " servers" +
           format(", busy %.0f%%", 100 * pool["utilization_mean"].get<double>()));
    }
    const auto& kv = pools["kv_transfer"];
    line(format("  KV caches moved: %.3g GB", kv["bytes"].get<double>() / 1e9) + " in " +
         std::to_string(kv["transfers"].get<long long>()) + " transfers, " +
         format("mean %.2f ms, ", 1000 * kv["seconds"]["mean"].get<double>()) +
         format("p99 %.2f ms each", 1000 * kv["seconds"]["p99"].get<double>()));
  }
  line("  " + j["performance_model"].get<std::string>());
  out += model_text_report(j);
  line("");
  const auto& r = j["requests"];
  line("Requests: " + std::to_string(r["arrived"].get<long long>()) + " arrived, " +
       std::to_string(r["completed"].get<long long>()) + " completed, " + std::to_string(r["failed"].get<long long>()) +
       " failed, " + std::to_string(r["rejected"].get<long long>()) + " rejected, " +
       std::to_string(r["unfinished"].get<long long>()) + " still in flight at the end");
  line(format("Latency (requests arriving after the %.0f s warm-up):", s.simulation.warmup_s));
  if (r["completed"].get<long long>() == 0 || j["latency_s"]["e2e"]["p99"].get<double>() == 0) {
    line("  no request arriving after the warm-up completed: the deployment is overloaded or the run too short");
  } else {
    latency_row("TTFT", j["latency_s"]["ttft"]);
    latency_row("TPOT", j["latency_s"]["tpot"]);
    latency_row("E2E", j["latency_s"]["e2e"]);
  }
  if (r["unfinished_past_slo"].get<long long>() > 0)
    line("  (" + std::to_string(r["unfinished_past_slo"].get<long long>()) +
         " requests still waiting at the end had already passed a bound: counted as misses)");
  const auto& t = j["throughput"];
  line(format("Throughput: %.1f requests/s, ", t["requests_per_s"].get<double>()) +
       format("%.0f input tokens/s, ", t["input_tokens_per_s"].get<double>()) +
       format("%.0f output tokens/s", t["output_tokens_per_s"].get<double>()));
  if (measured)
    line("GPU busy time, KV cache use and preemptions are the server's: read its /metrics");
  else
    line(format("GPUs used: %.1f%% of peak compute (MFU), ", 100 * j["gpus"]["mfu"].get<double>()) +
         format("%.1f%% of peak memory bandwidth (MBU); ", 100 * j["gpus"]["mbu"].get<double>()) +
         format("batches %.0f%% full on average (of ", 100 * j["gpus"]["batch_occupancy_mean"].get<double>()) +
         std::to_string(s.deployment.max_batch_sequences) + " sequences); " +
         format("KV cache %.0f%% full on average; ", 100 * j["kv_cache"]["utilization_mean"].get<double>()) +
         std::to_string(j["kv_cache"]["preemptions"].get<long long>()) + " preemptions");
  line("");
  const auto& slo = j["slo"];
  const std::string pct = format("p%.0f", slo["percentile"].get<double>());
  line("SLO (" + pct + "): " + std::string(slo["met"].get<bool>() ? "MET" : "NOT MET") +
       format(" - %.1f%% of requests within every bound", 100 * slo["attainment"].get<double>()));
  auto bound = [&](const char* name, const char* key, const char* measured) {
    if (slo[key].is_null()) return;
    if (slo[measured].is_null()) {
      line("  " + std::string(name) + " " + pct + " no data (no request gave a sample) <= " + ms(slo[key].get<double>()) + "  NOT JUDGED");
      return;
    }
    const double limit = slo[key].get<double>(), value = slo[measured].get<double>();
    line("  " + std::string(name) + " " + pct + " " + ms(value) + (value <= limit ? " <= " : " >  ") + ms(limit) +
         (value <= limit ? "  ok" : "  MISSED"));
  };
  bound("TTFT", "ttft_s", "ttft_at_percentile_s");
  bound("TPOT", "tpot_s", "tpot_at_percentile_s");
  bound("E2E ", "e2e_s", "e2e_at_percentile_s");
  const auto& c = j["capacity"];
  line("");
  // The analytic line sizes one pool; two are sized by size_pools (docs/deepseek-scale.md).
  if (!j.contains("pools")) {
    line(format("Capacity lower bound (analytic, mean lengths, no queueing): one replica sustains %.2f requests/s", c["replica_requests_per_s_at_slo"].get<double>()) +
         " at decode batch " + std::to_string(c["batch_at_slo"].get<int>()) + " within the TPOT SLO;" +
         format(" the offered %.1f requests/s", c["offered_requests_per_s"].get<double>()) +
         format(" need about %.0f GPUs.", c["estimated_min_gpus"].get<double>()));
    const double rule = c["rule_of_thumb_gpus"].get<double>();
    if (rule > 0) {
      // The simulation decides; the analytic figure (mean lengths, no queueing) is a lower bound.
      const int used = j["gpus"]["count"].get<int>();
      const bool met = j["slo"]["met"].get<bool>();
      std::string verdict;
      if (met && used <= rule)
        verdict = "It HOLDS: " + std::to_string(used) + " GPUs meet the SLO.";
      else if (!met && used >= rule)
        verdict = "It does NOT hold: " + std::to_string(used) + " GPUs, at or above the rule, miss the SLO.";
      else
        verdict = "This run (" + std::to_string(used) + " GPUs, SLO " + (met ? "met" : "missed") +
                  ") cannot tell; `aidc plan` finds the smallest deployment that meets it.";
      line(format("Rule of thumb (seeds): 2 A100 per 1,000 concurrent users gives %.0f GPUs for ", rule) +
           std::to_string(s.workload.users) + format(" users thinking %.0f s. ", s.workload.think_time_s) + verdict +
           (s.datacenter.gpu.rfind("A100", 0) == 0 ? "" : " (The rule is stated for A100; this run uses " + s.datacenter.gpu + ".)"));
    }
  }
  if (measured)
    line(format("Measured %.0f s of schedule", j["sim"]["simulated_s"].get<double>()) +
         format(" in %.2f s wall (drain included) against ", j["sim"]["wall_s"].get<double>()) + j["load"]["url"].get<std::string>() +
         ": " + std::to_string(j["load"]["timed_out"].get<long long>()) + " requests timed out after " +
         format("%.0f s, ", j["load"]["timeout_s"].get<double>()) + std::to_string(j["sim"]["events"].get<long long>()) +
         " server-sent events.");
  else
    line(format("Simulated %.0f s in ", j["sim"]["simulated_s"].get<double>()) +
         format("%.2f s wall, ", j["sim"]["wall_s"].get<double>()) + std::to_string(j["sim"]["events"].get<long long>()) +
         " events.");
  out += facility_text_report(s, j);
  return out;
}

void write_run_outputs(const std::string& dir, const Scenario& scenario, const nlohmann::ordered_json& summary,
                       const RunRecord& run, const ExtraRequestColumns* extra) {
  std::filesystem::create_directories(dir);
  write_file_atomically(dir + "/requests.csv", [&](std::ostream& out) { write_requests_csv(out, run, extra); });
  write_file_atomically(dir + "/timeseries.csv", timeseries_csv(run));
  write_file_atomically(dir + "/scenario.yaml", to_yaml(scenario.resolved));
  write_file_atomically(dir + "/report.txt", text_report(scenario, summary));
  // Invalid UTF-8 (a Latin-1 path in a description) becomes U+FFFD instead of stopping the run here.
  write_file_atomically(dir + "/summary.json", summary.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
}

}  // namespace aidc
