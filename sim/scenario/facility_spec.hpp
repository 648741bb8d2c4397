#pragma once
// The scenario's `facility:` and `cost:` sections (docs/facility.md §10 lists every key). Plain data:
// the parameter structs of sim/facility and sim/cost, filled from YAML, plus what the run adds around
// them (weather source, start date, failures, alert rules). Defaults live in those structs' headers.
#include <optional>
#include <string>
#include <vector>

#include "common/field_reader.hpp"
#include "cost/money.hpp"
#include "facility/alerts.hpp"
#include "facility/cooling.hpp"
#include "facility/power_chain.hpp"
#include "facility/thermal.hpp"

namespace aidc {

// One hall's power chain and cooling plant. Capacities left at 0 are sized from the hall's racks
// when the run starts (design IT kW = Σ server nameplate + switches).
struct HallSpec {
  std::optional<double> design_it_kw;
  double ups_redundancy = 2;  // 2N
  facility::PowerChainModel power;
  facility::CoolingPlant cooling;  // defaults of its kind with the YAML's keys; sized when the run starts
  std::optional<double> chiller_unit_capacity_kw;  // null: two duty units sized for the design heat
};

enum class CoolingPolicy { Seed, Proportional, None };

struct ScriptedFailure {
  double at_s = 0;
  int replica = -1;  // one replica, or
  int rack = -1;     // every replica on that rack
};

struct FailureSpec {
  // Llama 3 405B: 419 unexpected interruptions on 16,384 H100 in 54 days ≈ 1 per 5.8 GPU-years.
  double mtbf_gpu_hours = 16384.0 * 54 * 24 / 419;
  bool random = false;  // draw failures from the MTBF (exponential) during the run
  std::vector<ScriptedFailure> scripted;
  double repair_s = 1800;         // estimate: swap in a spare node / reseat; set from the operator's SLA
  double storage_gb_s = 2.0;      // weight reload bandwidth per GPU (local NVMe or network storage)
  double process_start_s = 60;    // container + CUDA context + engine warm-up before loading weights
  int retries = 1;                // HAProxy `retries` with `option redispatch`
};

struct FacilitySpec {
  double pue_target = 1.2;  // the seeds' KPI
  std::string weather = "hong_kong";  // or a CSV path (resolved)
  double start_hour_of_year = 0;
  double psu_efficiency = 0.94;
  double switch_w = 250;
  int switches_per_rack = 1;  // top-of-rack switches
  std::optional<double> gpu_power_cap_w;
  std::optional<double> rack_breaker_kw;
  facility::ThrottleModel throttle;
  std::optional<double> gpu_resistance_k_per_w, gpu_time_constant_s, rack_rise_k_per_kw, rack_time_constant_s;
  CoolingPolicy policy = CoolingPolicy::Seed;
  facility::SeedThermalController seed_controller;
  facility::ProportionalController proportional_controller;
  struct Alert {
    facility::AlertRule rule;
    std::string metric;  // gpu_temperature_c | p99_latency_s | gpu_utilization
  };
  std::vector<Alert> alerts;
  std::vector<HallSpec> halls;  // one per datacenter hall (one entry applies to all)
  FailureSpec failures;
};

struct CostSpec {
  cost::Currency currency = cost::Currency::USD;
  cost::ExchangeRates exchange;
  double years = 3;
  double amortization_years = 3;
  std::optional<cost::Money> capex_total;  // the whole purchase as one figure (a quote); else built up
  std::optional<cost::Money> gpu_price, server_price;  // null: catalog price_usd
  cost::Money network{0, cost::Currency::USD};
  cost::Money rack_price{0, cost::Currency::USD};
  cost::Money cooling_plant_per_kw{2250, cost::Currency::USD};
  cost::Money power_infrastructure_per_kw{2750, cost::Currency::USD};
  cost::Money tariff_per_kwh{1.44, cost::Currency::HKD};
  double maintenance_fraction_per_year = 0;
  cost::Money space_per_rack_month{0, cost::Currency::HKD};
  double grid_kg_co2_per_kwh = 0.39;
  std::optional<cost::Money> cloud_price_per_gpu_hour = cost::Money{4.916, cost::Currency::USD};
  std::optional<cost::Money> cloud_monthly;  // replaces the per-GPU-hour price when set
  double payback_amortization_months = 0;
};

// Reads `facility:` (for `halls` datacenter halls) and `cost:`; absent sections stay nullopt, and a
// `cost:` section alone turns the facility model on with its defaults (energy drives the bill).
// `resolve` turns a file named in the scenario into a path (relative to the file that names it).
using PathResolver = std::string (*)(const std::string& value, const SourceLocation& where);
// `halls`, `racks`, `replicas`: the datacenter's, to check the halls list and scripted failures.
void read_facility_and_cost(FieldReader& root, int halls, int racks, int replicas, PathResolver resolve,
                            std::optional<FacilitySpec>& facility, std::optional<CostSpec>& cost);

}  // namespace aidc
