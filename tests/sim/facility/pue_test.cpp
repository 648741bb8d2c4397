#include <gtest/gtest.h>

#include "facility/facility.hpp"

using namespace aidc::facility;

TEST(PueTracker, MeanEnergyWeightedWorstHourAndCoolingShare) {
  PueTracker tracker;
  tracker.add(0, 1800, PowerTotals{100, 10, 40});     // PUE 1.5
  tracker.add(1800, 1800, PowerTotals{100, 10, 20});  // PUE 1.3
  tracker.add(3600, 3600, PowerTotals{50, 5, 25});    // PUE 1.6
  const PueSummary s = tracker.summary(1.2);
  EXPECT_NEAR(s.it_kwh, 50 + 50 + 50, 1e-9);
  EXPECT_NEAR(s.facility_kwh, 75 + 65 + 80, 1e-9);
  EXPECT_NEAR(s.pue_energy_weighted, 220.0 / 150, 1e-12);
  EXPECT_NEAR(s.pue_mean, (1.5 * 0.5 + 1.3 * 0.5 + 1.6 * 1) / 2, 1e-12);
  EXPECT_NEAR(s.pue_worst_hour, 1.6, 1e-12);
  EXPECT_DOUBLE_EQ(s.worst_hour_start_s, 3600);
  EXPECT_NEAR(s.cooling_share, (20 + 10 + 25) / 220.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.hours_above_target, 2);
  EXPECT_NEAR(s.it_kw_mean, 75, 1e-12);
  EXPECT_DOUBLE_EQ(s.it_kw_peak, 100);
}

TEST(PueTracker, IntervalsSpanningHoursAreSplit) {
  PueTracker tracker;
  tracker.add(1800, 3600, PowerTotals{100, 0, 100});  // half in hour 0, half in hour 1, PUE 2
  tracker.add(3600, 1800, PowerTotals{100, 0, 0});    // hour 1, PUE 1
  const PueSummary s = tracker.summary(1.2);
  // Hour 0: 50/100 kWh -> 2.0; hour 1: (50+50)/(100+50) -> 1.5.
  EXPECT_NEAR(s.pue_worst_hour, 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.worst_hour_start_s, 0);
}

// Issue 12: a near-idle half hour (PUE 3.0) beside a loaded one (1.1) gave an energy-weighted
// "worst hour" of 56.5/50.5 = 1.119, below the 2.05 mean. The hour's PUE is now the mean's statistic.
TEST(PueTracker, WorstHourIsNeverBelowTheMean) {
  PueTracker tracker;
  tracker.add(0, 1800, PowerTotals{100, 5, 5});  // PUE 1.1
  tracker.add(1800, 1800, PowerTotals{1, 1, 1});  // PUE 3.0
  tracker.add(3600, 3600, PowerTotals{100, 10, 10});  // PUE 1.2
  const PueSummary s = tracker.summary(1.5);
  EXPECT_NEAR(s.pue_mean, (1.1 + 3.0 + 2 * 1.2) / 4, 1e-12);
  EXPECT_NEAR(s.pue_worst_hour, (1.1 + 3.0) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(s.worst_hour_start_s, 0);
  EXPECT_GE(s.pue_worst_hour, s.pue_mean);
}

TEST(AnnualizedPue, ConstantWeatherGivesTheInstantaneousPue) {
  HallModel hall;
  hall.power.ups.rated_kw = 2000;
  hall.cooling = default_cooling_plant(CoolingKind::Air, 1050);
  const Weather w{28, 80, stull_wet_bulb_c(28, 80)};
  const WeatherSeries constant({WeatherSample{0, w}});
  EXPECT_NEAR(annualized_pue({HallLoad{hall, 800}}, constant), hall_balance(hall, 800, w).pue(), 1e-12);
}
