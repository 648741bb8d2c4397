#include "facility/cooling.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aidc::facility {
namespace {

constexpr double kAirCpKjPerKgK = 1.006;
constexpr double kWaterCpKjPerKgK = 4.186;
constexpr double kWaterDensityKgM3 = 1000;
constexpr double kSeaLevelPa = 101325;
// Electrical losses and lighting as a share of hall heat at design load, for sizing the room air side
// of liquid-cooled halls.
constexpr double kDesignRoomHeatShare = 0.05;

// Fluid power of a fan or pump in kW: pressure rise × volume flow / efficiency.
double mover_kw(double mass_flow_kg_s, double density_kg_m3, double pressure_pa, double efficiency) {
  return mass_flow_kg_s / density_kg_m3 * pressure_pa / efficiency / 1000;
}

double water_flow_kg_s(double heat_kw, double delta_t_k) { return heat_kw / (kWaterCpKjPerKgK * delta_t_k); }

struct ChillerResult {
  double power_kw = 0;
  double cop = 0;
  double part_load = 0;
};

// Units are staged so each running chiller carries at most its capacity.
ChillerResult run_chillers(const ChillerPlant& chiller, double heat_kw, double wet_bulb_c) {
  ChillerResult result;
  if (heat_kw <= 0) return result;
  if (chiller.unit_capacity_kw <= 0) throw std::invalid_argument("chiller unit_capacity_kw must be > 0");
  const double units = std::ceil(heat_kw / chiller.unit_capacity_kw);
  result.part_load = std::max(chiller.min_part_load, heat_kw / (units * chiller.unit_capacity_kw));
  result.cop = chiller_cop_lei_masanet(wet_bulb_c + chiller.tower_approach_k, result.part_load) *
               (1 + chiller.cop_adjustment);
  result.power_kw = heat_kw / result.cop;
  return result;
}

}  // namespace

double crac_cop_moore(double t) { return 0.0068 * t * t + 0.0008 * t + 0.458; }

double chiller_cop_lei_masanet(double t, double load) {
  return 16.798751 + 0.008840 * t * t - 8.528931 * load * load + 9.885294 * load - 0.760621 * t +
         0.084615 * load * t;
}

double free_cooling_share(double return_c, double supply_c, double achievable_c) {
  return std::clamp((return_c - achievable_c) / (return_c - supply_c), 0.0, 1.0);
}

double air_density_kg_m3(double temperature_c, double pressure_pa) {
  return 1.293 * (pressure_pa / kSeaLevelPa) * (273.15 / (273.15 + temperature_c));
}

CoolingPlant default_cooling_plant(CoolingKind kind, double design_heat_kw) {
  CoolingPlant plant;
  plant.kind = kind;
  // Share of the design heat the chillers must be able to carry: all of it for air; for direct liquid
  // the residual air plus the trim a Hong Kong summer afternoon leaves; for immersion the room only.
  double chiller_design_share = 1.0;
  switch (kind) {
    case CoolingKind::Air:
      break;
    case CoolingKind::DirectLiquid:  // LiquidLoop's own defaults are the cold-plate loop's
      plant.liquid.capture_fraction = 0.8;
      chiller_design_share = 0.6;
      break;
    case CoolingKind::Immersion:
      plant.liquid.capture_fraction = 1.0;
      plant.liquid.supply_c = 40;
      plant.liquid.delta_t_k = 8;
      plant.liquid.dry_cooler_air_delta_t_k = 15;  // 48 °C return water lets the air rise further
      chiller_design_share = 0.1;
      break;
  }
  plant.air.design_heat_kw = design_heat_kw * (1 - plant.liquid.capture_fraction) +
                             design_heat_kw * kDesignRoomHeatShare * plant.liquid.capture_fraction;
  // Two duty chillers share the design load (a third stands by and is not modelled).
  plant.chiller.unit_capacity_kw = design_heat_kw * chiller_design_share / 2;
  return plant;
}

