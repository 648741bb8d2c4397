#include "cost/tco.hpp"

#include <stdexcept>

namespace aidc::cost {

CapexBreakdown capex(const CapexInputs& in, Currency currency, const ExchangeRates& rates) {
  const auto in_currency = [&](const Money& m) { return convert(m, currency, rates); };
  CapexBreakdown out;
  out.gpus = in.gpus * in_currency(in.gpu_unit_price);
  out.servers = in.servers * in_currency(in.server_unit_price);
  out.network = in_currency(in.network);
  out.racks = in.racks * in_currency(in.rack_unit_price);
  out.cooling_plant = in.cooling_capacity_kw * in_currency(in.cooling_plant_per_kw);
  out.power_infrastructure = in.power_capacity_kw * in_currency(in.power_infrastructure_per_kw);
  return out;
}

OpexBreakdown opex_per_year(const OpexInputs& in, double capex_total, Currency currency,
                            const ExchangeRates& rates) {
  OpexBreakdown out;
  out.electricity = in.facility_kwh_per_year * convert(in.tariff_per_kwh, currency, rates);
  out.maintenance = in.maintenance_fraction_per_year * capex_total;
  out.space = in.racks * 12 * convert(in.space_per_rack_month, currency, rates);
  return out;
}

double total_cost_of_ownership(double capex_total, double opex_per_year, double years) {
  return capex_total + years * opex_per_year;
}

double cost_per_million_output_tokens(double capex_total, double amortization_years, double opex_per_year,
                                      double output_tokens_per_year) {
  if (amortization_years <= 0) throw std::invalid_argument("amortization_years must be > 0");
  if (output_tokens_per_year <= 0) throw std::invalid_argument("output_tokens_per_year must be > 0");
  return (capex_total / amortization_years + opex_per_year) / (output_tokens_per_year / 1e6);
}

double cloud_monthly_cost(int gpus, const Money& price_per_gpu_hour, Currency currency, const ExchangeRates& rates) {
  return gpus * kHoursPerMonth * convert(price_per_gpu_hour, currency, rates);
}

double api_monthly_cost(double input_tokens_per_s, double output_tokens_per_s, const Money& per_million_input,
                        const Money& per_million_output, Currency currency, const ExchangeRates& rates) {
  const double seconds = kHoursPerMonth * 3600;
  return seconds / 1e6 *
         (input_tokens_per_s * convert(per_million_input, currency, rates) +
          output_tokens_per_s * convert(per_million_output, currency, rates));
}

std::optional<double> payback_months(const PaybackInputs& in) {
  double saving = in.monthly_cloud - in.monthly_private_operating;
  if (in.amortization_months_in_saving > 0) saving -= in.capex / in.amortization_months_in_saving;
  if (saving <= 0) return std::nullopt;
  return in.capex / saving;
}

double carbon_tonnes(double facility_kwh, double kg_co2_per_kwh) { return facility_kwh * kg_co2_per_kwh / 1000; }

}  // namespace aidc::cost
