#pragma once
// Couples the serving simulation to the facility physics (sim/facility): each timeseries interval,
// the replicas' iterations become GPU, server, rack and hall power; the power chain and cooling
// plant turn that into an energy balance and a PUE; RC nodes turn power into GPU temperatures;
// throttling and power limits become the clock each replica runs at next. Plain data: the monitor
// actor calls it with what the replicas recorded, no SimGrid here.
#include <memory>
#include <vector>

#include "catalog/catalog.hpp"
#include "facility/facility.hpp"
#include "facility/it_power.hpp"
#include "facility/thermal.hpp"
#include "facility/weather.hpp"
#include "platform/layout.hpp"
#include "scenario/scenario.hpp"
#include "perf/performance_model.hpp"
#include "serving/facility_record.hpp"
#include "serving/metrics.hpp"

namespace aidc {

class FacilityRuntime {
 public:
  // Disaggregated, each server draws as its own GPU and server type (installed_servers) and each
  // replica's GPUs are its pool's.
  FacilityRuntime(const Scenario& scenario, const Catalog& catalog, const std::vector<ReplicaPlacement>& placements);

  // At the end of interval `bin`: accounts interval bin − 1, whose iterations have all been recorded
  // by now (a run of iterations is recorded when it ends), and returns each replica's clock for the
  // next interval. `work_done`: each replica's work so far at nominal clocks; `alive`: replicas whose
  // serving process runs (failed ones draw driver-idle power).
  std::vector<double> end_interval(std::size_t bin, const TimeSeries& series, const std::vector<StepCost>& work_done,
                                   const std::vector<bool>& alive);
  // After the simulation: accounts the last interval, PUE summaries, alerts, availability.
  void finish(RunRecord& record, const std::vector<StepCost>& work_done, const std::vector<bool>& alive);

  // Failures: a health check finding `replica` down, and outages as the replicas report them.
  void observe_down(int replica, double now);
  Outage& open_outage(int replica, double now, double serving_again_s, long long in_flight);
  Outage* current_outage(int replica);
  // Seconds from repair to serving again for `replica`: process start + its GPU's weights from storage.
  double weight_reload_s(int replica) const { return weight_reload_s_[static_cast<std::size_t>(replica)]; }

 private:
  // The power of one GPU and server type: each server and its GPUs are of one kind.
  struct ServerKind {
    const GpuSpec* gpu = nullptr;
    const ServerSpec* server = nullptr;
    facility::GpuPowerModel gpu_power;         // with the operator's cap
    facility::DevicePeaks utilization_roof;  // utilization of the power model's peaks at the roofline
    facility::HostPowerModel host;
    double peak_wall_w = 0;                    // the planned peak of one server
  };
  struct Server {
    int rack = 0, pool = -1;  // pool: as InstalledServer
    std::size_t kind = 0, first_gpu = 0, gpus = 0;  // GPUs [first_gpu, first_gpu + gpus) of gpus_
  };
  struct Gpu {
    int rack = 0, replica = -1;  // replica -1: no process on it
    std::size_t kind = 0;
    facility::RcNode node;
    double power_clock = 1, thermal_clock = 1;
  };
  struct Hall {
    facility::HallModel model;
    double flow = 1;
    double it_kw_seconds = 0;  // for the annualized PUE at the hall's mean load
  };

  void account(std::size_t bin, const TimeSeries& series, const std::vector<bool>& alive);
  void snapshot_work(const std::vector<StepCost>& work_done);

  const Scenario& scenario_;
  const FacilitySpec& spec_;
  std::vector<ServerKind> kinds_;
  std::vector<Server> servers_;            // rack by rack
  facility::ThermalDefaults thermal_;
  facility::WeatherSeries weather_;
  std::vector<Gpu> gpus_;                  // [rack][server][gpu] flattened
  std::vector<facility::RcNode> racks_;
  std::vector<double> rack_gpu_cap_w_;     // from the breaker, per rack
  std::vector<double> rack_other_wall_w_;  // last interval's non-GPU wall power per rack
  std::vector<double> rack_board_limit_w_; // the highest GPU power limit in each rack
  std::vector<int> rack_gpus_;
  std::vector<Hall> halls_;
  std::vector<int> replica_tp_;
  std::vector<StepCost> work_at_last_sample_, work_in_interval_, work_in_previous_interval_;
  std::vector<double> clock_current_, clock_previous_;  // set at the last sample, and the one before
  facility::PueTracker pue_;
  double serving_gpu_seconds_ = 0, throttled_gpu_seconds_ = 0, capped_gpu_seconds_ = 0, serving_gpu_joules_ = 0;
  std::vector<double> weight_reload_s_;  // per replica
  struct PoolSums {
    double server_kw_seconds = 0, serving_gpu_seconds = 0, serving_gpu_joules = 0;
  };
  std::vector<PoolSums> pool_sums_;  // disaggregated: prefill, decode
  std::size_t accounted_bins_ = 0;
  FacilityRecord record_;
};

}  // namespace aidc
