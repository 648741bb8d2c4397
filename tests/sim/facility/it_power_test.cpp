#include <gtest/gtest.h>

#include <cmath>

#include "facility/it_power.hpp"
#include "facility/thermal.hpp"

using namespace aidc::facility;

namespace {
// docs/facility.md "GPU power": H100 SXM 700 W, idle 74 W, process idle 132 W, decode-like GEMV 480 W at
// 2.69 of 3.35 TB/s, GEMM ~695 W at 768 of 989 TFLOPs.
constexpr double kGemvMemoryUtil = 2.69 / 3.35;
constexpr double kGemmComputeUtil = 768.0 / 989.0;
}  // namespace

TEST(GpuPower, CatalogModelReproducesTheH100Measurements) {
  const GpuPowerModel h100 = gpu_power_from_catalog(700, 74);
  GpuWork idle{true, 0, 0, 0};
  EXPECT_NEAR(gpu_power(h100, idle).power_w, 132, 1e-9);
  GpuWork no_process{false, 0, 0, 0};
  EXPECT_NEAR(gpu_power(h100, no_process).power_w, 74, 1e-9);
  GpuWork decode{true, 1.0, kGemvMemoryUtil, 0};
  EXPECT_NEAR(gpu_power(h100, decode).power_w, 480, 1e-9);
  GpuWork gemm{true, 1.0, 0, kGemmComputeUtil};
  EXPECT_NEAR(gpu_power(h100, gemm).power_w, 695, 1e-9);
  EXPECT_DOUBLE_EQ(gpu_power(h100, gemm).clock_fraction, 1.0);
}

TEST(GpuPower, CatalogModelScalesWithTdpAndKeepsAKnownIdle) {
  const GpuPowerModel a100 = gpu_power_from_catalog(400, 88);
  // Process-idle overhead scales with TDP: 88 + (132 − 74)·400/700.
  EXPECT_NEAR(a100.process_idle_w, 88 + 58.0 * 400 / 700, 1e-9);
  // Unknown idle: 74 W scaled by TDP.
  EXPECT_NEAR(gpu_power_from_catalog(350, 0).no_process_w, 37, 1e-9);
}

TEST(GpuPower, AveragePowerIsLinearInBusyFraction) {
  const GpuPowerModel h100 = gpu_power_from_catalog(700, 74);
  GpuWork half{true, 0.5, kGemvMemoryUtil, 0};
  EXPECT_NEAR(gpu_power(h100, half).power_w, (132 + 480) / 2.0, 1e-9);
}

TEST(GpuPower, WorkFromCountsDividesByPeaksAndBusyTime) {
  // 1 s busy in a 4 s interval, 1.5 TB moved and 100 TFLOP done on a 3.35 TB/s, 989 TFLOPs GPU.
  const GpuWork w = gpu_work_from_counts(1.5e12, 100e12, 1.0, 4.0, DevicePeaks{3350, 989});
  EXPECT_DOUBLE_EQ(w.busy_fraction, 0.25);
  EXPECT_NEAR(w.memory_utilization, 1.5 / 3.35, 1e-12);
  EXPECT_NEAR(w.compute_utilization, 100.0 / 989, 1e-12);
}

TEST(GpuPower, CalibrationFitRecoversAKnownPlane) {
  // Points on P = 131 + 400·m + 700·c.
  std::vector<PowerPoint> points;
  for (double m : {0.1, 0.5, 0.9})
    for (double c : {0.05, 0.4, 0.8}) points.push_back({m, c, 131 + 400 * m + 700 * c});
  const GpuPowerModel fit = gpu_power_from_calibration(700, 74, 131, points);
  EXPECT_NEAR(fit.w_per_memory_util, 400, 1e-6);
  EXPECT_NEAR(fit.w_per_compute_util, 700, 1e-6);
  const std::vector<PowerPoint> collinear{{0.2, 0.1, 300}, {0.4, 0.2, 400}};
  EXPECT_THROW(gpu_power_from_calibration(700, 74, 131, collinear), std::invalid_argument);
}

