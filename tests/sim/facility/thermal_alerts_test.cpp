#include <gtest/gtest.h>

#include <cmath>

#include "facility/alerts.hpp"
#include "facility/thermal.hpp"

using namespace aidc::facility;

TEST(RcModel, StepResponseEqualsTheAnalyticCurve) {
  // T(t) = P·R + T_amb + (T0 − P·R − T_amb)·e^(−t/RC)
  const double R = 0.07, C = 300, P = 700, ambient = 25, T0 = 30;
  const auto analytic = [&](double t) { return P * R + ambient + (T0 - P * R - ambient) * std::exp(-t / (R * C)); };
  RcNode many_steps{R, C, T0};
  for (int i = 1; i <= 120; ++i) {
    many_steps.step(P, ambient, 0.5);
    EXPECT_NEAR(many_steps.temperature_c, analytic(0.5 * i), 1e-9);
  }
  RcNode one_step{R, C, T0};
  one_step.step(P, ambient, 60);
  EXPECT_NEAR(one_step.temperature_c, analytic(60), 1e-9);
  EXPECT_NEAR(one_step.time_constant_s(), 21, 1e-12);
}

TEST(RcModel, DefaultsGiveTheIntendedSteadyState) {
  const ThermalDefaults air = thermal_defaults(CoolingKind::Air);
  RcNode gpu = gpu_node(air, 22);
  EXPECT_NEAR(gpu.time_constant_s(), air.gpu_time_constant_s, 1e-9);
  EXPECT_NEAR(gpu.steady_state_c(700, 22), 22 + 700 * air.gpu_resistance_k_per_w, 1e-12);
  RcNode rack = rack_node(air, 22);
  EXPECT_NEAR(rack.steady_state_c(40000, 22), 22 + 40 * air.rack_rise_k_per_kw, 1e-9);
}

TEST(RcModel, MoreFlowLowersResistanceByDittusBoelter) {
  EXPECT_NEAR(convective_resistance_scale(1.3), std::pow(1.3, -0.8), 1e-12);
}

TEST(CoolingControl, SeedThermalControllerMatchesTheSeedCode) {
  const SeedThermalController controller;  // 75 °C, 80% load
  EXPECT_TRUE(controller.decide(76, 0.5).boosted);
  EXPECT_TRUE(controller.decide(60, 0.85).boosted);
  EXPECT_FALSE(controller.decide(75, 0.8).boosted);  // the seed compares with `>`
  EXPECT_DOUBLE_EQ(controller.decide(76, 0.5).flow_multiplier, controller.high_flow_multiplier);
  EXPECT_DOUBLE_EQ(controller.decide(70, 0.5).flow_multiplier, 1.0);
}

TEST(CoolingControl, ProportionalControllerClipsToItsRange) {
  const ProportionalController controller;  // setpoint 75, gain 0.05/K, [0.7, 1.3]
  EXPECT_NEAR(controller.decide(80).flow_multiplier, 1.25, 1e-12);
  EXPECT_DOUBLE_EQ(controller.decide(95).flow_multiplier, 1.3);
  EXPECT_DOUBLE_EQ(controller.decide(50).flow_multiplier, 0.7);
}

TEST(CoolingControl, BoostedFlowCoolsAHotGpu) {
  const ThermalDefaults air = thermal_defaults(CoolingKind::Air);
  RcNode normal = gpu_node(air, 30), boosted = gpu_node(air, 30);
  for (int i = 0; i < 600; ++i) {
    normal.step(700, 26, 1.0);
    boosted.step(700, 26, 1.0, convective_resistance_scale(1.3));
  }
  EXPECT_NEAR(normal.temperature_c, 26 + 700 * air.gpu_resistance_k_per_w, 1e-6);
  EXPECT_NEAR(boosted.temperature_c, 26 + 700 * air.gpu_resistance_k_per_w * std::pow(1.3, -0.8), 1e-6);
}

TEST(Alerts, ForDurationDelaysFiringLikePrometheus) {
  // Evaluations every 60 s; > 85 from t=60 through t=360, 84 at t=420, > 85 again at t=480 only.
  std::vector<TimedValue> temps;
  const double values[] = {80, 86, 86, 86, 86, 86, 86, 84, 86};
  for (int i = 0; i < 9; ++i) temps.push_back({60.0 * i, values[i]});
  const auto intervals = evaluate_alert(gpu_temperature_high_rule(), temps);
  ASSERT_EQ(intervals.size(), 1u);
  EXPECT_DOUBLE_EQ(intervals[0].pending_since_s, 60);
  EXPECT_DOUBLE_EQ(intervals[0].firing_since_s, 360);  // 300 s after it first held
  EXPECT_DOUBLE_EQ(intervals[0].resolved_at_s, 420);
  EXPECT_FALSE(intervals[0].still_firing);
}

TEST(Alerts, StillFiringAtTheEndAndZeroForFiresAtOnce) {
  std::vector<TimedValue> latency{{0, 0.2}, {15, 0.6}, {30, 0.7}, {45, 0.3}, {60, 0.9}};
  AlertRule instant{"P99Instant", Comparison::Greater, 0.5, 0};
  const auto intervals = evaluate_alert(instant, latency);
  ASSERT_EQ(intervals.size(), 2u);
  EXPECT_DOUBLE_EQ(intervals[0].firing_since_s, 15);
  EXPECT_DOUBLE_EQ(intervals[0].resolved_at_s, 45);
  EXPECT_TRUE(intervals[1].still_firing);
  EXPECT_DOUBLE_EQ(intervals[1].resolved_at_s, 60);
  // With the 60 s rule, 15 s of breach never fires.
  EXPECT_TRUE(evaluate_alert(p99_latency_high_rule(), latency).empty());
}
