#include "scenario/facility_spec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cost/tco.hpp"
#include "facility/weather.hpp"
#include "scenario/schema.hpp"

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
  const SchemaKey& entry = schema_key(r.path_of(key));
  try {
    const cost::Money parsed = cost::parse_money(text);
    if (std::isfinite(parsed.amount) && parsed.amount >= entry.min && parsed.amount <= entry.max) return parsed;
    r.error(key, "expected an amount from " + to_text(entry.min) + " to " + to_text(entry.max) + ", got '" + text + "'");
  } catch (const std::invalid_argument&) {
    r.error(key, "expected an amount and a currency, e.g. \"1.44 HKD\" (HKD | USD | CNY), got '" + text + "'");
  }
  return fallback;
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
  const std::string text = read_text(r, "start");
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
  f.throttle.start_c = read_number(r, "throttle_start_c");
  f.throttle.full_c = read_number(r, "throttle_full_c");
  f.throttle.min_clock_fraction = read_number(r, "min_clock_fraction");
  if (f.throttle.full_c <= f.throttle.start_c) r.error("throttle_full_c", "must be above throttle_start_c");
  f.gpu_resistance_k_per_w = read_optional_number(r, "gpu_resistance_k_per_w");
  f.gpu_time_constant_s = read_optional_number(r, "gpu_time_constant_s");
  f.rack_rise_k_per_kw = read_optional_number(r, "rack_rise_k_per_kw");
  f.rack_time_constant_s = read_optional_number(r, "rack_time_constant_s");
  r.finish();
}

void read_control(FieldReader r, FacilitySpec& f) {
  f.policy = read_enum<CoolingPolicy>(r, "policy");
  auto& seed = f.seed_controller;
  seed.temperature_threshold_c = read_number(r, "temperature_threshold_c");
  seed.load_threshold = read_number(r, "load_threshold");
  seed.high_flow_multiplier = read_number(r, "high_flow_multiplier");
  auto& p = f.proportional_controller;
  p.setpoint_c = read_number(r, "setpoint_c");
  p.gain_per_k = read_number(r, "gain_per_k");
  p.min_flow = read_number(r, "min_flow");
  p.max_flow = read_number(r, "max_flow");
  if (p.max_flow < p.min_flow) r.error("max_flow", "must be >= min_flow");
  r.finish();
}

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
    alert.metric = read_choice(r, "metric", schema_key("facility.alerts.<name>.metric"));
    const std::string op = read_choice(r, "op", schema_key("facility.alerts.<name>.op"));
    alert.rule.comparison = op == ">"    ? facility::Comparison::Greater
                            : op == ">=" ? facility::Comparison::GreaterOrEqual
                            : op == "<"  ? facility::Comparison::Less
                                         : facility::Comparison::LessOrEqual;
    alert.rule.threshold = read_number(r, "threshold", schema_key("facility.alerts.<name>.threshold"));
    alert.rule.for_s = read_number(r, "for_s", schema_key("facility.alerts.<name>.for_s"));
    r.finish();
    auto same = std::find_if(f.alerts.begin(), f.alerts.end(), [&](const auto& a) { return a.rule.name == entry.key; });
    if (same != f.alerts.end())
      *same = alert;
    else
      f.alerts.push_back(alert);
  }
}

