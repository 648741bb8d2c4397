#pragma once
// Cooling plants, one per hall: heat load + outdoor weather -> electrical kW of each component.
// Air: CRAH fans + water-cooled chiller plant with cooling tower and waterside economizer
// (Lei & Masanet 2020), or room CRAC units (Moore et al. 2005). Direct-to-chip liquid and immersion:
// a warm-water loop with pumps and a dry cooler; heat the dry cooler cannot reject at that weather,
// and the air-cooled residue, go to the chiller plant.
#include "facility/weather.hpp"

namespace aidc::facility {

enum class CoolingKind { Air, DirectLiquid, Immersion };
enum class AirPlantKind { ChilledWater, Crac };

// Computer-room air handling (CRAH) fans and the room air conditions.
struct AirHandling {
  AirPlantKind plant = AirPlantKind::ChilledWater;
  double supply_air_c = 20;            // cold-aisle supply (ASHRAE recommended 18–27 °C)
  double air_delta_t_k = 10;           // return − supply at design airflow
  double fan_pressure_pa = 600;        // CRAH fan total pressure (Lei & Masanet: 400–600; raised floor)
  double fan_efficiency = 0.65;        // fan + motor (Lei & Masanet: 0.65–0.90)
  // Fixed-speed fans move the design airflow whatever the load; variable-speed fans follow the heat.
  bool variable_speed_fans = false;
  double design_heat_kw = 0;           // air-side heat the fans are sized for (fixed-speed fans)
  double sensible_heat_ratio = 0.97;   // latent load = sensible/SHR − sensible (Lei & Masanet: 0.95–0.99)
};

// Water-cooled chiller plant (Lei & Masanet, Energy 201 (2020) 117556).
struct ChillerPlant {
  double unit_capacity_kw = 0;          // one chiller; units are staged so none runs above 100%
  double min_part_load = 0.2;           // below this a chiller cycles; the COP fit is used at this ratio
  double cop_adjustment = -0.11;        // relative shift of the COP fit (Lei & Masanet: ±0.11; older plant)
  double coil_effectiveness = 0.8;      // CRAH coil: (T_return_air − T_supply_air)/(T_return_air − T_water_supply)
  double chilled_water_delta_t_k = 7.5;
  double condenser_water_delta_t_k = 5;
  double tower_approach_k = 4.75;       // tower leaving water − wet-bulb (2.8–6.7)
  double economizer_approach_k = 2.25;  // plate heat exchanger approach (1.7–2.8)
  bool waterside_economizer = false;    // rare in Hong Kong colocation; wet-bulb allows it Dec–Mar
  double chilled_water_pump_pa = 143658;
  double economizer_pump_pa = 143658;
  double tower_pump_pa = 208660;
  double pump_efficiency = 0.7;
  double tower_fan_pressure_pa = 250;
  double tower_fan_efficiency = 0.775;
  double tower_liquid_to_gas = 2.1;     // water/air mass ratio through the tower
};

// Warm-water loop of direct-to-chip cold plates or immersion tanks, rejected by a dry cooler.
struct LiquidLoop {
  // Defaults: a direct-to-chip loop; default_cooling_plant sets the capture and the immersion values.
  double capture_fraction = 0;          // share of IT heat taken by the liquid; the rest goes to room air
  double supply_c = 35;                 // facility water to the CDUs/tanks (ASHRAE W40 class: up to 40 °C)
  double delta_t_k = 10;                // return − supply
  double coolant_density_kg_m3 = 1000;
  double coolant_cp_kj_kgk = 4.186;
  double pump_pressure_pa = 250000;     // CDU secondary + facility primary loops together
  double pump_efficiency = 0.7;
  double dry_cooler_approach_k = 5;     // leaving water − outdoor dry-bulb
  double dry_cooler_air_delta_t_k = 10;
  double dry_cooler_fan_pressure_pa = 150;
  double dry_cooler_fan_efficiency = 0.6;
};

struct CoolingPlant {
  CoolingKind kind = CoolingKind::Air;
  AirHandling air;
  ChillerPlant chiller;
  LiquidLoop liquid;  // unused when kind == Air
};

// The defaults of each kind for a Hong Kong colocation hall whose IT and electrical losses at design
// load come to `design_heat_kw`: CRAH fans and chiller units sized for the air-side share of it.
CoolingPlant default_cooling_plant(CoolingKind kind, double design_heat_kw);

// Heat the hall's cooling must remove, kW.
struct HeatLoad {
  double it_kw = 0;    // dissipated by the IT equipment
  double room_kw = 0;  // electrical losses and lighting in the hall (always air-side)
};

struct CoolingPower {
  double crah_fans_kw = 0;
  double crac_kw = 0;
  double chiller_kw = 0;
  double chilled_water_pumps_kw = 0;
  double economizer_pumps_kw = 0;
  double tower_pumps_kw = 0;
  double tower_fans_kw = 0;
  double liquid_pumps_kw = 0;
  double dry_cooler_fans_kw = 0;
  // How the heat went, for reports: shares of the plant's heat, [0, 1].
  double economizer_share = 0;       // of the chilled-water plant's heat, removed without the chiller
  double dry_cooler_share = 0;       // of the liquid loop's heat, rejected by the dry cooler alone
  double chiller_cop = 0;            // 0 when the chiller is off
  double chiller_part_load = 0;
  double total_kw() const {
    return crah_fans_kw + crac_kw + chiller_kw + chilled_water_pumps_kw + economizer_pumps_kw +
           tower_pumps_kw + tower_fans_kw + liquid_pumps_kw + dry_cooler_fans_kw;
  }
};

// `flow_multiplier` is the cooling controller's airflow (air) or coolant flow (liquid) relative to
// design: fans and pumps follow the affinity law, power ∝ flow³.
CoolingPower cooling_power(const CoolingPlant& plant, const HeatLoad& heat, const Weather& outdoor,
                           double flow_multiplier = 1.0);

// Moore, Chase, Ranganathan, Sharma, "Making Scheduling Cool", USENIX ATC 2005: CRAC COP vs supply
// temperature, COP = 0.0068·T² + 0.0008·T + 0.458.
double crac_cop_moore(double supply_air_c);

// Lei & Masanet (2020) chiller COP regression; t = wet-bulb + tower approach (°C), part_load in [0, 1].
double chiller_cop_lei_masanet(double condenser_entering_c, double part_load);

// Share of heat a free-cooling heat exchanger removes when it can cool water to `achievable_c`:
// (T_return − achievable)/(T_return − T_supply), clipped to [0, 1] (Lei & Masanet 2020).
double free_cooling_share(double return_c, double supply_c, double achievable_c);

// Moist-air density at pressure p and temperature T (Lei & Masanet's ideal-gas form).
double air_density_kg_m3(double temperature_c, double pressure_pa = 101325);

}  // namespace aidc::facility
