#include "report/model_report.hpp"

#include <cstdio>

namespace aidc {

nlohmann::ordered_json model_summary(const PerformanceModel& performance) {
  const ModelFidelity f = performance.fidelity();
  const auto range = [](const ModelFidelity::Range& r) {
    return nlohmann::ordered_json{{"max_decode_batch", r.max_decode_batch}, {"max_context_tokens", r.max_context_tokens}};
  };
  nlohmann::ordered_json j;
  j["kind"] = f.kind;
  j["description"] = performance.description();
  if (f.throughput_band > 0 || f.tpot_band > 0)
    j["error_band"] = {{"throughput", f.throughput_band}, {"tpot", f.tpot_band}};
  else
    j["error_band"] = nullptr;
  j["error_band_basis"] = f.band_basis;
  j["checked_range"] = range(f.checked);
  j["run_range"] = range(f.seen);
  j["out_of_range"] = f.out_of_range;
  j["left_checked_range"] = !f.out_of_range.empty();
  return j;
}

std::string model_text_report(const nlohmann::ordered_json& summary) {
  if (!summary.contains("model")) return "";
  const auto& m = summary["model"];
  std::string out;
  char line[512];
  if (m["error_band"].is_null()) {
    std::snprintf(line, sizeof line, "  Model: %s, no error band (not checked against measurements)\n", m["kind"].get<std::string>().c_str());
    out += line;
  } else {
    std::snprintf(line, sizeof line, "  Model: %s, expected error +/-%.0f%% throughput, +/-%.0f%% TPOT (%s)\n",
                  m["kind"].get<std::string>().c_str(), 100 * m["error_band"]["throughput"].get<double>(),
                  100 * m["error_band"]["tpot"].get<double>(), m["error_band_basis"].get<std::string>().c_str());
    out += line;
  }
  for (const auto& reason : m["out_of_range"]) out += "  OUTSIDE the checked range: " + reason.get<std::string>() + "\n";
  return out;
}

}  // namespace aidc
