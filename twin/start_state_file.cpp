#include "twin/start_state_file.hpp"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"

namespace aidc::twin {

void write_start_state(const std::string& path, const StartState& state) {
  nlohmann::ordered_json doc{{"requests", nlohmann::ordered_json::array()}, {"down", nlohmann::ordered_json::array()}};
  for (const auto& h : state.requests) {
    nlohmann::ordered_json r{{"replica", h.replica},
                             {"prompt_tokens", h.held.request.prompt_tokens},
                             {"output_tokens", h.held.request.max_output_tokens},
                             {"computed_tokens", h.held.computed_tokens},
                             {"generated_tokens", h.held.generated_tokens},
                             {"arrival_s", h.arrival_s}};
    if (!std::isnan(h.first_token_s)) r["first_token_s"] = h.first_token_s;
    doc["requests"].push_back(r);
  }
  for (const auto& d : state.down) doc["down"].push_back({{"replica", d.replica}, {"serving_again_s", d.serving_again_s}});
  write_file_atomically(path, doc.dump(1) + "\n");
}

StartState read_start_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_input_error({path, 0, 0}, "--start", "cannot read the start state file");
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) throw_input_error({path, 0, 0}, "", "expected a JSON object (a twin state)");
  auto field = [&](const nlohmann::json& item, const std::string& where, const char* key, bool integer) {
    if (!item.contains(key) || !item[key].is_number() || (integer && !item[key].is_number_integer()))
      throw_input_error({path, 0, 0}, where + "." + key, integer ? "expected a whole number" : "expected a number");
    return item[key].get<double>();
  };
  StartState state;
  const auto requests = doc.value("requests", nlohmann::json::array());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::string where = "requests[" + std::to_string(i) + "]";
    const auto& item = requests[i];
    StartState::HeldBy h;
    h.replica = static_cast<int>(field(item, where, "replica", true));
    h.held.request.prompt_tokens = static_cast<int>(field(item, where, "prompt_tokens", true));
    h.held.request.max_output_tokens = static_cast<int>(field(item, where, "output_tokens", true));
    h.held.computed_tokens = static_cast<int>(field(item, where, "computed_tokens", true));
    h.held.generated_tokens = static_cast<int>(field(item, where, "generated_tokens", true));
    h.arrival_s = field(item, where, "arrival_s", false);
    if (item.contains("first_token_s")) h.first_token_s = field(item, where, "first_token_s", false);
    state.requests.push_back(h);
  }
  const auto down = doc.value("down", nlohmann::json::array());
  for (std::size_t i = 0; i < down.size(); ++i) {
    const std::string where = "down[" + std::to_string(i) + "]";
    state.down.push_back({static_cast<int>(field(down[i], where, "replica", true)), field(down[i], where, "serving_again_s", false)});
  }
  return state;
}

RunRecord simulate_from_state_file(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance,
                                   RunSetup setup, const std::string& start_file) {
  if (start_file.empty()) return simulate(scenario, catalog, performance, setup);
  const StartState start = read_start_state(start_file);
  setup.start = &start;
  try {
    return simulate(scenario, catalog, performance, setup);
  } catch (const std::invalid_argument& e) {
    throw_input_error({start_file, 0, 0}, "--start", e.what());
  }
}

}  // namespace aidc::twin
