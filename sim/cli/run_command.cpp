#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "common/paths.hpp"
#include "perf/model_factory.hpp"
#include "report/summary.hpp"
#include "scenario/loader.hpp"
#include "run/simulate.hpp"

namespace aidc::cli {
namespace {

// A bar on a terminal once a run has taken a couple of seconds; JSON lines for the GUI.
class ConsoleProgress final : public ProgressSink {
 public:
  explicit ConsoleProgress(std::string mode) : mode_(std::move(mode)), start_(std::chrono::steady_clock::now()) {}
  ~ConsoleProgress() override {
    if (drawn_) std::fprintf(stderr, "\n");
  }

  void update(double simulated_s, double total_s) override {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double fraction = total_s > 0 ? simulated_s / total_s : 1.0;
    if (mode_ == "json") {
      std::fprintf(stderr, "{\"event\":\"progress\",\"fraction\":%.4f,\"simulated_s\":%.3f,\"wall_s\":%.3f}\n", fraction,
                   simulated_s, wall);
      std::fflush(stderr);
    } else if (mode_ == "bar" && wall > 2.0 && isatty(STDERR_FILENO)) {
      const int width = 40, filled = static_cast<int>(fraction * width);
      std::fprintf(stderr, "\r[%s%s] %3.0f%%  %.0f/%.0f s simulated, %.1f s wall", std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), 100 * fraction, simulated_s, total_s, wall);
      std::fflush(stderr);
      drawn_ = true;
    }
  }

 private:
  std::string mode_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

}  // namespace

int run(const RunOptions& options) {
  return guarded([&] {
    const Catalog catalog = Catalog::load(scenarios_dir());
    const std::string file = options.scenario_file.empty() ? scenarios_dir() + "/default.yaml" : options.scenario_file;
    const Scenario scenario = load_scenario(file, options.overrides, catalog);
    const auto performance = make_performance_model(scenario, catalog);
    ConsoleProgress progress(options.progress);
    RunSetup setup;
    setup.progress = &progress;
    RunRecord record = simulate(scenario, catalog, *performance, setup);
    const auto summary = summarize_run(scenario, catalog, record, *performance);
    const std::string out = options.out_dir.empty() ? default_run_dir(scenario.name) : options.out_dir;
    write_run_outputs(out, scenario, summary, record);
    if (!options.quiet) std::fputs(text_report(scenario, summary).c_str(), stdout);
    if (!options.quiet) std::printf("Outputs: %s/\n", out.c_str());
    if (options.progress == "json") std::fprintf(stderr, "%s\n", nlohmann::json{{"event", "done"}, {"out", out}}.dump().c_str());
    return kExitDone;
  });
}

int validate(const ValidateOptions& options) {
  const Catalog* catalog = nullptr;
  std::optional<Catalog> loaded;
  nlohmann::json problems = nlohmann::json::array();
  const int catalog_status = guarded([&] {
    loaded = Catalog::load(scenarios_dir());
    catalog = &*loaded;
    return kExitDone;
  });
  if (catalog_status != kExitDone) return catalog_status;
  int status = kExitDone;
  for (const auto& file : options.files) {
    try {
      load_scenario(file, options.overrides, *catalog);
      if (options.format == "text") std::printf("%s: ok\n", file.c_str());
    } catch (const InputErrors& e) {
      status = kExitBadInput;
      for (const auto& error : e.errors()) {
        if (options.format == "json")
          problems.push_back({{"file", error.where.file}, {"line", error.where.line}, {"column", error.where.column},
                              {"path", error.key_path}, {"message", error.message}});
        else
          std::fprintf(stderr, "%s\n", error.to_string().c_str());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "aidc: internal error: %s\n", e.what());
      return kExitInternal;
    }
  }
  if (options.format == "json") std::printf("%s\n", problems.dump(2).c_str());
  return status;
}

}  // namespace aidc::cli
