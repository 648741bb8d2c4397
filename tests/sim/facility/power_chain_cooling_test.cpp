#include <gtest/gtest.h>

#include "facility/facility.hpp"

using namespace aidc::facility;

namespace {

constexpr double kDesignItKw = 1000;

// A Hong Kong colocation hall: 2N UPS, IT at 80% of design.
HallModel hong_kong_hall(CoolingKind kind) {
  HallModel hall;
  hall.power.ups.rated_kw = 2 * kDesignItKw;
  hall.cooling = default_cooling_plant(kind, kDesignItKw * 1.05);
  return hall;
}

double cooling_sum(const CoolingPower& c) {
  return c.crah_fans_kw + c.crac_kw + c.chiller_kw + c.chilled_water_pumps_kw + c.economizer_pumps_kw +
         c.tower_pumps_kw + c.tower_fans_kw + c.liquid_pumps_kw + c.dry_cooler_fans_kw;
}

}  // namespace

TEST(PowerChain, UpsLossFollowsTheThreeTermModel) {
  UpsModel ups;
  ups.rated_kw = 1000;  // 0.5% no-load, 2% proportional, 0.5% square-law
  EXPECT_NEAR(ups_loss_kw(ups, 500), 1000 * (0.005 + 0.02 * 0.5 + 0.005 * 0.25), 1e-9);
  EXPECT_NEAR(ups_efficiency(ups, 500), 500 / (500 + 16.25), 1e-12);
  // Efficiency falls at light load, as published UPS curves do.
  EXPECT_LT(ups_efficiency(ups, 100), ups_efficiency(ups, 500));
}

TEST(PowerChain, BreakerContinuousLimitIsEightyPercent) {
  const BreakerCheck check = check_breaker(20, 24);
  EXPECT_DOUBLE_EQ(check.limit_kw, 19.2);
  EXPECT_TRUE(check.over_limit);
  EXPECT_FALSE(check_breaker(19, 24).over_limit);
}

TEST(EnergyBalance, FacilityPowerEqualsUtilityFeedToOneTenthPercent) {
  const WeatherSeries year = hong_kong_typical_year();
  for (CoolingKind kind : {CoolingKind::Air, CoolingKind::DirectLiquid, CoolingKind::Immersion}) {
    const HallModel hall = hong_kong_hall(kind);
    const double it_kw = 0.8 * kDesignItKw;
    const Weather july = year.at(hour_of_year(7, 15, 14));
    const EnergyBalance b = hall_balance(hall, it_kw, july);
    // Utility feed computed along the electrical path: UPS input = its output (IT + distribution loss)
    // plus its loss; plus lighting; plus mechanical loads fed outside the UPS.
    const double r = hall.power.distribution_loss_ratio;
    const double ups_output = it_kw / (1 - r);
    const double ups_input = ups_output + ups_loss_kw(hall.power.ups, ups_output);
    const double feed = ups_input + it_kw * hall.power.lighting_other_ratio + cooling_sum(b.cooling);
    EXPECT_NEAR(b.facility_kw(), feed, 1e-3 * feed) << static_cast<int>(kind);
    EXPECT_NEAR(b.pue(), feed / it_kw, 1e-3 * feed / it_kw);
  }
}

TEST(Cooling, MooreCracCopReproducesThePapersPoints) {
  EXPECT_NEAR(crac_cop_moore(15), 2.0, 0.01);
  EXPECT_NEAR(crac_cop_moore(20), 3.19, 0.01);
  EXPECT_NEAR(crac_cop_moore(25), 4.73, 0.01);
}

