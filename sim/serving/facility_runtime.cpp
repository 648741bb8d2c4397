#include "serving/facility_runtime.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/statistics.hpp"
#include "facility/power_chain.hpp"
#include "perf/roofline_model.hpp"

namespace aidc {
namespace {

using namespace facility;

// One serving thread per GPU keeps a core busy while its GPU works: 8 of a DGX H100's 112 cores is
// 0.07; rounded up for tokenization and HTTP handling. An estimate (no serving-host CPU data in REF).
constexpr double kCpuUtilizationAtFullLoad = 0.1;

// Calibration profiles (aidc-calibration/1) carry measured (bandwidth, FLOP rate, watts) points.
GpuPowerModel calibrated_power_model(const CalibrationProfile& profile, const GpuSpec& gpu, DevicePeaks& peaks) {
  if (profile.power_points.empty()) return gpu_power_from_catalog(gpu.tdp_w, gpu.idle_w);
  const CalibrationProfile::DevicePeaks& device = profile.device_peaks;
  peaks = {device.copy_gbps, device.gemm_bf16_tflops};
  std::vector<PowerPoint> fit;
  for (const auto& p : profile.power_points) fit.push_back({p.gbps / peaks.memory_gbps, p.tflops / peaks.tflops, p.power_w});
  return gpu_power_from_calibration(gpu.tdp_w, gpu.idle_w > 0 ? gpu.idle_w : device.idle_power_w, device.idle_power_w, fit);
}

void add_scaled(EnergyBalance& sum, const EnergyBalance& b, double hours) {
  sum.it_kw += b.it_kw * hours;
  sum.losses.distribution_loss_kw += b.losses.distribution_loss_kw * hours;
  sum.losses.ups_loss_kw += b.losses.ups_loss_kw * hours;
  sum.losses.lighting_other_kw += b.losses.lighting_other_kw * hours;
  CoolingPower& c = sum.cooling;
  const CoolingPower& d = b.cooling;
  c.crah_fans_kw += d.crah_fans_kw * hours;
  c.crac_kw += d.crac_kw * hours;
  c.chiller_kw += d.chiller_kw * hours;
  c.chilled_water_pumps_kw += d.chilled_water_pumps_kw * hours;
  c.economizer_pumps_kw += d.economizer_pumps_kw * hours;
  c.tower_pumps_kw += d.tower_pumps_kw * hours;
  c.tower_fans_kw += d.tower_fans_kw * hours;
  c.liquid_pumps_kw += d.liquid_pumps_kw * hours;
  c.dry_cooler_fans_kw += d.dry_cooler_fans_kw * hours;
}

StepCost minus(const StepCost& a, const StepCost& b) {
  return {a.compute_bound_s - b.compute_bound_s, a.memory_bound_s - b.memory_bound_s,
          a.communication_s - b.communication_s, a.overhead_s - b.overhead_s};
}

}  // namespace

FacilityRuntime::FacilityRuntime(const Scenario& scenario, const Catalog& catalog, const std::vector<ReplicaPlacement>& placements)
    : scenario_(scenario), spec_(*scenario.facility) {
  const DatacenterSpec& dc = scenario.datacenter;
  // Each kind of server: its GPUs' power model and roofline utilizations, its host parts, its peak.
  auto kind_of = [&](const GpuSpec& gpu, const ServerSpec& server) {
    for (std::size_t k = 0; k < kinds_.size(); ++k)
      if (kinds_[k].gpu == &gpu && kinds_[k].server == &server) return k;
    ServerKind kind{&gpu, &server, {}, {}, {}, 0};
    // Utilization while a kernel is compute- or memory-bound: the roofline's achievable share of peak.
    // A calibration profile measured the datacenter's GPU.
    const double tflops = peak_tflops(gpu, scenario.deployment.precision);
    DevicePeaks peaks{gpu.memory_bandwidth_gb_s, tflops};
    kind.gpu_power = scenario.performance.model == "calibrated" && gpu.id == dc.gpu
                         ? calibrated_power_model(*scenario.performance.profile, gpu, peaks)
                         : gpu_power_from_catalog(gpu.tdp_w, gpu.idle_w);
    if (spec_.gpu_power_cap_w) kind.gpu_power = with_power_cap(kind.gpu_power, *spec_.gpu_power_cap_w);
    kind.utilization_roof = {std::min(1.0, gpu.memory_efficiency * gpu.memory_bandwidth_gb_s / peaks.memory_gbps),
                             std::min(1.0, gpu.compute_efficiency * tflops / peaks.tflops)};
    const HostPower& h = server.host_power;
    kind.host = {h.cpu_sockets, h.cpu_idle_w, h.cpu_max_w, h.memory_w, server.nics, h.nic_w, h.nvme_drives, h.nvme_w,
                 h.fans_idle_w, h.fans_max_w, spec_.psu_efficiency};
    // The planned peak: GPUs at their power limit (TDP or the operator's cap), CPUs and fans flat out,
    // never above the nameplate. The nameplate itself (DGX H100: 10.2 kW vs ~7.7 kW so modelled)
    // oversizes fans, pumps and chillers and inflates the PUE at the load the hall really carries.
    kind.peak_wall_w = std::min(server.max_power_w,
                                server_wall_power_w(kind.host, server.gpus_per_server * kind.gpu_power.power_limit_w, 1.0, 1.0));
    kinds_.push_back(kind);
    return kinds_.size() - 1;
  };
  const std::vector<InstalledServer> installed = installed_servers(scenario, catalog);
  std::size_t gpu_count = 0;
  for (std::size_t i = 0; i < installed.size(); ++i) {
    const InstalledServer& is = installed[i];
    const auto gpus = static_cast<std::size_t>(is.server->gpus_per_server);
    servers_.push_back({static_cast<int>(i) / dc.servers_per_rack, is.pool, kind_of(*is.gpu, *is.server), gpu_count, gpus});
    gpu_count += gpus;
  }

  const int racks_per_hall = dc.rows_per_hall * dc.racks_per_row;
  // The design IT load, unless the hall sets it: the planned peak of every server and switch. Racks
  // of one design are summed as one count times it.
  std::vector<std::map<std::size_t, int>> rack_servers(static_cast<std::size_t>(dc.racks()));  // kind -> servers
  for (const Server& server : servers_) ++rack_servers[static_cast<std::size_t>(server.rack)][server.kind];
  std::vector<std::map<double, int>> hall_racks(spec_.halls.size());  // rack design kW -> racks
  for (int r = 0; r < dc.racks(); ++r) {
    double servers_w = 0;
    for (const auto& [kind, count] : rack_servers[static_cast<std::size_t>(r)]) servers_w += count * kinds_[kind].peak_wall_w;
    ++hall_racks[static_cast<std::size_t>(r / racks_per_hall)][(servers_w + spec_.switches_per_rack * spec_.switch_w) / 1000];
  }
  for (std::size_t h = 0; h < spec_.halls.size(); ++h) {
    const HallSpec& hs = spec_.halls[h];
    Hall hall;
    hall.model.power = hs.power;
    double planned = 0;
    for (const auto& [rack_kw, racks] : hall_racks[h]) planned += racks * rack_kw;
    const double design_it = hs.design_it_kw.value_or(planned);
    if (hall.model.power.ups.rated_kw <= 0) hall.model.power.ups.rated_kw = hs.ups_redundancy * design_it;
    const double design_heat = design_it + electrical_losses(hall.model.power, design_it).total_kw();
    const CoolingPlant sized = default_cooling_plant(hs.cooling.kind, design_heat);
    hall.model.cooling = hs.cooling;
    hall.model.cooling.air.design_heat_kw = sized.air.design_heat_kw;
    hall.model.cooling.chiller.unit_capacity_kw = hs.chiller_unit_capacity_kw.value_or(sized.chiller.unit_capacity_kw);
    record_.design_it_kw += design_it;
    record_.design_heat_kw += design_heat;
    halls_.push_back(hall);
  }
  thermal_ = thermal_defaults(halls_.front().model.cooling.kind);
  thermal_.gpu_resistance_k_per_w = spec_.gpu_resistance_k_per_w.value_or(thermal_.gpu_resistance_k_per_w);
  thermal_.gpu_time_constant_s = spec_.gpu_time_constant_s.value_or(thermal_.gpu_time_constant_s);
  thermal_.rack_rise_k_per_kw = spec_.rack_rise_k_per_kw.value_or(thermal_.rack_rise_k_per_kw);
  thermal_.rack_time_constant_s = spec_.rack_time_constant_s.value_or(thermal_.rack_time_constant_s);
  weather_ = spec_.weather == "hong_kong" ? hong_kong_typical_year() : load_weather_csv(spec_.weather);

  // Every GPU starts at its steady state with the serving process idle (the hall was running).
  for (int r = 0; r < dc.racks(); ++r)
    racks_.push_back(rack_node(thermal_, cooling_supply_c(halls_[static_cast<std::size_t>(r / racks_per_hall)].model.cooling)));
  rack_board_limit_w_.assign(racks_.size(), 0);
  rack_gpus_.assign(racks_.size(), 0);
  for (const Server& server : servers_) {
    const auto rack = static_cast<std::size_t>(server.rack);
    const double supply_c = cooling_supply_c(halls_[rack / static_cast<std::size_t>(racks_per_hall)].model.cooling);
    const GpuPowerModel& power = kinds_[server.kind].gpu_power;
    rack_board_limit_w_[rack] = std::max(rack_board_limit_w_[rack], power.power_limit_w);
    rack_gpus_[rack] += static_cast<int>(server.gpus);
    for (std::size_t g = 0; g < server.gpus; ++g) {
      Gpu gpu;
      gpu.rack = server.rack;
      gpu.kind = server.kind;
      gpu.node = gpu_node(thermal_, 0);
      gpu.node.temperature_c = gpu.node.steady_state_c(power.process_idle_w, supply_c);
      gpus_.push_back(gpu);
    }
  }
  // A replica's GPUs: from its first on its server, onto the next servers when it spans several.
  for (std::size_t replica = 0; replica < placements.size(); ++replica) {
    const ReplicaPlacement& p = placements[replica];
    const int r = static_cast<int>(replica);
    const bool pooled = scenario.disaggregation.has_value();
    const DeploymentSpec& d = pooled ? scenario.disaggregation->pool_of(r).deployment : scenario.deployment;
    const MemoryPlan& memory = pooled ? scenario.disaggregation->pool_of(r).memory : scenario.memory;
    const std::size_t first = servers_[static_cast<std::size_t>(p.rack * dc.servers_per_rack + p.server)].first_gpu;
    for (int g = 0; g < d.gpus_per_replica(); ++g) gpus_[first + static_cast<std::size_t>(p.first_gpu + g)].replica = r;
    weight_reload_s_.push_back(spec_.failures.process_start_s + memory.weight_bytes_per_gpu / (spec_.failures.storage_gb_s * 1e9));
    record_.weight_reload_s = std::max(record_.weight_reload_s, weight_reload_s_.back());
  }
  rack_gpu_cap_w_ = rack_board_limit_w_;
  rack_other_wall_w_.assign(racks_.size(), 0);
  if (scenario.disaggregation) pool_sums_.assign(2, {});
  const std::size_t replicas = placements.size();
  work_at_last_sample_.assign(replicas, {});
  work_in_interval_.assign(replicas, {});
  work_in_previous_interval_.assign(replicas, {});
  clock_current_.assign(replicas, 1.0);
  clock_previous_.assign(replicas, 1.0);
}

void FacilityRuntime::snapshot_work(const std::vector<StepCost>& work_done) {
  for (std::size_t r = 0; r < work_done.size(); ++r) {
    work_in_previous_interval_[r] = work_in_interval_[r];
    work_in_interval_[r] = minus(work_done[r], work_at_last_sample_[r]);
    work_at_last_sample_[r] = work_done[r];
  }
}

std::vector<double> FacilityRuntime::end_interval(std::size_t bin, const TimeSeries& series,
                                                  const std::vector<StepCost>& work_done, const std::vector<bool>& alive) {
  snapshot_work(work_done);
  if (bin > 0) account(bin - 1, series, alive);
  // Clocks for the next interval: the lowest of each replica's GPUs (tensor-parallel ranks wait for
  // each other), from the temperatures and power limits just computed.
  std::vector<double> next(work_done.size(), 1.0);
  for (const Gpu& gpu : gpus_)
    if (gpu.replica >= 0)
      next[static_cast<std::size_t>(gpu.replica)] =
          std::min({next[static_cast<std::size_t>(gpu.replica)], gpu.power_clock, gpu.thermal_clock});
  clock_previous_ = clock_current_;
  clock_current_ = next;
  return next;
}

void FacilityRuntime::account(std::size_t bin, const TimeSeries& series, const std::vector<bool>& alive) {
  const double start = static_cast<double>(bin) * series.interval();
  const double dt = std::min(series.interval(), scenario_.simulation.duration_s - start);
  if (dt <= 0) return;
  const DatacenterSpec& dc = scenario_.datacenter;
  const double hour = std::fmod(spec_.start_hour_of_year + (start + dt / 2) / 3600, kHoursPerYear);
  const Weather outdoor = weather_.at(hour);
  const int racks_per_hall = dc.rows_per_hall * dc.racks_per_row;

  // GPU power from each replica's work mix in this interval.
  std::vector<double> gpu_w(gpus_.size(), 0), gpu_busy(gpus_.size(), 0);
  for (std::size_t i = 0; i < gpus_.size(); ++i) {
    Gpu& gpu = gpus_[i];
    GpuWork work;
    work.process_alive = gpu.replica >= 0 && alive[static_cast<std::size_t>(gpu.replica)];
    if (work.process_alive) {
      const auto r = static_cast<std::size_t>(gpu.replica);
      const StepCost& w = work_in_previous_interval_[r];
      const double f = clock_previous_[r];
      const double kernels_nominal = w.compute_bound_s + w.memory_bound_s + w.communication_s;
      const double kernels_stretched = w.compute_bound_s / f + w.memory_bound_s + w.communication_s;
      // Busy time includes the CPU-side step overhead, during which no kernel runs.
      const double busy = series.busy_s(gpu.replica, bin) / dt;
      work.busy_fraction = kernels_stretched > 0 ? std::min(1.0, busy * kernels_stretched / (kernels_stretched + w.overhead_s)) : 0;
      const DevicePeaks& roof = kinds_[gpu.kind].utilization_roof;
      if (kernels_nominal > 0) {
        work.memory_utilization = roof.memory_gbps * w.memory_bound_s / kernels_nominal;
        work.compute_utilization = roof.tflops * w.compute_bound_s / kernels_nominal;
      }
    }
    const GpuPowerState state =
        gpu_power(with_power_cap(kinds_[gpu.kind].gpu_power, rack_gpu_cap_w_[static_cast<std::size_t>(gpu.rack)]), work);
    gpu_w[i] = state.power_w;
    gpu_busy[i] = work.busy_fraction;
    gpu.power_clock = work.busy_fraction > 0 ? state.clock_fraction : 1.0;
    if (work.process_alive) {
      serving_gpu_seconds_ += dt;
      if (gpu.power_clock < 1) capped_gpu_seconds_ += dt * work.busy_fraction;
    }
  }

  // Servers and racks: GPUs + host parts through the PSUs, plus the rack's switches.
  const CoolingKind kind = halls_.front().model.cooling.kind;
  FacilityInterval row;
  row.start_s = start;
  row.end_s = start + dt;
  row.ambient_c = outdoor.dry_bulb_c;
  row.wet_bulb_c = outdoor.wet_bulb_c;
  row.rack_kw.assign(racks_.size(), 0);
  row.rack_gpu_max_c.assign(racks_.size(), 0);
  std::vector<double> rack_gpu_w(racks_.size(), 0);
  for (const Server& server : servers_) {
    double watts = 0, busy = 0;
    for (std::size_t g = server.first_gpu; g < server.first_gpu + server.gpus; ++g) watts += gpu_w[g], busy += gpu_busy[g];
    busy /= static_cast<double>(server.gpus);
    // Fans follow the air-side heat; immersion servers have none.
    const ServerKind& type = kinds_[server.kind];
    const double liquid_share = kind == CoolingKind::Air ? 0 : halls_.front().model.cooling.liquid.capture_fraction;
    const double fan_speed = std::clamp(watts / (server.gpus * type.gpu->tdp_w), 0.0, 1.0) * (1 - liquid_share);
    HostPowerModel host = type.host;
    if (kind == CoolingKind::Immersion) host.fans_idle_w = host.fans_max_w = 0;
    const auto rack = static_cast<std::size_t>(server.rack);
    const double wall_kw = server_wall_power_w(host, watts, busy * kCpuUtilizationAtFullLoad, fan_speed) / 1000;
    row.rack_kw[rack] += wall_kw;
    rack_gpu_w[rack] += watts;
    if (server.pool >= 0) pool_sums_[static_cast<std::size_t>(server.pool)].server_kw_seconds += wall_kw * dt;
  }
  for (std::size_t r = 0; r < racks_.size(); ++r) {
    row.rack_kw[r] += spec_.switches_per_rack * spec_.switch_w / 1000;
    rack_other_wall_w_[r] = row.rack_kw[r] * 1000 - rack_gpu_w[r] / spec_.psu_efficiency;
    if (spec_.rack_breaker_kw) {
      if (check_breaker(row.rack_kw[r], *spec_.rack_breaker_kw).over_limit) ++record_.breaker_overloads;
      rack_gpu_cap_w_[r] = rack_gpu_cap_w(breaker_continuous_limit_kw(*spec_.rack_breaker_kw) * 1000, rack_other_wall_w_[r],
                                          rack_gpus_[r], spec_.psu_efficiency, rack_board_limit_w_[r]);
    }
  }

  // Temperatures: rack node over the plant's supply, each GPU over its rack node.
  for (std::size_t r = 0; r < racks_.size(); ++r) {
    const Hall& hall = halls_[r / static_cast<std::size_t>(racks_per_hall)];
    racks_[r].step(row.rack_kw[r] * 1000, cooling_supply_c(hall.model.cooling), dt);
  }
  double busy_sum = 0, serving_w_sum = 0;
  int serving = 0;
  std::vector<double> hall_hottest(halls_.size(), 0), hall_busy(halls_.size(), 0), hall_serving(halls_.size(), 0);
  for (std::size_t i = 0; i < gpus_.size(); ++i) {
    Gpu& gpu = gpus_[i];
    const auto rack = static_cast<std::size_t>(gpu.rack);
    const std::size_t hall = rack / static_cast<std::size_t>(racks_per_hall);
    gpu.node.step(gpu_w[i], racks_[rack].temperature_c, dt, convective_resistance_scale(halls_[hall].flow));
    gpu.thermal_clock = throttle_clock_fraction(spec_.throttle, gpu.node.temperature_c);
    row.rack_gpu_max_c[rack] = std::max(row.rack_gpu_max_c[rack], gpu.node.temperature_c);
    hall_hottest[hall] = std::max(hall_hottest[hall], gpu.node.temperature_c);
    if (gpu.replica >= 0 && alive[static_cast<std::size_t>(gpu.replica)]) {
      if (gpu.thermal_clock < 1) throttled_gpu_seconds_ += dt;
      busy_sum += gpu_busy[i];
      serving_w_sum += gpu_w[i];
      ++serving;
      hall_busy[hall] += gpu_busy[i];
      hall_serving[hall] += 1;
      if (!pool_sums_.empty()) {
        PoolSums& pool = pool_sums_[static_cast<std::size_t>(scenario_.disaggregation->pool_index(gpu.replica))];
        pool.serving_gpu_seconds += dt;
        pool.serving_gpu_joules += gpu_w[i] * dt;
      }
    }
  }
  row.gpu_max_c = *std::max_element(row.rack_gpu_max_c.begin(), row.rack_gpu_max_c.end());
  row.gpu_utilization = serving > 0 ? busy_sum / serving : 0;
  row.serving_gpu_w = serving > 0 ? serving_w_sum / serving : 0;
  serving_gpu_joules_ += serving_w_sum * dt;
  record_.gpu_max_c = std::max(record_.gpu_max_c, row.gpu_max_c);

  // Halls: power chain and cooling at this weather, then the controller's flow for the next interval.
  PowerTotals site;
  for (std::size_t h = 0; h < halls_.size(); ++h) {
    Hall& hall = halls_[h];
    double it_kw = 0;
    for (std::size_t r = h * static_cast<std::size_t>(racks_per_hall); r < (h + 1) * static_cast<std::size_t>(racks_per_hall); ++r)
      it_kw += row.rack_kw[r];
    const EnergyBalance balance = hall_balance(hall.model, it_kw, outdoor, hall.flow);
    add_scaled(record_.energy_kwh, balance, dt / 3600);
    site += totals(balance);
    hall.it_kw_seconds += it_kw * dt;
    const double load = hall_serving[h] > 0 ? hall_busy[h] / hall_serving[h] : 0;
    switch (spec_.policy) {
      case CoolingPolicy::Seed: hall.flow = spec_.seed_controller.decide(hall_hottest[h], load).flow_multiplier; break;
      case CoolingPolicy::Proportional: hall.flow = spec_.proportional_controller.decide(hall_hottest[h]).flow_multiplier; break;
      case CoolingPolicy::None: hall.flow = 1; break;
    }
  }
  row.flow_multiplier = halls_.front().flow;
  row.power = site;
  row.pue = site.it_kw > 0 ? site.facility_kw() / site.it_kw : 0;
  pue_.add(start, dt, site);
  record_.intervals.push_back(std::move(row));
  accounted_bins_ = bin + 1;
}

void FacilityRuntime::finish(RunRecord& run, const std::vector<StepCost>& work_done, const std::vector<bool>& alive) {
  const TimeSeries& series = run.series;
  snapshot_work(work_done);
  if (accounted_bins_ < series.bins()) {
    // The last interval's work was observed at its end, not one interval later.
    work_in_previous_interval_ = work_in_interval_;
    clock_previous_ = clock_current_;
    account(series.bins() - 1, series, alive);
  }
  record_.pue = pue_.summary(spec_.pue_target);
  const double duration = scenario_.simulation.duration_s;
  std::vector<HallLoad> loads;
  for (const Hall& hall : halls_) loads.push_back({hall.model, hall.it_kw_seconds / duration});
  record_.annualized_pue = annualized_pue(loads, weather_);
  record_.throttled_fraction = serving_gpu_seconds_ > 0 ? throttled_gpu_seconds_ / serving_gpu_seconds_ : 0;
  record_.serving_gpu_w_mean = serving_gpu_seconds_ > 0 ? serving_gpu_joules_ / serving_gpu_seconds_ : 0;
  record_.power_capped_fraction = serving_gpu_seconds_ > 0 ? capped_gpu_seconds_ / serving_gpu_seconds_ : 0;
  for (const PoolSums& pool : pool_sums_)
    record_.pools.push_back({pool.server_kw_seconds / duration, pool.server_kw_seconds / 3600,
                             pool.serving_gpu_seconds > 0 ? pool.serving_gpu_joules / pool.serving_gpu_seconds : 0});

  double down = 0;
  for (const Outage& o : record_.outages) down += std::min(o.serving_again_s, duration) - o.failed_at_s;
  record_.availability = 1 - down / (duration * static_cast<double>(work_done.size()));

  // Alerts on the per-interval series; P99 latency = TTFT of the requests whose first token came then.
  std::vector<std::vector<double>> ttft(record_.intervals.size());
  for (const RequestRecord& r : run.requests) {
    if (std::isnan(r.first_token_s)) continue;
    const auto b = std::min(record_.intervals.size() - 1, static_cast<std::size_t>(r.first_token_s / series.interval()));
    ttft[b].push_back(r.first_token_s - r.arrival_s);
  }
  for (const FacilitySpec::Alert& alert : spec_.alerts) {
    std::vector<TimedValue> values;
    for (std::size_t b = 0; b < record_.intervals.size(); ++b) {
      const FacilityInterval& row = record_.intervals[b];
      double value = row.gpu_max_c;
      if (alert.metric == "gpu_utilization") value = row.gpu_utilization;
      if (alert.metric == "p99_latency_s") value = ttft[b].empty() ? 0 : percentile(ttft[b], 99);
      values.push_back({row.end_s, value});
    }
    record_.alerts.push_back({alert.metric, alert.rule, evaluate_alert(alert.rule, values)});
  }
  run.facility = std::move(record_);
}

void FacilityRuntime::observe_down(int replica, double now) {
  for (Outage& o : record_.outages)
    if (o.replica == replica && o.removed_at_s < 0 && now < o.serving_again_s) o.removed_at_s = now;
}

Outage& FacilityRuntime::open_outage(int replica, double now, double serving_again_s, long long in_flight) {
  record_.outages.push_back({replica, now, -1, serving_again_s, in_flight, 0, 0, 0});
  return record_.outages.back();
}

Outage* FacilityRuntime::current_outage(int replica) {
  for (auto it = record_.outages.rbegin(); it != record_.outages.rend(); ++it)
    if (it->replica == replica) return &*it;
  return nullptr;
}

}  // namespace aidc
