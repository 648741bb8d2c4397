#include "scenario/facility_spec.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cost/tco.hpp"
#include "facility/weather.hpp"

namespace aidc {
namespace {

using facility::CoolingKind;

// "280000 CNY": an amount and its currency; errors name the key.
cost::Money money(FieldReader& r, std::string_view key, cost::Money fallback) {
  if (!r.has(key)) {
    r.mark_known(key);
    return fallback;
  }
  const std::string text = r.text(key, "");
  try {
    return cost::parse_money(text);
  } catch (const std::invalid_argument&) {
    r.error(key, "expected an amount and a currency, e.g. \"1.44 HKD\" (HKD | USD | CNY), got '" + text + "'");
    return fallback;
  }
}

std::optional<cost::Money> optional_money(FieldReader& r, std::string_view key) {
  if (!r.has(key)) {
    r.mark_known(key);
    return std::nullopt;
  }
  return money(r, key, {});
}

// "MM-DD HH:MM" in the weather year.
double read_start(FieldReader& r) {
  const std::string text = r.text("start", "07-15 14:00");
  int month = 0, day = 0, hour = 0, minute = 0;
  char tail = 0;
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (std::sscanf(text.c_str(), "%d-%d %d:%d%c", &month, &day, &hour, &minute, &tail) != 4 || month < 1 || month > 12 ||
      day < 1 || day > kDaysInMonth[month - 1] || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    r.error("start", "expected \"MM-DD HH:MM\" (a day of a 365-day year), got '" + text + "'");
    return facility::hour_of_year(7, 15, 14);
  }
  return facility::hour_of_year(month, day, hour + minute / 60.0);
}

void read_thermal(FieldReader r, FacilitySpec& f) {
  f.throttle.start_c = r.number("throttle_start_c", f.throttle.start_c, 0, 150);
  f.throttle.full_c = r.number("throttle_full_c", f.throttle.full_c, 0, 150);
  f.throttle.min_clock_fraction = r.number("min_clock_fraction", f.throttle.min_clock_fraction, 0.05, 1);
  if (f.throttle.full_c <= f.throttle.start_c) r.error("throttle_full_c", "must be above throttle_start_c");
  f.gpu_resistance_k_per_w = r.optional_number("gpu_resistance_k_per_w", 1e-6, 10);
  f.gpu_time_constant_s = r.optional_number("gpu_time_constant_s", 1e-3, 1e6);
  f.rack_rise_k_per_kw = r.optional_number("rack_rise_k_per_kw", 1e-6, 100);
  f.rack_time_constant_s = r.optional_number("rack_time_constant_s", 1e-3, 1e6);
  r.finish();
}

void read_control(FieldReader r, FacilitySpec& f) {
  const std::string policy = r.choice("policy", "seed", {"seed", "proportional", "none"});
  f.policy = policy == "seed" ? CoolingPolicy::Seed : policy == "proportional" ? CoolingPolicy::Proportional : CoolingPolicy::None;
  auto& seed = f.seed_controller;
  seed.temperature_threshold_c = r.number("temperature_threshold_c", seed.temperature_threshold_c, 0, 150);
  seed.load_threshold = r.number("load_threshold", seed.load_threshold, 0, 1);
  seed.high_flow_multiplier = r.number("high_flow_multiplier", seed.high_flow_multiplier, 1, 3);
  auto& p = f.proportional_controller;
  p.setpoint_c = r.number("setpoint_c", p.setpoint_c, 0, 150);
  p.gain_per_k = r.number("gain_per_k", p.gain_per_k, 0, 10);
  p.min_flow = r.number("min_flow", p.min_flow, 0.1, 3);
  p.max_flow = r.number("max_flow", p.max_flow, 0.1, 3);
  if (p.max_flow < p.min_flow) r.error("max_flow", "must be >= min_flow");
  r.finish();
}

const std::vector<std::string> kAlertMetrics = {"gpu_temperature_c", "p99_latency_s", "gpu_utilization"};

// Built-in rules, each replaced by an entry of the same name; other names add rules.
void read_alerts(FieldReader& parent, FacilitySpec& f) {
  f.alerts = {{facility::gpu_temperature_high_rule(), "gpu_temperature_c"},
              {facility::p99_latency_high_rule(), "p99_latency_s"},
              {facility::gpu_utilization_sustained_rule(), "gpu_utilization"}};
  parent.mark_known("alerts");
  const ConfigNode* node = parent.node() ? parent.node()->find("alerts") : nullptr;
  if (!node || node->is_null()) return;
  if (!node->is_map()) {
    parent.error("alerts", "expected a mapping of rule name to {metric, op, threshold, for_s}");
    return;
  }
  for (const auto& entry : node->entries()) {
    FieldReader r(&entry.value, parent.path_of("alerts") + "." + entry.key, parent.errors());
    FacilitySpec::Alert alert;
    alert.rule.name = entry.key;
    alert.metric = r.choice("metric", "gpu_temperature_c", kAlertMetrics);
    const std::string op = r.choice("op", ">", {">", ">=", "<", "<="});
    alert.rule.comparison = op == ">"    ? facility::Comparison::Greater
                            : op == ">=" ? facility::Comparison::GreaterOrEqual
                            : op == "<"  ? facility::Comparison::Less
                                         : facility::Comparison::LessOrEqual;
    alert.rule.threshold = r.number("threshold", 0);
    alert.rule.for_s = r.number("for_s", 0, 0);
    r.finish();
    auto same = std::find_if(f.alerts.begin(), f.alerts.end(), [&](const auto& a) { return a.rule.name == entry.key; });
    if (same != f.alerts.end())
      *same = alert;
    else
      f.alerts.push_back(alert);
  }
}

void read_failures(FieldReader r, int racks, int replicas, FailureSpec& failures) {
  failures.mtbf_gpu_hours = r.number("mtbf_gpu_hours", failures.mtbf_gpu_hours, 1);
  failures.random = r.flag("random", failures.random);
  failures.repair_s = r.number("repair_s", failures.repair_s, 0);
  failures.storage_gb_s = r.number("storage_gb_s", failures.storage_gb_s, 0.001);
  failures.process_start_s = r.number("process_start_s", failures.process_start_s, 0);
  failures.retries = static_cast<int>(r.integer("retries", failures.retries, 0, 10));
  r.mark_known("scripted");
  const ConfigNode* list = r.node() ? r.node()->find("scripted") : nullptr;
  if (list && !list->is_null()) {
    if (!list->is_sequence()) {
      r.error("scripted", "expected a list of {at_s, replica} or {at_s, rack}");
    } else {
      for (std::size_t i = 0; i < list->items().size(); ++i) {
        FieldReader event(&list->items()[i], r.path_of("scripted") + "[" + std::to_string(i) + "]", r.errors());
        ScriptedFailure failure;
        failure.at_s = event.number("at_s", 0, 0);
        failure.replica = static_cast<int>(event.integer("replica", -1, 0, replicas - 1));
        failure.rack = static_cast<int>(event.integer("rack", -1, 0, racks - 1));
        if (event.has("replica") == event.has("rack")) event.error("at_s", "expected exactly one of replica or rack");
        event.finish();
        failures.scripted.push_back(failure);
      }
    }
  }
  r.finish();
}

void read_cooling(FieldReader r, HallSpec& hall) {
  const std::string kind = r.choice("kind", "air", {"air", "direct_liquid", "immersion"});
  const CoolingKind k = kind == "air" ? CoolingKind::Air : kind == "direct_liquid" ? CoolingKind::DirectLiquid : CoolingKind::Immersion;
  hall.cooling = facility::default_cooling_plant(k, 0);  // sized from the racks when the run starts
  auto& air = hall.cooling.air;
  FieldReader a = r.section("air");
  air.plant = a.choice("plant", "chilled_water", {"chilled_water", "crac"}) == "crac" ? facility::AirPlantKind::Crac
                                                                                    : facility::AirPlantKind::ChilledWater;
  air.supply_air_c = a.number("supply_air_c", air.supply_air_c, 10, 35);
  air.air_delta_t_k = a.number("air_delta_t_k", air.air_delta_t_k, 1, 30);
  air.fan_pressure_pa = a.number("fan_pressure_pa", air.fan_pressure_pa, 0, 5000);
  air.fan_efficiency = a.number("fan_efficiency", air.fan_efficiency, 0.05, 1);
  air.variable_speed_fans = a.flag("variable_speed_fans", air.variable_speed_fans);
  air.sensible_heat_ratio = a.number("sensible_heat_ratio", air.sensible_heat_ratio, 0.5, 1);
  a.finish();
  auto& ch = hall.cooling.chiller;
  FieldReader c = r.section("chiller");
  hall.chiller_unit_capacity_kw = c.optional_number("unit_capacity_kw", 1e-3);
  ch.min_part_load = c.number("min_part_load", ch.min_part_load, 0.01, 1);
  ch.cop_adjustment = c.number("cop_adjustment", ch.cop_adjustment, -0.5, 0.5);
  ch.coil_effectiveness = c.number("coil_effectiveness", ch.coil_effectiveness, 0.1, 1);
  ch.chilled_water_delta_t_k = c.number("chilled_water_delta_t_k", ch.chilled_water_delta_t_k, 1, 20);
  ch.condenser_water_delta_t_k = c.number("condenser_water_delta_t_k", ch.condenser_water_delta_t_k, 1, 20);
  ch.tower_approach_k = c.number("tower_approach_k", ch.tower_approach_k, 0.5, 15);
  ch.economizer_approach_k = c.number("economizer_approach_k", ch.economizer_approach_k, 0.5, 10);
  ch.waterside_economizer = c.flag("waterside_economizer", ch.waterside_economizer);
  ch.pump_efficiency = c.number("pump_efficiency", ch.pump_efficiency, 0.05, 1);
  c.finish();
  auto& liquid = hall.cooling.liquid;
  FieldReader l = r.section("liquid");
  if (k == CoolingKind::Air && l.node()) l.error("capture_fraction", "liquid: applies to kind direct_liquid or immersion");
  liquid.capture_fraction = l.number("capture_fraction", liquid.capture_fraction, 0, 1);
  liquid.supply_c = l.number("supply_c", liquid.supply_c, 5, 60);
  liquid.delta_t_k = l.number("delta_t_k", liquid.delta_t_k, 1, 30);
  liquid.pump_pressure_pa = l.number("pump_pressure_pa", liquid.pump_pressure_pa, 0, 2e6);
  liquid.pump_efficiency = l.number("pump_efficiency", liquid.pump_efficiency, 0.05, 1);
  liquid.dry_cooler_approach_k = l.number("dry_cooler_approach_k", liquid.dry_cooler_approach_k, 0.5, 20);
  liquid.dry_cooler_air_delta_t_k = l.number("dry_cooler_air_delta_t_k", liquid.dry_cooler_air_delta_t_k, 1, 30);
  l.finish();
  r.finish();
}

HallSpec read_hall(FieldReader r) {
  HallSpec hall;
  hall.design_it_kw = r.optional_number("design_it_kw", 1e-3);
  FieldReader p = r.section("power");
  hall.ups_redundancy = p.number("ups_redundancy", hall.ups_redundancy, 1, 3);
  auto& ups = hall.power.ups;
  FieldReader u = p.section("ups");
  if (auto rated = u.optional_number("rated_kw", 1e-3)) ups.rated_kw = *rated;
  ups.no_load_loss = u.number("no_load_loss", ups.no_load_loss, 0, 0.2);
  ups.proportional_loss = u.number("proportional_loss", ups.proportional_loss, 0, 0.2);
  ups.square_law_loss = u.number("square_law_loss", ups.square_law_loss, 0, 0.2);
  u.finish();
  hall.power.distribution_loss_ratio = p.number("distribution_loss_ratio", hall.power.distribution_loss_ratio, 0, 0.2);
  hall.power.lighting_other_ratio = p.number("lighting_other_ratio", hall.power.lighting_other_ratio, 0, 0.2);
  p.finish();
  read_cooling(r.section("cooling"), hall);
  r.finish();
  return hall;
}

void read_halls(FieldReader& parent, int halls, FacilitySpec& f) {
  parent.mark_known("halls");
  const ConfigNode* list = parent.node() ? parent.node()->find("halls") : nullptr;
  if (!list || list->is_null()) {
    f.halls.assign(static_cast<std::size_t>(halls), read_hall(FieldReader(nullptr, parent.path_of("halls"), parent.errors())));
    return;
  }
  if (!list->is_sequence() || (list->items().size() != 1 && static_cast<int>(list->items().size()) != halls)) {
    parent.error("halls", "expected a list of 1 hall (applied to all) or " + std::to_string(halls) +
                              " (datacenter.halls), each {power, cooling}");
    return;
  }
  for (std::size_t i = 0; i < list->items().size(); ++i)
    f.halls.push_back(read_hall(FieldReader(&list->items()[i], parent.path_of("halls") + "[" + std::to_string(i) + "]", parent.errors())));
  if (f.halls.size() == 1) f.halls.assign(static_cast<std::size_t>(halls), f.halls.front());
}

FacilitySpec read_facility(FieldReader r, int halls, int racks, int replicas, PathResolver resolve) {
  FacilitySpec f;
  f.pue_target = r.number("pue_target", f.pue_target, 1, 5);
  const std::string weather = r.text("weather", "hong_kong");
  if (weather != "hong_kong") {
    f.weather = resolve(weather, r.where("weather"));
    try {
      facility::load_weather_csv(f.weather);
    } catch (const facility::WeatherFileError& e) {
      r.errors().add({e.file(), e.line(), 1}, r.path_of("weather") + " (column " + e.field() + ")", e.what());
    } catch (const std::exception& e) {
      r.error("weather", std::string("expected hong_kong or a weather CSV: ") + e.what());
    }
  }
  f.start_hour_of_year = read_start(r);
  f.psu_efficiency = r.number("psu_efficiency", f.psu_efficiency, 0.5, 1);
  f.switch_w = r.number("switch_w", f.switch_w, 0);
  f.switches_per_rack = static_cast<int>(r.integer("switches_per_rack", f.switches_per_rack, 0, 64));
  f.gpu_power_cap_w = r.optional_number("gpu_power_cap_w", 100);  // below a GPU's process-idle draw no clock helps
  f.rack_breaker_kw = r.optional_number("rack_breaker_kw", 0.1);
  read_thermal(r.section("thermal"), f);
  read_control(r.section("control"), f);
  read_alerts(r, f);
  read_halls(r, halls, f);
  read_failures(r.section("failures"), racks, replicas, f.failures);
  r.finish();
  return f;
}

CostSpec read_cost(FieldReader r) {
  CostSpec c;
  c.currency = cost::parse_currency(r.choice("currency", "USD", {"USD", "HKD", "CNY"}));
  FieldReader ex = r.section("exchange");
  c.exchange.hkd_per_usd = ex.number("hkd_per_usd", c.exchange.hkd_per_usd, 0.01);
  c.exchange.cny_per_usd = ex.number("cny_per_usd", c.exchange.cny_per_usd, 0.01);
  ex.finish();
  c.years = r.number("years", c.years, 0.1, 50);
  c.amortization_years = r.number("amortization_years", c.amortization_years, 0.1, 50);
  c.capex_total = optional_money(r, "capex_total");
  c.gpu_price = optional_money(r, "gpu_price");
  c.server_price = optional_money(r, "server_price");
  c.network = money(r, "network", c.network);
  c.rack_price = money(r, "rack_price", c.rack_price);
  c.cooling_plant_per_kw = money(r, "cooling_plant_per_kw", c.cooling_plant_per_kw);
  c.power_infrastructure_per_kw = money(r, "power_infrastructure_per_kw", c.power_infrastructure_per_kw);
  c.tariff_per_kwh = money(r, "tariff_per_kwh", c.tariff_per_kwh);
  c.maintenance_fraction_per_year = r.number("maintenance_fraction_per_year", 0, 0, 1);
  c.space_per_rack_month = money(r, "space_per_rack_month", c.space_per_rack_month);
  c.grid_kg_co2_per_kwh = r.number("grid_kg_co2_per_kwh", c.grid_kg_co2_per_kwh, 0, 2);
  FieldReader cloud = r.section("cloud");
  if (cloud.has("price_per_gpu_hour")) c.cloud_price_per_gpu_hour = optional_money(cloud, "price_per_gpu_hour");
  cloud.mark_known("price_per_gpu_hour");
  c.cloud_monthly = optional_money(cloud, "monthly");
  cloud.finish();
  c.payback_amortization_months = r.number("payback_amortization_months", 0, 0, 600);
  r.finish();
  return c;
}

}  // namespace

void read_facility_and_cost(FieldReader& root, int halls, int racks, int replicas, PathResolver resolve,
                            std::optional<FacilitySpec>& facility, std::optional<CostSpec>& cost) {
  const bool has_facility = root.node() && root.node()->find("facility");
  const bool has_cost = root.node() && root.node()->find("cost");
  if (has_facility || has_cost) facility = read_facility(root.section("facility"), halls, racks, replicas, resolve);
  if (has_cost) cost = read_cost(root.section("cost"));
  root.mark_known("facility");
  root.mark_known("cost");
}

}  // namespace aidc
