// `aidc calibrate`: a black-box step model of a serving engine from measured runs (sim/perf/step_fit.hpp),
// written in the calibration format (`source: fit`) that `aidc run` reads as performance.calibration.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "common/paths.hpp"
#include "core/calibration/writer.hpp"
#include "perf/step_fit.hpp"
#include "scenario/loader.hpp"

namespace aidc::cli {
namespace {

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

}  // namespace

int calibrate(const CalibrateOptions& options) {
  return guarded([&] {
    const Catalog catalog = Catalog::load(scenarios_dir());
    std::vector<MeasuredRun> runs;
    CalibrationProfile profile;
    profile.source = "fit";
    auto& m = profile.metadata;
    std::string command = "aidc calibrate";
    for (const std::string& dir : options.runs) {
      command += " " + dir;
      // What the run served: aidc load writes the resolved scenario beside its requests.
      const std::string scenario_file = (std::filesystem::path(dir) / "scenario.yaml").string();
      if (!std::filesystem::exists(scenario_file))
        throw_input_error({dir, 0, 0}, "", "not a run folder: no scenario.yaml (aidc load writes requests.csv and scenario.yaml)");
      const Scenario s = load_scenario(scenario_file, {}, catalog);
      const std::string model = s.deployment.model, precision = to_string(s.deployment.precision);
      if (runs.empty()) {
        m.model = model, m.precision = precision, m.kv_precision = to_string(s.deployment.kv_cache_precision);
        m.tp = s.deployment.tensor_parallel, m.gpu = options.gpu.empty() ? s.datacenter.gpu : options.gpu;
      } else if (model != m.model || precision != m.precision || s.deployment.tensor_parallel != m.tp) {
        throw_input_error({scenario_file, 0, 0}, "deployment",
                          "every run must measure the same model, precision and TP: " + model + " " + precision + " TP " +
                              std::to_string(s.deployment.tensor_parallel) + " vs " + m.model + " " + m.precision + " TP " +
                              std::to_string(m.tp));
      }
      runs.push_back(load_completed_requests((std::filesystem::path(dir) / "requests.csv").string()));
    }
    try {
      profile.fit = fit_step_model(runs);
    } catch (const std::invalid_argument& e) {
      throw_input_error({options.runs.front(), 0, 0}, "requests.csv", e.what());
    }
    m.engine_version = options.engine, m.date = utc_now(), m.command = command, m.weights = "";
    write_file_atomically(options.out, format_calibration_profile(profile));
    const auto& f = *profile.fit;
    std::printf("Fitted %s (%s, %s, TP %d) from %d runs, %d completed requests:\n", options.engine.c_str(), m.model.c_str(),
                m.precision.c_str(), m.tp, f.runs, f.requests);
    std::printf("  step = %.4g ms + %.4g ms x decoding sequences + %.4g us x their KV tokens + %.4g us x prompt tokens\n",
                1e3 * f.base_s, 1e3 * f.per_decode_sequence_s, 1e6 * f.per_kv_token_s, 1e6 * f.per_prefill_token_s);
    std::printf("  frontend %.4g ms per request; fit error of the runs' mean TPOT %.1f%%, mean TTFT %.1f%%\n", 1e3 * f.frontend_s,
                100 * f.tpot_error, 100 * f.ttft_error);
    std::printf("  measured range: decode batch up to %d, context up to %.0f tokens, prompts up to %.0f tokens\n",
                f.max_decode_batch, f.max_context_tokens, f.max_prompt_tokens);
    std::printf("Wrote %s (use it as performance: {model: calibrated, calibration: FILE})\n", options.out.c_str());
    return kExitDone;
  });
}

}  // namespace aidc::cli