TEST(GpuPower, PowerCapSlowsPrefillAndBarelyDecode) {
  const GpuPowerModel capped = with_power_cap(gpu_power_from_catalog(700, 74), 400);
  const double w_mem = (480 - 132) / kGemvMemoryUtil;
  const double w_cmp = (695 - 132) / kGemmComputeUtil;

  GpuWork prefill{true, 1.0, 0.2, 0.8};
  const double prefill_demand = 132 + 0.2 * w_mem + 0.8 * w_cmp;
  const double prefill_clock = std::cbrt((400 - 132) / (prefill_demand - 132));
  const GpuPowerState p = gpu_power(capped, prefill);
  EXPECT_NEAR(p.clock_fraction, prefill_clock, 1e-12);
  EXPECT_NEAR(p.power_w, 400, 1e-9);

  GpuWork decode{true, 1.0, 0.8, 0.05};
  const double decode_demand = 132 + 0.8 * w_mem + 0.05 * w_cmp;
  const double decode_clock = std::cbrt((400 - 132) / (decode_demand - 132));
  const GpuPowerState d = gpu_power(capped, decode);
  EXPECT_NEAR(d.clock_fraction, decode_clock, 1e-12);

  // Prefill steps are ~90% compute-bound, decode steps ~10%.
  const double prefill_slowdown = step_time_multiplier(p.clock_fraction, 0.9);
  const double decode_slowdown = step_time_multiplier(d.clock_fraction, 0.1);
  EXPECT_NEAR(prefill_slowdown, 0.9 / prefill_clock + 0.1, 1e-12);
  EXPECT_GT(prefill_slowdown, 1.25);
  EXPECT_LT(decode_slowdown, 1.02);
}

TEST(GpuPower, ThermalThrottlingCutsPrefillMoreThanDecode) {
  const ThrottleModel throttle;  // 87 °C start, 92 °C full, 0.6 floor
  EXPECT_DOUBLE_EQ(throttle_clock_fraction(throttle, 80), 1.0);
  EXPECT_NEAR(throttle_clock_fraction(throttle, 89.5), 1 - 0.5 * 0.4, 1e-12);
  EXPECT_NEAR(throttle_clock_fraction(throttle, 95), 0.6, 1e-12);
  const double f = throttle_clock_fraction(throttle, 89.5);
  EXPECT_NEAR(step_time_multiplier(f, 0.9), 0.9 / 0.8 + 0.1, 1e-12);
  EXPECT_NEAR(step_time_multiplier(f, 0.1), 0.1 / 0.8 + 0.9, 1e-12);
}

TEST(HostPower, SumsThePartsAndDividesByPsuEfficiency) {
  // The catalog's hgx-8 host: 2 sockets 90/280 W, memory 74 W, 8 NICs × 20 W, 8 NVMe × 30 W, fans 150/600 W.
  const HostPowerModel host{2, 90, 280, 74, 8, 20, 8, 30, 150, 600, 0.94};
  const double parts = 2 * (90 + 190 * 0.5) + 74 + 8 * 20 + 8 * 30;
  EXPECT_NEAR(host_dc_power_w(host, 0.5, 0.8), parts + 600 * 0.512, 1e-9);
  EXPECT_NEAR(host_dc_power_w(host, 0.5, 0.3), parts + 150, 1e-9);  // 600·0.027 < the 150 W minimum
  EXPECT_NEAR(server_wall_power_w(host, 8 * 700, 0.5, 0.8), (5600 + parts + 307.2) / 0.94, 1e-9);
}

TEST(HostPower, RackCapKeepsTheBreakerAtItsContinuousLimit) {
  // 24 kW breaker -> 19.2 kW continuous; 4 kW of other load; 32 GPUs behind 94% PSUs.
  EXPECT_NEAR(rack_gpu_cap_w(19200, 4000, 32, 0.94, 700), (19200 - 4000) * 0.94 / 32, 1e-9);
  EXPECT_DOUBLE_EQ(rack_gpu_cap_w(32000, 4000, 32, 0.94, 700), 700);
}