void read_failures(FieldReader r, int racks, int replicas, FailureSpec& failures) {
  failures.mtbf_gpu_hours = read_number(r, "mtbf_gpu_hours");
  failures.random = read_flag(r, "random");
  failures.repair_s = read_number(r, "repair_s");
  failures.storage_gb_s = read_number(r, "storage_gb_s");
  failures.process_start_s = read_number(r, "process_start_s");
  failures.retries = static_cast<int>(read_integer(r, "retries"));
  r.mark_known("scripted");
  const ConfigNode* list = r.node() ? r.node()->find("scripted") : nullptr;
  if (list && !list->is_null()) {
    if (!list->is_sequence()) {
      r.error("scripted", "expected a list of {at_s, replica} or {at_s, rack}");
    } else {
      for (std::size_t i = 0; i < list->items().size(); ++i) {
        FieldReader event(&list->items()[i], r.path_of("scripted") + "[" + std::to_string(i) + "]", r.errors());
        ScriptedFailure failure;
        failure.at_s = read_number(event, "at_s");
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
  const CoolingKind k = read_enum<CoolingKind>(r, "kind");
  hall.cooling = facility::default_cooling_plant(k, 0);  // sized from the racks when the run starts
  auto& air = hall.cooling.air;
  FieldReader a = r.section("air");
  air.plant = read_enum<facility::AirPlantKind>(a, "plant");
  air.supply_air_c = read_number(a, "supply_air_c", air.supply_air_c);
  air.air_delta_t_k = read_number(a, "air_delta_t_k", air.air_delta_t_k);
  air.fan_pressure_pa = read_number(a, "fan_pressure_pa", air.fan_pressure_pa);
  air.fan_efficiency = read_number(a, "fan_efficiency", air.fan_efficiency);
  air.variable_speed_fans = read_flag(a, "variable_speed_fans");
  air.sensible_heat_ratio = read_number(a, "sensible_heat_ratio", air.sensible_heat_ratio);
  a.finish();
  auto& ch = hall.cooling.chiller;
  FieldReader c = r.section("chiller");
  hall.chiller_unit_capacity_kw = read_optional_number(c, "unit_capacity_kw");
  ch.min_part_load = read_number(c, "min_part_load", ch.min_part_load);
  ch.cop_adjustment = read_number(c, "cop_adjustment", ch.cop_adjustment);
  ch.coil_effectiveness = read_number(c, "coil_effectiveness", ch.coil_effectiveness);
  ch.chilled_water_delta_t_k = read_number(c, "chilled_water_delta_t_k", ch.chilled_water_delta_t_k);
  ch.condenser_water_delta_t_k = read_number(c, "condenser_water_delta_t_k", ch.condenser_water_delta_t_k);
  ch.tower_approach_k = read_number(c, "tower_approach_k", ch.tower_approach_k);
  ch.economizer_approach_k = read_number(c, "economizer_approach_k", ch.economizer_approach_k);
  ch.waterside_economizer = read_flag(c, "waterside_economizer");
  ch.pump_efficiency = read_number(c, "pump_efficiency", ch.pump_efficiency);
  c.finish();
  auto& liquid = hall.cooling.liquid;
  FieldReader l = r.section("liquid");
  if (k == CoolingKind::Air && l.node()) l.error("capture_fraction", "liquid: applies to kind direct_liquid or immersion");
  liquid.capture_fraction = read_number(l, "capture_fraction", liquid.capture_fraction);
  liquid.supply_c = read_number(l, "supply_c", liquid.supply_c);
  liquid.delta_t_k = read_number(l, "delta_t_k", liquid.delta_t_k);
  liquid.pump_pressure_pa = read_number(l, "pump_pressure_pa", liquid.pump_pressure_pa);
  liquid.pump_efficiency = read_number(l, "pump_efficiency", liquid.pump_efficiency);
  liquid.dry_cooler_approach_k = read_number(l, "dry_cooler_approach_k", liquid.dry_cooler_approach_k);
  liquid.dry_cooler_air_delta_t_k = read_number(l, "dry_cooler_air_delta_t_k", liquid.dry_cooler_air_delta_t_k);
  l.finish();
  r.finish();
}

HallSpec read_hall(FieldReader r) {
  HallSpec hall;
  hall.design_it_kw = read_optional_number(r, "design_it_kw");
  FieldReader p = r.section("power");
  hall.ups_redundancy = read_number(p, "ups_redundancy");
  auto& ups = hall.power.ups;
  FieldReader u = p.section("ups");
  if (auto rated = read_optional_number(u, "rated_kw")) ups.rated_kw = *rated;
  ups.no_load_loss = read_number(u, "no_load_loss");
  ups.proportional_loss = read_number(u, "proportional_loss");
  ups.square_law_loss = read_number(u, "square_law_loss");
  u.finish();
  hall.power.distribution_loss_ratio = read_number(p, "distribution_loss_ratio");
  hall.power.lighting_other_ratio = read_number(p, "lighting_other_ratio");
  p.finish();
  read_cooling(r.section("cooling"), hall);
  r.finish();
  return hall;
}

void read_halls(FieldReader& parent, int halls, FacilitySpec& f) {
  parent.mark_known("halls");
  const ConfigNode* list = parent.node() ? parent.node()->find("halls") : nullptr;
  if (!list || list->is_null()) {
    f.halls.assign(static_cast<std::size_t>(halls), read_hall(FieldReader(nullptr, parent.path_of("halls") + "[0]", parent.errors())));
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
  f.pue_target = read_number(r, "pue_target");
  const std::string weather = read_text(r, "weather");
  if (weather != "hong_kong") {
    f.weather = resolve(weather, r.where("weather"));
    try {
      facility::load_weather_csv(f.weather);
    } catch (const facility::WeatherFileError& e) {
      r.error_in_file("weather", {e.file(), e.line(), 1}, r.path_of("weather") + " (column " + e.field() + ")", e.message());
    } catch (const std::exception& e) {
      r.error("weather", std::string("expected hong_kong or a weather CSV: ") + e.what());
    }
  }
  f.start_hour_of_year = read_start(r);
  f.psu_efficiency = read_number(r, "psu_efficiency");
  f.switch_w = read_number(r, "switch_w");
  f.switches_per_rack = static_cast<int>(read_integer(r, "switches_per_rack"));
  f.gpu_power_cap_w = read_optional_number(r, "gpu_power_cap_w");  // below a GPU's process-idle draw no clock helps
  f.rack_breaker_kw = read_optional_number(r, "rack_breaker_kw");
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
  c.currency = read_enum<cost::Currency>(r, "currency");
  FieldReader ex = r.section("exchange");
  c.exchange.hkd_per_usd = read_number(ex, "hkd_per_usd");
  c.exchange.cny_per_usd = read_number(ex, "cny_per_usd");
  ex.finish();
  c.years = read_number(r, "years");
  c.amortization_years = read_number(r, "amortization_years");
  c.capex_total = optional_money(r, "capex_total");
  c.gpu_price = optional_money(r, "gpu_price");
  c.server_price = optional_money(r, "server_price");
  c.network = money(r, "network", c.network);
  c.rack_price = money(r, "rack_price", c.rack_price);
  c.cooling_plant_per_kw = money(r, "cooling_plant_per_kw", c.cooling_plant_per_kw);
  c.power_infrastructure_per_kw = money(r, "power_infrastructure_per_kw", c.power_infrastructure_per_kw);
  c.tariff_per_kwh = money(r, "tariff_per_kwh", c.tariff_per_kwh);
  c.maintenance_fraction_per_year = read_number(r, "maintenance_fraction_per_year");
  c.space_per_rack_month = money(r, "space_per_rack_month", c.space_per_rack_month);
  c.grid_kg_co2_per_kwh = read_number(r, "grid_kg_co2_per_kwh");
  FieldReader cloud = r.section("cloud");
  if (cloud.has("price_per_gpu_hour")) c.cloud_price_per_gpu_hour = optional_money(cloud, "price_per_gpu_hour");
  cloud.mark_known("price_per_gpu_hour");
  c.cloud_monthly = optional_money(cloud, "monthly");
  cloud.finish();
  c.payback_amortization_months = read_number(r, "payback_amortization_months");
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
