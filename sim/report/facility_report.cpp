#include "report/facility_report.hpp"

#include <cmath>
#include <cstdio>

#include "cost/tco.hpp"
#include "facility/weather.hpp"
#include "platform/layout.hpp"

namespace aidc {
namespace {

using nlohmann::ordered_json;

constexpr double kSecondsPerYear = 8760.0 * 3600;

// Met when it completed within every bound the scenario sets (the summary's SLO definition).
bool meets_slo(const SloSpec& slo, const RequestRecord& r) {
  if (r.status != RequestStatus::Completed) return false;
  const double first = r.first_token_s - r.arrival_s, total = r.finish_s - r.arrival_s;
  bool ok = (!slo.ttft_s || first <= *slo.ttft_s) && (!slo.e2e_s || total <= *slo.e2e_s);
  if (r.output_tokens > 1) ok = ok && (!slo.tpot_s || (total - first) / (r.output_tokens - 1) <= *slo.tpot_s);
  return ok;
}

ordered_json availability_json(const Scenario& s, const RunRecord& run) {
  const FacilityRecord& f = *run.facility;
  // A request is "during an outage" when it arrived between a failure and the replica's return to
  // the balancer (serving again + `rise` checks).
  const double back_delay = s.load_balancer.health_check.rise * s.load_balancer.health_check.interval_s;
  long long judged[2] = {0, 0}, met[2] = {0, 0};
  for (const RequestRecord& r : run.requests) {
    if (r.arrival_s < s.simulation.warmup_s || r.status == RequestStatus::InFlight || r.status == RequestStatus::Rejected) continue;
    bool during = false;
    for (const Outage& o : f.outages) during = during || (r.arrival_s >= o.failed_at_s && r.arrival_s < o.serving_again_s + back_delay);
    ++judged[during];
    met[during] += meets_slo(s.slo, r);
  }
  auto share = [&](int i) { return judged[i] > 0 ? ordered_json(static_cast<double>(met[i]) / judged[i]) : ordered_json(); };
  ordered_json outages = ordered_json::array();
  for (const Outage& o : f.outages)
    outages.push_back({{"replica", o.replica},
                       {"failed_at_s", o.failed_at_s},
                       {"removed_by_health_check_s", o.removed_at_s >= 0 ? ordered_json(o.removed_at_s) : ordered_json()},
                       {"serving_again_s", o.serving_again_s},
                       {"in_flight", o.in_flight},
                       {"arrived_while_down", o.arrived_while_down},
                       {"retried", o.retried},
                       {"failed", o.failed}});
  return {{"fraction", f.availability},
          {"weight_reload_s", f.weight_reload_s},
          {"slo_attainment_during_outages", share(1)},
          {"slo_attainment_outside_outages", share(0)},
          {"outages", outages}};
}

ordered_json alerts_json(const FacilityRecord& f) {
  ordered_json alerts = ordered_json::array();
  static const char* kOps[] = {">", ">=", "<", "<="};
  for (const AlertFirings& a : f.alerts) {
    ordered_json firings = ordered_json::array();
    for (const auto& i : a.firings)
      firings.push_back({{"pending_since_s", i.pending_since_s}, {"firing_since_s", i.firing_since_s},
                         {"resolved_at_s", i.resolved_at_s}, {"still_firing", i.still_firing}});
    alerts.push_back({{"name", a.rule.name}, {"metric", a.metric}, {"op", kOps[static_cast<int>(a.rule.comparison)]},
                      {"threshold", a.rule.threshold}, {"for_s", a.rule.for_s}, {"firings", firings}});
  }
  return alerts;
}

// The GPUs and servers of one group of installed servers of one type (a pool's, or the datacenter's).
struct Hardware {
  int servers = 0, gpus = 0;
  double gpu_price = 0, server_price = 0;
  double gpu_cost() const { return gpus * gpu_price; }
  double server_cost() const { return servers * server_price; }
  double capex() const { return gpu_cost() + server_cost(); }
};

ordered_json cost_json(const Scenario& s, const Catalog& catalog, const FacilityRecord& f, double facility_kwh_per_year,
                       double output_tokens_per_s) {
  const CostSpec& c = *s.cost;
  // Every installed server at its own GPU's and type's price; index 0 and 1: the prefill and decode
  // pools' servers, 2: the rest (all of them when co-located).
  Hardware groups[3];
  int gpus = 0;
  for (const InstalledServer& server : installed_servers(s, catalog)) {
    Hardware& group = groups[server.pool >= 0 ? server.pool : 2];
    group.servers += 1, group.gpus += server.server->gpus_per_server, gpus += server.server->gpus_per_server;
    group.gpu_price = cost::convert(c.gpu_price.value_or(cost::Money{server.gpu->price_usd, cost::Currency::USD}), c.currency, c.exchange);
    group.server_price =
        cost::convert(c.server_price.value_or(cost::Money{server.server->price_usd, cost::Currency::USD}), c.currency, c.exchange);
  }
  cost::CapexBreakdown capex;
  if (c.capex_total) {
    capex.servers = cost::convert(*c.capex_total, c.currency, c.exchange);
  } else {
    cost::CapexInputs in;  // the site's shared parts; the GPUs and servers are priced above
    in.network = c.network;
    in.racks = s.datacenter.racks();
    in.rack_unit_price = c.rack_price;
    in.cooling_capacity_kw = f.design_heat_kw;
    in.cooling_plant_per_kw = c.cooling_plant_per_kw;
    in.power_capacity_kw = f.design_it_kw;
    in.power_infrastructure_per_kw = c.power_infrastructure_per_kw;
    capex = cost::capex(in, c.currency, c.exchange);
    for (const Hardware& group : groups) capex.gpus += group.gpu_cost(), capex.servers += group.server_cost();
  }
  const cost::OpexBreakdown opex = cost::opex_per_year(
      {facility_kwh_per_year, c.tariff_per_kwh, c.maintenance_fraction_per_year, s.datacenter.racks(), c.space_per_rack_month},
      capex.total(), c.currency, c.exchange);
  const double cloud_monthly = c.cloud_monthly ? cost::convert(*c.cloud_monthly, c.currency, c.exchange)
                                               : cost::cloud_monthly_cost(gpus, *c.cloud_price_per_gpu_hour, c.currency, c.exchange);
  const auto payback = cost::payback_months({capex.total(), cloud_monthly, opex.total() / 12, c.payback_amortization_months});
  const double tokens_per_year = output_tokens_per_s * kSecondsPerYear;
  auto per_million = [&](double capex_total, double opex_per_year) {
    return tokens_per_year > 0 ? ordered_json(cost::cost_per_million_output_tokens(capex_total, c.amortization_years, opex_per_year,
                                                                                   tokens_per_year))
                               : ordered_json();
  };
  ordered_json j = {{"currency", cost::currency_code(c.currency)},
                    {"capex", capex.total()},
                    {"capex_breakdown",
                     {{"gpus", capex.gpus}, {"servers", capex.servers}, {"network", capex.network}, {"racks", capex.racks},
                      {"cooling_plant", capex.cooling_plant}, {"power_infrastructure", capex.power_infrastructure}}},
                    {"opex_per_year", opex.total()},
                    {"opex_breakdown", {{"electricity", opex.electricity}, {"maintenance", opex.maintenance}, {"space", opex.space}}},
                    {"years", c.years},
                    {"tco", cost::total_cost_of_ownership(capex.total(), opex.total(), c.years)},
                    {"per_million_output_tokens", per_million(capex.total(), opex.total())},
                    {"cloud_monthly", cloud_monthly},
                    {"payback_months", payback ? ordered_json(*payback) : ordered_json()}};
  if (!s.disaggregation) return j;
  // Per pool: its GPUs and servers, the electricity of its servers' IT load through the site's
  // annualized PUE, and maintenance on its capex. The rest of the totals (network, racks, cooling
  // plant, power infrastructure, space, servers no pool uses, switches' electricity) is the site's.
  // Under capex_total the pools' hardware is not priced apart (null).
  const double pue = facility_kwh_per_year > 0 && f.pue.it_kw_mean > 0 ? facility_kwh_per_year / (f.pue.it_kw_mean * 8760) : 0;
  for (std::size_t p = 0; p < 2; ++p) {
    const Hardware& pool = groups[p];
    const double pool_capex = c.capex_total ? 0 : pool.capex();
    const cost::OpexBreakdown pool_opex = cost::opex_per_year(
        {f.pools[p].it_kw_mean * pue * 8760, c.tariff_per_kwh, c.capex_total ? 0 : c.maintenance_fraction_per_year, 0, {}}, pool_capex,
        c.currency, c.exchange);
    auto priced = [&c](double value) { return c.capex_total ? ordered_json() : ordered_json(value); };
    j["pools"][p == 0 ? "prefill" : "decode"] = {
        {"servers", pool.servers},
        {"gpus", pool.gpus},
        {"capex", priced(pool_capex)},
        {"capex_breakdown", {{"gpus", priced(pool.gpu_cost())}, {"servers", priced(pool.server_cost())}}},
        {"opex_per_year", pool_opex.total()},
        {"opex_breakdown", {{"electricity", pool_opex.electricity}, {"maintenance", priced(pool_opex.maintenance)}}},
        {"tco", cost::total_cost_of_ownership(pool_capex, pool_opex.total(), c.years)},
        {"per_million_output_tokens", per_million(pool_capex, pool_opex.total())}};
  }
  return j;
}

// "07-15 13:00" for an hour of a 365-day year.
std::string calendar(double hour_of_year) {
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int day = static_cast<int>(hour_of_year / 24), month = 0;
  while (month < 11 && day >= kDaysInMonth[month]) day -= kDaysInMonth[month++];
  const double hour = std::fmod(hour_of_year, 24);
  char text[32];
  std::snprintf(text, sizeof text, "%02d-%02d %02d:%02d", month + 1, day + 1, static_cast<int>(hour),
                static_cast<int>(std::lround((hour - std::floor(hour)) * 60)) % 60);
  return text;
}

std::string format(const char* pattern, double value) {
  char text[128];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

}  // namespace

void add_facility_summary(ordered_json& j, const Scenario& s, const Catalog& catalog, const RunRecord& run) {
  if (!run.facility) return;
  const FacilityRecord& f = *run.facility;
  const facility::PueSummary& p = f.pue;
  const facility::EnergyBalance& e = f.energy_kwh;
  j["power"] = {{"it_kw_mean", p.it_kw_mean}, {"it_kw_peak", p.it_kw_peak}, {"facility_kw_mean", p.facility_kw_mean},
                {"design_it_kw", f.design_it_kw}, {"breaker_overloads", f.breaker_overloads},
                {"serving_gpu_w_mean", f.serving_gpu_w_mean}};
  j["pue"] = {{"mean", p.pue_mean},
              {"annualized", f.annualized_pue},
              {"worst_hour", p.pue_worst_hour},
              {"energy_weighted", p.pue_energy_weighted},
              {"worst_hour_start_s", p.worst_hour_start_s},
              {"cooling_share", p.cooling_share},
              {"target", s.facility->pue_target},
              {"above_target", p.pue_energy_weighted > s.facility->pue_target || f.annualized_pue > s.facility->pue_target}};
  const auto& c = e.cooling;
  j["energy"] = {{"it_kwh", e.it_kw},
                 {"losses_kwh",
                  {{"ups", e.losses.ups_loss_kw}, {"distribution", e.losses.distribution_loss_kw}, {"lighting_other", e.losses.lighting_other_kw}}},
                 {"cooling_kwh",
                  {{"crah_fans", c.crah_fans_kw}, {"crac", c.crac_kw}, {"chillers", c.chiller_kw},
                   {"chilled_water_pumps", c.chilled_water_pumps_kw}, {"economizer_pumps", c.economizer_pumps_kw},
                   {"tower_pumps", c.tower_pumps_kw}, {"tower_fans", c.tower_fans_kw}, {"liquid_pumps", c.liquid_pumps_kw},
                   {"dry_cooler_fans", c.dry_cooler_fans_kw}}},
                 {"facility_kwh", p.facility_kwh}};
  j["thermal"] = {{"gpu_max_c", f.gpu_max_c}, {"throttled_fraction", f.throttled_fraction},
                  {"power_capped_fraction", f.power_capped_fraction}};
  j["availability"] = availability_json(s, run);
  j["alerts"] = alerts_json(f);
  // A year at this run's IT load through the weather year: the annualized PUE's energy.
  const double facility_kwh_per_year = p.it_kw_mean * f.annualized_pue * 8760;
  const double intensity = s.cost ? s.cost->grid_kg_co2_per_kwh : cost::kClpGridKgCo2PerKwh;
  j["carbon"] = {{"tonnes", cost::carbon_tonnes(facility_kwh_per_year, intensity)},
                 {"per", "year at this run's load"},
                 {"tonnes_in_run", cost::carbon_tonnes(p.facility_kwh, intensity)},
                 {"kg_co2_per_kwh", intensity}};
  if (s.cost)
    j["cost"] = cost_json(s, catalog, f, facility_kwh_per_year, j["throughput"]["output_tokens_per_s"].get<double>());
}

std::string facility_timeseries_header(const RunRecord& run) {
  if (!run.facility) return "";
  std::string out = ",it_kw,facility_kw,pue,ambient_c,wet_bulb_c,gpu_max_c,cooling_flow,serving_gpu_w";
  const std::size_t racks = run.facility->intervals.empty() ? 0 : run.facility->intervals.front().rack_kw.size();
  for (std::size_t r = 0; r < racks; ++r)
    out += ",rack" + std::to_string(r) + "_kw,rack" + std::to_string(r) + "_gpu_max_c";
  return out;
}

std::string facility_timeseries_cells(const RunRecord& run, std::size_t bin) {
  if (!run.facility || bin >= run.facility->intervals.size()) return "";
  const FacilityInterval& row = run.facility->intervals[bin];
  char cell[160];
  std::snprintf(cell, sizeof cell, ",%.4f,%.4f,%.5f,%.2f,%.2f,%.2f,%.3f,%.1f", row.power.it_kw, row.power.facility_kw(), row.pue,
                row.ambient_c, row.wet_bulb_c, row.gpu_max_c, row.flow_multiplier, row.serving_gpu_w);
  std::string out = cell;
  for (std::size_t r = 0; r < row.rack_kw.size(); ++r) {
    std::snprintf(cell, sizeof cell, ",%.4f,%.2f", row.rack_kw[r], row.rack_gpu_max_c[r]);
    out += cell;
  }
  return out;
}

std::string facility_text_report(const Scenario& s, const ordered_json& j) {
  if (!j.contains("energy")) return "";
  const FacilitySpec& f = *s.facility;
  std::string out;
  auto line = [&out](const std::string& text) { out += text + "\n"; };
  const auto& e = j["energy"];
  const auto& l = e["losses_kwh"];
  const auto& c = e["cooling_kwh"];
  double losses = 0, cooling = 0;
  for (const auto& [key, value] : l.items()) losses += value.get<double>();
  for (const auto& [key, value] : c.items()) cooling += value.get<double>();
  const char* kinds[] = {"air", "direct-to-chip liquid", "immersion"};
  line("");
  line("Facility (" + std::string(f.weather == "hong_kong" ? "Hong Kong typical year" : f.weather) +
       ", from " + calendar(f.start_hour_of_year) + "; " +
       kinds[static_cast<int>(f.halls.front().cooling.kind)] + " cooling):");
  line(format("  Energy balance over the run: IT %.2f kWh", e["it_kwh"].get<double>()) +
       format(" + losses %.2f", losses) + format(" (UPS %.2f,", l["ups"].get<double>()) +
       format(" distribution %.2f,", l["distribution"].get<double>()) + format(" lighting %.2f)", l["lighting_other"].get<double>()) +
       format(" + cooling %.2f", cooling) + format(" = facility %.2f kWh", e["facility_kwh"].get<double>()));
  std::string parts;
  for (const auto& [key, value] : c.items())
    if (value.get<double>() > 0) parts += (parts.empty() ? "" : ", ") + key + format(" %.2f", value.get<double>());
  line("  Cooling kWh: " + parts);
  const auto& p = j["pue"];
  const auto& w = j["power"];
  line(format("  Power: IT %.1f kW mean", w["it_kw_mean"].get<double>()) + format(" (peak %.1f),", w["it_kw_peak"].get<double>()) +
       format(" facility %.1f kW mean", w["facility_kw_mean"].get<double>()));
  line(format("  PUE (computed): mean %.3f,", p["mean"].get<double>()) + format(" worst hour %.3f,", p["worst_hour"].get<double>()) +
       format(" annualized %.3f", p["annualized"].get<double>()) + format("; cooling %.0f%% of facility energy", 100 * p["cooling_share"].get<double>()) +
       (p["above_target"].get<bool>() ? format("  ABOVE the %.2f target", p["target"].get<double>())
                                      : format("  within the %.2f target", p["target"].get<double>())));
  const auto& t = j["thermal"];
  line(format("  GPUs: hottest %.1f °C; thermally throttled", t["gpu_max_c"].get<double>()) +
       format(" %.1f%% of serving GPU time;", 100 * t["throttled_fraction"].get<double>()) +
       format(" power-limited %.1f%%", 100 * t["power_capped_fraction"].get<double>()) +
       (w["breaker_overloads"].get<long long>() > 0 ? "; rack breaker over its continuous limit in " +
                                                         std::to_string(w["breaker_overloads"].get<long long>()) + " rack-intervals"
                                                   : ""));
  const auto& a = j["availability"];
  line(format("  Availability %.4f", a["fraction"].get<double>()) + format(" (weight reload %.0f s)", a["weight_reload_s"].get<double>()));
  for (const auto& o : a["outages"]) {
    line("    replica " + std::to_string(o["replica"].get<int>()) + format(" failed at %.1f s,", o["failed_at_s"].get<double>()) +
         (o["removed_by_health_check_s"].is_null() ? std::string(" never marked down,")
                                                   : format(" marked down at %.1f s,", o["removed_by_health_check_s"].get<double>())) +
         format(" serving again at %.0f s: ", o["serving_again_s"].get<double>()) + std::to_string(o["in_flight"].get<long long>()) +
         " in flight + " + std::to_string(o["arrived_while_down"].get<long long>()) + " sent while down -> " +
         std::to_string(o["retried"].get<long long>()) + " retried elsewhere, " + std::to_string(o["failed"].get<long long>()) + " failed");
  }
  if (!a["slo_attainment_during_outages"].is_null())
    line(format("    SLO attainment: %.1f%% for requests arriving during outages, ", 100 * a["slo_attainment_during_outages"].get<double>()) +
         (a["slo_attainment_outside_outages"].is_null() ? std::string("none outside")
                                                        : format("%.1f%% outside them", 100 * a["slo_attainment_outside_outages"].get<double>())));
  std::string alerts;
  for (const auto& rule : j["alerts"])
    for (const auto& i : rule["firings"])
      alerts += "\n    " + rule["name"].get<std::string>() + format(" firing from %.0f s", i["firing_since_s"].get<double>()) +
                (i["still_firing"].get<bool>() ? std::string(" to the end") : format(" to %.0f s", i["resolved_at_s"].get<double>()));
  line("  Alerts:" + (alerts.empty() ? std::string(" none fired") : alerts));
  if (j.contains("cost")) {
    const auto& k = j["cost"];
    const std::string cur = " " + k["currency"].get<std::string>();
    line(format("  Cost: capex %.0f", k["capex"].get<double>()) + cur + format(", opex %.0f", k["opex_per_year"].get<double>()) + cur +
         format("/year, TCO over %.0f years ", k["years"].get<double>()) + format("%.0f", k["tco"].get<double>()) + cur +
         (k["per_million_output_tokens"].is_null() ? std::string()
                                                   : format(", %.3f", k["per_million_output_tokens"].get<double>()) + cur + " per million output tokens"));
    line(format("  Cloud rent for the same GPUs %.0f", k["cloud_monthly"].get<double>()) + cur + "/month; payback " +
         (k["payback_months"].is_null() ? std::string("never (renting is no dearer than operating)")
                                        : format("%.1f months", k["payback_months"].get<double>())));
  }
  line(format("  Carbon: %.1f t CO2 per year at this load", j["carbon"]["tonnes"].get<double>()) +
       format(" (%.2f kg/kWh)", j["carbon"]["kg_co2_per_kwh"].get<double>()));
  return out;
}

}  // namespace aidc
