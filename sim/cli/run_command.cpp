#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "cli/interrupt.hpp"
#include "common/input_error.hpp"
#include "common/output_folder.hpp"
#include "common/paths.hpp"
#include "perf/model_factory.hpp"
#include "report/summary.hpp"
#include "scenario/loader.hpp"
#include "run/simulate.hpp"
#include "run/work_estimate.hpp"
#include "twin/scaled_model.hpp"
#include "twin/start_state_file.hpp"

namespace aidc::cli {
namespace {

// Progress with the wall time left (from the pace so far). `auto` (the default): a bar on a terminal
// once a run has taken a couple of seconds, nothing when stderr is a file or pipe. `bar`, asked for:
// the bar on a terminal, else a line every few seconds on whatever stream stderr is. `json`: JSON
// lines for the GUI.
class ConsoleProgress final : public ProgressSink {
 public:
  explicit ConsoleProgress(std::string mode)
      : mode_(std::move(mode)), terminal_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}
  ~ConsoleProgress() override {
    if (drawn_ && terminal_) std::fprintf(stderr, "\n");
  }

  void update(double simulated_s, double total_s) override {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double fraction = total_s > 0 ? simulated_s / total_s : 1.0;
    const double eta = fraction > 0 ? wall * (1 - fraction) / fraction : 0;
    if (mode_ == "json") {
      std::fprintf(stderr, "{\"event\":\"progress\",\"fraction\":%.4f,\"simulated_s\":%.3f,\"wall_s\":%.3f,\"eta_s\":%.3f}\n",
                   fraction, simulated_s, wall, eta);
      std::fflush(stderr);
      return;
    }
    const bool wanted = mode_ == "bar" || (mode_ == "auto" && terminal_);
    if (!wanted || (terminal_ && wall < 2.0)) return;  // a short run on a terminal needs no bar
    if (terminal_) {
      const int width = 40, filled = static_cast<int>(fraction * width);
      std::fprintf(stderr, "\r[%s%s] %3.0f%%  %.0f/%.0f s simulated, %.1f s wall, ~%.0f s left", std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), 100 * fraction, simulated_s, total_s, wall, eta);
    } else {
      if (drawn_ && wall - last_line_wall_ < kLineEveryS && fraction < 1) return;
      last_line_wall_ = wall;
      std::fprintf(stderr, "progress %3.0f%%  %.0f/%.0f s simulated, %.1f s wall, ~%.0f s left\n", 100 * fraction, simulated_s,
                   total_s, wall, eta);
    }
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  static constexpr double kLineEveryS = 5;  // a log, not a flood
  std::string mode_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
  double last_line_wall_ = 0;
};

}  // namespace

int run(const RunOptions& options) {
  std::mutex writing;  // held while outputs are written and moved in, so that a signal never cuts them in half
  std::optional<OutputFolder> folder;
  const InterruptHandler interrupt([&](const char* signal) {
    const std::lock_guard lock(writing);
    std::fprintf(stderr, "aidc: stopped by %s; %s\n", signal,
                 folder && folder->committed() ? "the outputs were complete" : "no outputs written");
    folder.reset();
  });
  const int status = guarded([&] {
    const Catalog catalog = Catalog::load(scenarios_dir());
    const std::string file = options.scenario_file.empty() ? scenarios_dir() + "/default.yaml" : options.scenario_file;
    const Scenario scenario = load_scenario(file, options.overrides, catalog);
    if (!options.allow_long) check_run_size(scenario);
    const auto performance = twin::scale_step_times(make_performance_model(scenario, catalog), options.step_scale);
    const std::string out = options.out_dir.empty() ? default_run_dir(scenario.name) : options.out_dir;
    {
      const std::lock_guard lock(writing);
      folder.emplace(out);
    }
    ConsoleProgress progress(options.progress);
    RunSetup setup;
    setup.progress = &progress;
    RunRecord record = twin::simulate_from_state_file(scenario, catalog, *performance, setup, options.start_state_file);
    const auto summary = summarize_run(scenario, catalog, record, *performance);
    {
      const std::lock_guard lock(writing);
      write_run_outputs(folder->staging(), scenario, summary, record);
      folder->commit();
    }
    if (!options.quiet) std::fputs(text_report(scenario, summary).c_str(), stdout);
    if (!options.quiet) std::printf("Outputs: %s/\n", out.c_str());
    if (options.progress == "json")
      std::fprintf(stderr, "%s\n",
                   nlohmann::json{{"event", "done"}, {"out", out}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitDone;
  });
  const std::lock_guard lock(writing);
  folder.reset();
  return status;
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