CoolingPower cooling_power(const CoolingPlant& plant, const HeatLoad& heat, const Weather& outdoor,
                           double flow_multiplier) {
  if (flow_multiplier <= 0) throw std::invalid_argument("flow_multiplier must be > 0");
  const double affinity = std::pow(flow_multiplier, 3);
  const double capture = plant.kind == CoolingKind::Air ? 0.0 : std::clamp(plant.liquid.capture_fraction, 0.0, 1.0);
  const double air_heat_kw = heat.it_kw * (1 - capture) + heat.room_kw;
  const double liquid_heat_kw = heat.it_kw * capture;

  CoolingPower power;

  // Warm-water loop: pumps always; the dry cooler takes what the outdoor dry-bulb allows.
  double trim_heat_kw = 0;
  if (liquid_heat_kw > 0) {
    const LiquidLoop& loop = plant.liquid;
    const double coolant_flow = liquid_heat_kw / (loop.coolant_cp_kj_kgk * loop.delta_t_k);
    power.liquid_pumps_kw =
        mover_kw(coolant_flow, loop.coolant_density_kg_m3, loop.pump_pressure_pa, loop.pump_efficiency) * affinity;
    power.dry_cooler_share = free_cooling_share(loop.supply_c + loop.delta_t_k, loop.supply_c,
                                                outdoor.dry_bulb_c + loop.dry_cooler_approach_k);
    const double dry_heat_kw = liquid_heat_kw * power.dry_cooler_share;
    const double dry_air_flow = dry_heat_kw / (kAirCpKjPerKgK * loop.dry_cooler_air_delta_t_k);
    power.dry_cooler_fans_kw = mover_kw(dry_air_flow, air_density_kg_m3(outdoor.dry_bulb_c),
                                        loop.dry_cooler_fan_pressure_pa, loop.dry_cooler_fan_efficiency);
    trim_heat_kw = liquid_heat_kw - dry_heat_kw;
  }

  const AirHandling& air = plant.air;
  if (air.plant == AirPlantKind::Crac) {
    // Moore et al. lump the CRAC unit's compressor and fans into one COP at the supply temperature.
    power.crac_kw = (air_heat_kw + trim_heat_kw) / crac_cop_moore(air.supply_air_c);
    return power;
  }

  const ChillerPlant& chiller = plant.chiller;
  const double fan_heat_kw = air.variable_speed_fans ? air_heat_kw : std::max(air_heat_kw, air.design_heat_kw);
  const double supply_air_flow = fan_heat_kw / (kAirCpKjPerKgK * air.air_delta_t_k);
  power.crah_fans_kw = mover_kw(supply_air_flow, air_density_kg_m3(air.supply_air_c), air.fan_pressure_pa,
                                air.fan_efficiency) * affinity;

  const double cooling_required_kw = air_heat_kw / air.sensible_heat_ratio;  // sensible + latent
  // Chilled water temperatures follow from the supply air through the CRAH coil.
  const double return_air_c = air.supply_air_c + air.air_delta_t_k;
  const double water_supply_c = return_air_c - air.air_delta_t_k / chiller.coil_effectiveness;
  const double water_return_c = water_supply_c + chiller.chilled_water_delta_t_k;
  if (chiller.waterside_economizer)
    power.economizer_share = free_cooling_share(
        water_return_c, water_supply_c, outdoor.wet_bulb_c + chiller.tower_approach_k + chiller.economizer_approach_k);
  const double economizer_heat_kw = cooling_required_kw * power.economizer_share;
  const double chiller_heat_kw = cooling_required_kw - economizer_heat_kw + trim_heat_kw;

  const ChillerResult chillers = run_chillers(chiller, chiller_heat_kw, outdoor.wet_bulb_c);
  power.chiller_kw = chillers.power_kw;
  power.chiller_cop = chillers.cop;
  power.chiller_part_load = chillers.part_load;

  power.economizer_pumps_kw =
      mover_kw(water_flow_kg_s(economizer_heat_kw, chiller.chilled_water_delta_t_k), kWaterDensityKgM3,
               chiller.economizer_pump_pa, chiller.pump_efficiency);
  power.chilled_water_pumps_kw =
      mover_kw(water_flow_kg_s(chiller_heat_kw, chiller.chilled_water_delta_t_k), kWaterDensityKgM3,
               chiller.chilled_water_pump_pa, chiller.pump_efficiency);

  // The tower rejects everything the plant took in plus the chillers' own work.
  const double tower_heat_kw = economizer_heat_kw + chiller_heat_kw + chillers.power_kw;
  const double tower_water_flow = water_flow_kg_s(tower_heat_kw, chiller.condenser_water_delta_t_k);
  power.tower_pumps_kw =
      mover_kw(tower_water_flow, kWaterDensityKgM3, chiller.tower_pump_pa, chiller.pump_efficiency);
  power.tower_fans_kw = mover_kw(tower_water_flow / chiller.tower_liquid_to_gas, air_density_kg_m3(outdoor.dry_bulb_c),
                                 chiller.tower_fan_pressure_pa, chiller.tower_fan_efficiency);
  return power;
}

}  // namespace aidc::facility
