#pragma once
// The scenario schema: one table of every key a scenario may hold (path, type, unit, default, range or
// choices, meaning). The loader reads each key through its entry, `docs/scenario.md`'s key tables are
// generated from it (`aidc schema --update-doc`), and `aidc schema --format json` gives it to the GUI.
//
// Adding a key: give the struct member its default (scenario.hpp, facility_spec.hpp or the model's
// header), add one line to the table in schema.cpp (type, range, meaning, and the member it lands in),
// and read it in the loader with read_number/read_integer/... (they take default and range from here).
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/field_reader.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

enum class KeyType { Integer, Number, Flag, Text, Choice, Path, Money, Length, Mapping, List };
std::string_view to_string(KeyType type);

// A default, or a loaded value, as the table knows it: none, a number, a flag or text.
using SchemaValue = std::variant<std::monostate, double, bool, std::string>;
std::string to_text(const SchemaValue& value);  // as written in YAML; "" for none

struct SchemaKey {
  // Dotted path from the top of the file; `[]` stands for any item of a list (facility.halls[].design_it_kw)
  // and `<name>` for any key of a mapping of names (facility.alerts.<name>.metric).
  std::string path;
  KeyType type = KeyType::Text;
  std::string unit;
  SchemaValue default_value;  // none: required, absent, or computed (then default_note says how)
  std::string default_note;   // for the doc: a default that depends on other keys
  double min = -std::numeric_limits<double>::infinity(), max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;
  std::string catalog;   // Text: an id of scenarios/catalog/<catalog>
  bool nullable = false; // `null` is a value of its own (no bound, not set)
  std::string when;      // the variants it belongs to ("open_loop", "uniform, lognormal"); empty: always read
  std::string when_key;  // the choice key that selects them (workload.kind); set with `when`
  std::string meaning;
  bool knob = false;     // a knob planners turn: on the GUI's form and offered for sweeps
  // Where the loader puts the key's value (for the defaults test); empty for keys without a member.
  std::function<SchemaValue(const Scenario&)> loaded;

  std::string name() const;     // the last path segment
  std::string section() const;  // the first path segment; "" for a top-level key
};

const std::vector<SchemaKey>& scenario_schema();
// The entry of a key path as the loader sees it ("workload.schedule.steps[2].at_s"); list indices match
// `[]`. Throws std::logic_error for a path the table lacks (a loader bug, not bad input).
const SchemaKey& schema_key(std::string_view path);

// Reads `key` of `r` with the table's default and range (or choices). `fallback` replaces a computed default.
double read_number(FieldReader& r, std::string_view key);
double read_number(FieldReader& r, std::string_view key, double fallback);
std::optional<double> read_optional_number(FieldReader& r, std::string_view key);
long long read_integer(FieldReader& r, std::string_view key);
long long read_integer(FieldReader& r, std::string_view key, long long fallback);
bool read_flag(FieldReader& r, std::string_view key);
std::string read_text(FieldReader& r, std::string_view key);
std::string read_choice(FieldReader& r, std::string_view key);
// For keys of a mapping of names, whose path is not r.path_of(key): the entry is given.
double read_number(FieldReader& r, std::string_view key, const SchemaKey& entry);
std::string read_choice(FieldReader& r, std::string_view key, const SchemaKey& entry);

// The words of a choice that selects an enum value, in one place for the loader and the table.
template <typename Enum>
struct ChoiceNames;
#define AIDC_CHOICE_NAMES(Enum, ...) \
  template <>                       \
  struct ChoiceNames<Enum> {        \
    static inline const std::vector<std::pair<std::string_view, Enum>> values = {__VA_ARGS__}; \
  }
AIDC_CHOICE_NAMES(Precision, {"bf16", Precision::BF16}, {"fp8", Precision::FP8}, {"int8", Precision::INT8}, {"int4", Precision::INT4});
AIDC_CHOICE_NAMES(SchedulerPolicy, {"fcfs", SchedulerPolicy::FirstComeFirstServed},
                  {"shortest_prompt_first", SchedulerPolicy::ShortestPromptFirst});
AIDC_CHOICE_NAMES(BalancerPolicy, {"round_robin", BalancerPolicy::RoundRobin}, {"least_outstanding", BalancerPolicy::LeastOutstanding},
                  {"consistent_hash", BalancerPolicy::ConsistentHash}, {"power_of_two_choices", BalancerPolicy::PowerOfTwoChoices});
AIDC_CHOICE_NAMES(WorkloadSpec::Kind, {"closed_loop", WorkloadSpec::Kind::ClosedLoop}, {"open_loop", WorkloadSpec::Kind::OpenLoop},
                  {"trace", WorkloadSpec::Kind::Trace});
AIDC_CHOICE_NAMES(LengthDistribution::Kind, {"fixed", LengthDistribution::Kind::Fixed}, {"uniform", LengthDistribution::Kind::Uniform},
                  {"lognormal", LengthDistribution::Kind::LogNormal}, {"empirical", LengthDistribution::Kind::Empirical});
AIDC_CHOICE_NAMES(RateSchedule::Kind, {"constant", RateSchedule::Kind::Constant}, {"diurnal", RateSchedule::Kind::Diurnal},
                  {"steps", RateSchedule::Kind::Steps});
AIDC_CHOICE_NAMES(CoolingPolicy, {"seed", CoolingPolicy::Seed}, {"proportional", CoolingPolicy::Proportional}, {"none", CoolingPolicy::None});
AIDC_CHOICE_NAMES(facility::CoolingKind, {"air", facility::CoolingKind::Air}, {"direct_liquid", facility::CoolingKind::DirectLiquid},
                  {"immersion", facility::CoolingKind::Immersion});
AIDC_CHOICE_NAMES(facility::AirPlantKind, {"chilled_water", facility::AirPlantKind::ChilledWater}, {"crac", facility::AirPlantKind::Crac});
AIDC_CHOICE_NAMES(cost::Currency, {"USD", cost::Currency::USD}, {"HKD", cost::Currency::HKD}, {"CNY", cost::Currency::CNY});
#undef AIDC_CHOICE_NAMES
template <typename Enum>
Enum read_enum(FieldReader& r, std::string_view key) {
  const std::string word = read_choice(r, key);
  for (const auto& [name, value] : ChoiceNames<Enum>::values)
    if (name == word) return value;
  return ChoiceNames<Enum>::values.front().second;
}

// `aidc schema`: the table as JSON for tools, or as Markdown tables for the doc.
std::string schema_json();
// Replaces each block between `<!-- schema: PREFIX -->` and `<!-- /schema -->` in `doc` with the table of
// the keys under PREFIX (`.` for the top level) that no other block of the doc claims.
std::string update_schema_blocks(const std::string& doc);

}  // namespace aidc
