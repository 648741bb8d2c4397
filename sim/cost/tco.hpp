#pragma once
// Capex, opex, TCO, cost per million output tokens, payback against renting cloud GPUs, and CO2.
// Every function works in one reporting currency; inputs carry their own currency.
#include <optional>

#include "cost/money.hpp"

namespace aidc::cost {

inline constexpr double kHoursPerMonth = 8760.0 / 12;

struct CapexInputs {
  int gpus = 0;
  Money gpu_unit_price;
  int servers = 0;
  Money server_unit_price;              // chassis, CPUs, memory, NICs, drives: everything but the GPUs
  Money network;                        // switches, optics, cables, as one amount
  int racks = 0;
  Money rack_unit_price;
  double cooling_capacity_kw = 0;
  Money cooling_plant_per_kw{2250, Currency::USD};        // mechanical ≈ 22.5% of ~$10M/MW
  double power_capacity_kw = 0;
  Money power_infrastructure_per_kw{2750, Currency::USD}; // electrical ≈ 27.5% of ~$10M/MW
};

struct CapexBreakdown {
  double gpus = 0, servers = 0, network = 0, racks = 0, cooling_plant = 0, power_infrastructure = 0;
  double total() const { return gpus + servers + network + racks + cooling_plant + power_infrastructure; }
};
CapexBreakdown capex(const CapexInputs& in, Currency currency, const ExchangeRates& rates);

struct OpexInputs {
  double facility_kwh_per_year = 0;
  Money tariff_per_kwh{1.44, Currency::HKD};  // CLP average net tariff 2025 (energy + fuel cost adj.)
  double maintenance_fraction_per_year = 0;   // of capex
  int racks = 0;
  Money space_per_rack_month{0, Currency::HKD};  // colocation rent, from the operator's quote
};

struct OpexBreakdown {
  double electricity = 0, maintenance = 0, space = 0;
  double total() const { return electricity + maintenance + space; }
};
OpexBreakdown opex_per_year(const OpexInputs& in, double capex_total, Currency currency,
                            const ExchangeRates& rates);

// Undiscounted: capex + years × opex per year.
double total_cost_of_ownership(double capex_total, double opex_per_year, double years);

// (capex / amortization years + opex per year) per million output tokens served in a year.
double cost_per_million_output_tokens(double capex_total, double amortization_years, double opex_per_year,
                                      double output_tokens_per_year);

// Renting `gpus` cloud GPUs for a month (kHoursPerMonth hours) at a $/GPU-hour price.
double cloud_monthly_cost(int gpus, const Money& price_per_gpu_hour, Currency currency, const ExchangeRates& rates);

// What an LLM API charges per month for the tokens a deployment serves (tokens/s held all month), at
// prices per million input and output tokens.
double api_monthly_cost(double input_tokens_per_s, double output_tokens_per_s, const Money& per_million_input,
                        const Money& per_million_output, Currency currency, const ExchangeRates& rates);

struct PaybackInputs {
  double capex = 0;
  double monthly_cloud = 0;              // what renting the same capacity costs per month
  double monthly_private_operating = 0;  // electricity, maintenance, space of the private deployment
  // 0: the definition. N > 0: also subtract capex/N from each month's saving, the seed
  // article's variant (N = 24 gives its 9.2 months).
  double amortization_months_in_saving = 0;
};

// capex / (monthly saving); nullopt when renting is no dearer than operating (never pays back).
std::optional<double> payback_months(const PaybackInputs& in);

// Tonnes of CO2 for the facility energy at the grid's intensity (CLP ~0.39 kg/kWh).
inline constexpr double kClpGridKgCo2PerKwh = 0.39;
double carbon_tonnes(double facility_kwh, double kg_co2_per_kwh = kClpGridKgCo2PerKwh);

}  // namespace aidc::cost
