#pragma once
// IT power from what the hardware is doing: GPUs (idle, process alive, busy on memory- or
// compute-bound work, under a power cap), host parts, switches. Data in, watts out; the event loop
// integrates these over simulated time.
#include <vector>

namespace aidc::facility {

// Device ceilings the utilizations are fractions of (catalog datasheet or calibration device_peaks).
struct DevicePeaks {
  double memory_gbps = 0;  // bytes moved per second / 1e9
  double tflops = 0;       // dense FLOPs per second / 1e12
};

// What a GPU did over an interval, as the performance model knows it.
struct GpuWork {
  bool process_alive = true;  // false: no serving process on the GPU (driver idle)
  double busy_fraction = 0;   // share of the interval with kernels running, [0, 1]
  // While busy: achieved fractions of DevicePeaks at nominal clocks, [0, 1] each. Decode GEMV runs near
  // memory 0.8 / compute 0.05; a large prefill GEMM near memory 0.2 / compute 0.8.
  double memory_utilization = 0;
  double compute_utilization = 0;
};

// GpuWork for `busy_s` seconds of kernels that moved `bytes` and did `flops`, in an interval of
// `interval_s` seconds.
GpuWork gpu_work_from_counts(double bytes, double flops, double busy_s, double interval_s,
                             const DevicePeaks& peaks);

// Linear power model: P_busy = process_idle_w + w_per_memory_util·m + w_per_compute_util·c.
struct GpuPowerModel {
  double no_process_w = 0;       // driver loaded, no process (nvidia-smi idle)
  double process_idle_w = 0;     // a serving process holds the GPU at P0, no kernels
  double w_per_memory_util = 0;  // added watts at 100% of peak memory bandwidth
  double w_per_compute_util = 0; // added watts at 100% of peak FLOPs
  double power_limit_w = 0;      // board limit (TDP) or the operator's cap, whichever is lower
};

// From catalog numbers alone (tdp_w, idle_w; idle_w <= 0 means unknown). The ratios to TDP come from
// the H100 SXM measurement in docs/facility.md (74 W idle, 132 W process idle, 480 W decode GEMV at
// 0.80 of peak bandwidth, ~695 W GEMM at 0.78 of peak FLOPs, TDP 700 W).
GpuPowerModel gpu_power_from_catalog(double tdp_w, double idle_w);

// One measured point of a calibration power curve (aidc-calibration/1 `power.points`).
struct PowerPoint {
  double memory_utilization = 0;   // gbps / device_peaks.copy_gbps
  double compute_utilization = 0;  // tflops / device_peaks.gemm_bf16_tflops
  double power_w = 0;
};

// Least-squares fit of w_per_memory_util and w_per_compute_util through the calibration points, with
// the intercept held at the measured process-idle power. Needs two points that are not collinear in
// (memory, compute); throws std::invalid_argument otherwise.
GpuPowerModel gpu_power_from_calibration(double tdp_w, double no_process_w, double process_idle_w,
                                         const std::vector<PowerPoint>& points);

// The same model with an operator power cap (nvidia-smi -pl); the cap never raises the limit.
GpuPowerModel with_power_cap(GpuPowerModel model, double cap_w);

// Dynamic power scales with f·V², and V tracks f in the DVFS range, so P_dyn ∝ f³.
inline constexpr double kDvfsPowerExponent = 3.0;

struct GpuPowerState {
  double power_w = 0;         // average over the interval, after the limit
  double demanded_w = 0;      // what the work would draw at nominal clocks
  double clock_fraction = 1;  // clock the power limit leaves, (0, 1]
};

// Average power over an interval and the clock the limit leaves while busy:
// f = ((P_limit − P_process_idle) / (P_demand − P_process_idle))^(1/3) when P_demand > P_limit.
GpuPowerState gpu_power(const GpuPowerModel& model, const GpuWork& work);

// Step time multiplier when clocks fall to `clock_fraction`: the compute-bound share of the step
// stretches by 1/f, the memory-bound rest does not (HBM clocks are independent of SM clocks).
double step_time_multiplier(double clock_fraction, double compute_bound_share);

// Host parts of one server; the numbers come from the server catalog (scenarios/catalog/servers.yaml
// host_power, same names), only the PSU efficiency is a facility parameter.
struct HostPowerModel {
  int cpu_sockets = 0;
  double cpu_idle_w = 0;   // per socket
  double cpu_max_w = 0;    // per socket
  double memory_w = 0;
  int nics = 0;
  double nic_w = 0;
  int nvme_drives = 0;
  double nvme_w = 0;
  double fans_idle_w = 0;  // fans at their minimum speed
  double fans_max_w = 0;   // fans at full speed; in between power follows speed³ (affinity law)
  double psu_efficiency = 0.94;  // wall power = DC power / efficiency (80 PLUS Platinum at 50% load)
};

// DC watts of the host parts (GPUs excluded) at the given CPU utilization and fan speed (fraction of
// full speed; below the minimum speed the fans draw fans_idle_w).
double host_dc_power_w(const HostPowerModel& host, double cpu_utilization, double fan_speed);

// Wall (IT) watts of one server: (GPU board power + host DC power) / PSU efficiency.
double server_wall_power_w(const HostPowerModel& host, double gpus_w, double cpu_utilization,
                           double fan_speed);

// Switches draw close to constant power whatever the traffic (ExaDigiT RAPS: 250 W each).
struct SwitchPowerModel {
  double switch_w = 250;
};

// Per-GPU cap that keeps a rack under its breaker's continuous limit, or the board limit if that
// already fits. `other_wall_w` is everything on the breaker that is not GPU board power.
double rack_gpu_cap_w(double breaker_limit_w, double other_wall_w, int gpus, double psu_efficiency,
                      double board_limit_w);

}  // namespace aidc::facility
