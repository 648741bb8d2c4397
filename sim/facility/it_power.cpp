#include "facility/it_power.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aidc::facility {
namespace {

double clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

// The H100 SXM reference measurement (docs/facility.md, "GPU power"): every catalog ratio below is
// derived from these numbers and nowhere else.
struct ReferenceGpuMeasurement {
  double tdp_w = 700;
  double no_process_w = 74;
  double process_idle_w = 132;
  double decode_gemv_w = 480;
  double decode_gemv_memory_utilization = 2.69 / 3.35;  // achieved TB/s over datasheet TB/s
  double gemm_w = 695;
  double gemm_compute_utilization = 768.0 / 989.0;      // achieved TFLOPs over datasheet TFLOPs
};
constexpr ReferenceGpuMeasurement kReference{};

}  // namespace

GpuWork gpu_work_from_counts(double bytes, double flops, double busy_s, double interval_s,
                             const DevicePeaks& peaks) {
  if (interval_s <= 0) throw std::invalid_argument("gpu_work_from_counts: interval_s must be > 0");
  GpuWork work;
  work.busy_fraction = clamp01(busy_s / interval_s);
  if (busy_s > 0) {
    work.memory_utilization = clamp01(bytes / busy_s / (peaks.memory_gbps * 1e9));
    work.compute_utilization = clamp01(flops / busy_s / (peaks.tflops * 1e12));
  }
  return work;
}

GpuPowerModel gpu_power_from_catalog(double tdp_w, double idle_w) {
  if (tdp_w <= 0) throw std::invalid_argument("gpu_power_from_catalog: tdp_w must be > 0");
  const auto& ref = kReference;
  const double scale = tdp_w / ref.tdp_w;
  GpuPowerModel model;
  model.no_process_w = idle_w > 0 ? idle_w : ref.no_process_w * scale;
  model.process_idle_w = model.no_process_w + (ref.process_idle_w - ref.no_process_w) * scale;
  model.w_per_memory_util =
      (ref.decode_gemv_w - ref.process_idle_w) / ref.decode_gemv_memory_utilization * scale;
  model.w_per_compute_util = (ref.gemm_w - ref.process_idle_w) / ref.gemm_compute_utilization * scale;
  model.power_limit_w = tdp_w;
  return model;
}

GpuPowerModel gpu_power_from_calibration(double tdp_w, double no_process_w, double process_idle_w,
                                         const std::vector<PowerPoint>& points) {
  // Normal equations of y = a·m + b·c with y = power − process_idle_w.
  double smm = 0, scc = 0, smc = 0, smy = 0, scy = 0;
  for (const auto& p : points) {
    const double y = p.power_w - process_idle_w;
    smm += p.memory_utilization * p.memory_utilization;
    scc += p.compute_utilization * p.compute_utilization;
    smc += p.memory_utilization * p.compute_utilization;
    smy += p.memory_utilization * y;
    scy += p.compute_utilization * y;
  }
  const double det = smm * scc - smc * smc;
  if (points.size() < 2 || std::abs(det) <= 1e-12 * std::max(1.0, smm * scc))
    throw std::invalid_argument(
        "calibration power curve: need at least two points that differ in their memory/compute mix");
  GpuPowerModel model;
  model.no_process_w = no_process_w;
  model.process_idle_w = process_idle_w;
  model.w_per_memory_util = (smy * scc - scy * smc) / det;
  model.w_per_compute_util = (scy * smm - smy * smc) / det;
  model.power_limit_w = tdp_w;
  return model;
}

GpuPowerModel with_power_cap(GpuPowerModel model, double cap_w) {
  if (cap_w <= model.process_idle_w)
    throw std::invalid_argument("power cap must be above the GPU's process-idle power");
  model.power_limit_w = std::min(model.power_limit_w, cap_w);
  return model;
}

GpuPowerState gpu_power(const GpuPowerModel& model, const GpuWork& work) {
  GpuPowerState state;
  if (!work.process_alive) {
    state.power_w = state.demanded_w = model.no_process_w;
    return state;
  }
  const double busy_demand_w = model.process_idle_w +
                               model.w_per_memory_util * clamp01(work.memory_utilization) +
                               model.w_per_compute_util * clamp01(work.compute_utilization);
  double busy_w = busy_demand_w;
  if (busy_demand_w > model.power_limit_w) {
    state.clock_fraction = std::pow((model.power_limit_w - model.process_idle_w) /
                                        (busy_demand_w - model.process_idle_w),
                                    1.0 / kDvfsPowerExponent);
    busy_w = model.power_limit_w;
  }
  const double u = clamp01(work.busy_fraction);
  state.power_w = (1 - u) * model.process_idle_w + u * busy_w;
  state.demanded_w = (1 - u) * model.process_idle_w + u * busy_demand_w;
  return state;
}

double step_time_multiplier(double clock_fraction, double compute_bound_share) {
  if (clock_fraction <= 0) throw std::invalid_argument("clock_fraction must be > 0");
  const double s = clamp01(compute_bound_share);
  return s / clock_fraction + (1 - s);
}

double host_dc_power_w(const HostPowerModel& host, double cpu_utilization, double fan_speed) {
  const double cpu_w =
      host.cpu_sockets * (host.cpu_idle_w + (host.cpu_max_w - host.cpu_idle_w) * clamp01(cpu_utilization));
  const double fan_w = std::max(host.fans_idle_w, host.fans_max_w * std::pow(clamp01(fan_speed), 3));
  return cpu_w + host.memory_w + host.nics * host.nic_w + host.nvme_drives * host.nvme_w + fan_w;
}

double server_wall_power_w(const HostPowerModel& host, double gpus_w, double cpu_utilization,
                           double fan_speed) {
  return (gpus_w + host_dc_power_w(host, cpu_utilization, fan_speed)) / host.psu_efficiency;
}

double rack_gpu_cap_w(double breaker_limit_w, double other_wall_w, int gpus, double psu_efficiency,
                      double board_limit_w) {
  if (gpus <= 0) return board_limit_w;
  const double per_gpu_w = (breaker_limit_w - other_wall_w) * psu_efficiency / gpus;
  return std::min(board_limit_w, std::max(0.0, per_gpu_w));
}

}  // namespace aidc::facility
