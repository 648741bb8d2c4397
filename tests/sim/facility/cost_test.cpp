#include <gtest/gtest.h>

#include <cmath>

#include "cost/tco.hpp"

using namespace aidc::cost;

TEST(Payback, SeedArticleInputsGiveSixPointSevenMonths) {
  // Seed: private ¥280,000 up front vs cloud ¥42,000 a month, no operating cost counted.
  const auto months = payback_months(PaybackInputs{280000, 42000, 0, 0});
  ASSERT_TRUE(months.has_value());
  EXPECT_NEAR(*months, 280000.0 / 42000, 1e-12);
  EXPECT_NEAR(std::round(*months * 10) / 10, 6.7, 1e-12);
}

TEST(Payback, SeedArticlesVariantSubtractsA24MonthAmortization) {
  // Seed: 月节省 = 42,000 − 280,000/24 = 30,333; 回本周期 = 280,000 / 30,333 ≈ 9.2 个月.
  const auto months = payback_months(PaybackInputs{280000, 42000, 0, 24});
  ASSERT_TRUE(months.has_value());
  EXPECT_NEAR(*months, 280000 / (42000 - 280000.0 / 24), 1e-9);
  EXPECT_NEAR(std::round(*months * 10) / 10, 9.2, 1e-12);
}

TEST(Payback, NeverWhenOperatingCostsAsMuchAsRenting) {
  EXPECT_FALSE(payback_months(PaybackInputs{280000, 42000, 42000, 0}).has_value());
}

TEST(Money, ConvertsAtTheStatedRatesAndParses) {
  const ExchangeRates rates;  // 7.8 HKD and 7.2 CNY per USD
  EXPECT_NEAR(convert(Money{7.8, Currency::HKD}, Currency::USD, rates), 1.0, 1e-12);
  EXPECT_NEAR(convert(Money{280000, Currency::CNY}, Currency::HKD, rates), 280000 / 7.2 * 7.8, 1e-6);
  const Money m = parse_money("280000 CNY");
  EXPECT_DOUBLE_EQ(m.amount, 280000);
  EXPECT_EQ(m.currency, Currency::CNY);
  EXPECT_THROW(parse_money("280000"), std::invalid_argument);
  EXPECT_THROW(parse_money("lots CNY"), std::invalid_argument);
  EXPECT_THROW(parse_money("5 EUR"), std::invalid_argument);
}

TEST(Tco, CapexOpexTcoAndCostPerToken) {
  const ExchangeRates rates;
  CapexInputs in;
  in.gpus = 16;
  in.gpu_unit_price = {27500, Currency::USD};
  in.servers = 2;
  in.server_unit_price = {50000, Currency::USD};
  in.network = {40000, Currency::USD};
  in.racks = 1;
  in.rack_unit_price = {5000, Currency::USD};
  in.cooling_capacity_kw = 25;
  in.power_capacity_kw = 25;
  const CapexBreakdown c = capex(in, Currency::USD, rates);
  const double expected = 16 * 27500 + 2 * 50000 + 40000 + 5000 + 25 * 2250 + 25 * 2750;
  EXPECT_NEAR(c.total(), expected, 1e-6);

  OpexInputs op;
  op.facility_kwh_per_year = 150000;  // tariff 1.44 HKD/kWh
  op.maintenance_fraction_per_year = 0.05;
  op.racks = 1;
  op.space_per_rack_month = {10000, Currency::HKD};
  const OpexBreakdown o = opex_per_year(op, c.total(), Currency::HKD, rates);
  EXPECT_NEAR(o.electricity, 150000 * 1.44, 1e-6);
  EXPECT_NEAR(o.maintenance, 0.05 * c.total(), 1e-6);  // capex passed through as given
  EXPECT_NEAR(o.space, 120000, 1e-9);

  EXPECT_NEAR(total_cost_of_ownership(1e6, 2e5, 3), 1.6e6, 1e-6);
  // (1.2M / 3 years + 0.2M/year) over 4e9 output tokens a year = 150 per million tokens.
  EXPECT_NEAR(cost_per_million_output_tokens(1.2e6, 3, 2e5, 4e9), 150, 1e-9);
}

TEST(Tco, CloudRentAndCarbon) {
  const ExchangeRates rates;
  // 8 GPUs at the AWS H100 capacity-block price for 730 h.
  EXPECT_NEAR(cloud_monthly_cost(8, Money{4.916, Currency::USD}, Currency::USD, rates), 8 * 730 * 4.916, 1e-6);
  EXPECT_NEAR(carbon_tonnes(1e6), 390, 1e-9);  // CLP 0.39 kg/kWh
  EXPECT_NEAR(carbon_tonnes(1e6, 0.7), 700, 1e-9);
}

// Issue 12: payback came out ~10.3 months for every size because capex and the compared cloud rent both
// scale with the GPU count. The API comparison prices the tokens served instead: 1,000 input and 100
// output tokens/s for a 730-hour month are 2.628e9 and 2.628e8 tokens; at $0.27 and $1.10 per million,
// $709.56 + $289.08 = $998.64, or HK$7,789.39 at 7.8.
TEST(Payback, ApiBillPricesTheTokensServed) {
  const ExchangeRates rates;
  EXPECT_NEAR(api_monthly_cost(1000, 100, {0.27, Currency::USD}, {1.10, Currency::USD}, Currency::USD, rates), 998.64, 1e-6);
  EXPECT_NEAR(api_monthly_cost(1000, 100, {0.27, Currency::USD}, {1.10, Currency::USD}, Currency::HKD, rates), 998.64 * 7.8, 1e-6);
  // Twice the servers at the same load: the API bill does not move, so payback doubles with capex.
  const double bill = api_monthly_cost(1000, 100, {0.27, Currency::USD}, {1.10, Currency::USD}, Currency::USD, rates);
  EXPECT_NEAR(*payback_months({200000, bill, 100, 0}) / *payback_months({100000, bill, 100, 0}), 2.0, 1e-12);
}