TEST(Cooling, LeiMasanetChillerCopMatchesTheRegression) {
  // COP = 16.798751 + 0.008840 t² − 8.528931 L² + 9.885294 L − 0.760621 t + 0.084615 L t, at t = 30, L = 0.6.
  const double t = 30, L = 0.6;
  const double by_hand = 16.798751 + 0.008840 * 900 - 8.528931 * 0.36 + 9.885294 * 0.6 - 0.760621 * 30 +
                         0.084615 * 0.6 * 30;
  EXPECT_NEAR(chiller_cop_lei_masanet(t, L), by_hand, 1e-12);
  EXPECT_NEAR(by_hand, 6.320, 1e-3);
  // Hotter condenser water costs efficiency over the Hong Kong range.
  EXPECT_GT(chiller_cop_lei_masanet(20, 0.6), chiller_cop_lei_masanet(32, 0.6));
}

TEST(Cooling, EconomizerShareIsClippedLinear) {
  EXPECT_DOUBLE_EQ(free_cooling_share(25, 17.5, 15), 1.0);
  EXPECT_NEAR(free_cooling_share(25, 17.5, 20), (25 - 20) / 7.5, 1e-12);
  EXPECT_DOUBLE_EQ(free_cooling_share(25, 17.5, 30), 0.0);
}

TEST(Cooling, CracPlantUsesMooreCopAtTheSupplyTemperature) {
  CoolingPlant plant = default_cooling_plant(CoolingKind::Air, 100);
  plant.air.plant = AirPlantKind::Crac;
  plant.air.supply_air_c = 20;
  const CoolingPower p = cooling_power(plant, HeatLoad{80, 5}, Weather{30, 70, 26});
  EXPECT_NEAR(p.crac_kw, 85 / (0.0068 * 400 + 0.0008 * 20 + 0.458), 1e-9);
  EXPECT_DOUBLE_EQ(p.total_kw(), p.crac_kw);
}

TEST(Cooling, FansAndPumpsFollowTheAffinityLaw) {
  const CoolingPlant plant = default_cooling_plant(CoolingKind::DirectLiquid, 1000);
  const Weather w{25, 70, 21};
  const CoolingPower base = cooling_power(plant, HeatLoad{800, 40}, w, 1.0);
  const CoolingPower high = cooling_power(plant, HeatLoad{800, 40}, w, 1.3);
  EXPECT_NEAR(high.crah_fans_kw, base.crah_fans_kw * 1.3 * 1.3 * 1.3, 1e-9);
  EXPECT_NEAR(high.liquid_pumps_kw, base.liquid_pumps_kw * 1.3 * 1.3 * 1.3, 1e-9);
}

// Published ranges (docs/facility.md): air 1.3–1.6, direct liquid 1.1–1.2, immersion 1.02–1.1.
struct PueRange {
  CoolingKind kind;
  double low;
  double high;
};

class HongKongPue : public ::testing::TestWithParam<PueRange> {};

TEST_P(HongKongPue, SummerWinterAndAnnualLandInThePublishedRange) {
  const PueRange range = GetParam();
  const WeatherSeries year = hong_kong_typical_year();
  const HallModel hall = hong_kong_hall(range.kind);
  const double it_kw = 0.8 * kDesignItKw;
  for (double hour : {hour_of_year(7, 15, 14), hour_of_year(8, 1, 3), hour_of_year(1, 15, 5), hour_of_year(1, 20, 14)}) {
    const double pue = hall_balance(hall, it_kw, year.at(hour)).pue();
    EXPECT_GE(pue, range.low) << "hour " << hour;
    EXPECT_LE(pue, range.high) << "hour " << hour;
  }
  const double annual = annualized_pue({HallLoad{hall, it_kw}}, year);
  EXPECT_GE(annual, range.low);
  EXPECT_LE(annual, range.high);
  // Summer costs more than winter.
  EXPECT_GT(hall_balance(hall, it_kw, year.at(hour_of_year(7, 15, 14))).pue(),
            hall_balance(hall, it_kw, year.at(hour_of_year(1, 15, 5))).pue());
}

INSTANTIATE_TEST_SUITE_P(Kinds, HongKongPue,
                         ::testing::Values(PueRange{CoolingKind::Air, 1.3, 1.6},
                                           PueRange{CoolingKind::DirectLiquid, 1.1, 1.2},
                                           PueRange{CoolingKind::Immersion, 1.02, 1.1}));
