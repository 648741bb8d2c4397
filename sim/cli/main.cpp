// aidc: capacity model of an AI datacenter serving DeepSeek models.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "load/haproxy_config.hpp"
#include "load/load_run.hpp"
#include "twin/twin.hpp"

namespace {

// Where a study's runs execute, the same for `batch` and `plan`.
void add_executor_options(CLI::App* command, aidc::cli::ExecutorOptions& options) {
  command->add_option("--executor", options.executor, "Where runs execute: local (child processes) or slurm (job arrays)")
      ->check(CLI::IsMember({"local", "slurm"}));
  command->add_option("--sbatch", options.sbatch_args, "An sbatch option for every job array, as --sbatch=--partition=cpu (repeatable)");
  command->add_option("--poll", options.poll_s, "Seconds between looks at the Slurm queue")->check(CLI::PositiveNumber);
  command->add_flag("--resume", options.resume, "Keep the runs an interrupted study into --out finished; run the rest");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace aidc::cli;
  CLI::App app{"aidc - simulate an AI datacenter serving DeepSeek models (SimGrid discrete-event model)"};
  app.require_subcommand(1);

  RunOptions run_options;
  auto* run_cmd = app.add_subcommand("run", "Simulate one scenario (default: scenarios/default.yaml)");
  run_cmd->add_option("scenario", run_options.scenario_file, "Scenario YAML file");
  run_cmd->add_option("--out", run_options.out_dir, "Output folder (default runs/<scenario>-<timestamp>)");
  run_cmd->add_option("--set", run_options.overrides, "Override a key: key.path=value (repeatable)");
  run_cmd->add_option("--progress", run_options.progress,
                      "Progress on stderr with the time left: auto (a bar on a terminal), bar (on any stream), json or none")
      ->check(CLI::IsMember({"auto", "bar", "json", "none"}));
  run_cmd->add_flag("--quiet", run_options.quiet, "Do not print the report");
  run_cmd->add_flag("--allow-long", run_options.allow_long,
                    "Run even when the scenario's estimated events or memory pass the limits (docs/reliability.md)");
  run_cmd->add_option("--start", run_options.start_state_file, "Start from this deployment state (JSON, as aidc twin writes it)");
  run_cmd->add_option("--step-scale", run_options.step_scale, "Multiply every iteration's time (aidc twin's recalibration)")
      ->check(CLI::PositiveNumber);

  ValidateOptions validate_options;
  auto* validate_cmd = app.add_subcommand("validate", "Check scenario files without running them");
  validate_cmd->add_option("files", validate_options.files, "Scenario YAML files")->required();
  validate_cmd->add_option("--set", validate_options.overrides, "Override a key: key.path=value (repeatable)");
  validate_cmd->add_option("--format", validate_options.format, "text or json")->check(CLI::IsMember({"text", "json"}));

  BatchOptions batch_options;
  auto* batch_cmd = app.add_subcommand("batch", "Run several scenarios or a sweep, each in its own process");
  batch_cmd->add_option("files", batch_options.files, "Scenario YAML files")->required();
  batch_cmd->add_option("--sweep", batch_options.sweeps, "key.path=v1,v2,... (repeatable: the cross product runs)");
  batch_cmd->add_option("--set", batch_options.overrides, "Override a key in every run");
  batch_cmd->add_option("-j,--jobs", batch_options.jobs, "Runs in parallel (slurm: per array; default no limit)")->check(CLI::PositiveNumber);
  batch_cmd->add_option("--out", batch_options.out_dir, "Output folder")->required();
  batch_cmd->add_flag("--allow-long", batch_options.allow_long, "Pass --allow-long to every run");
  ExecutorOptions batch_executor;
  add_executor_options(batch_cmd, batch_executor);

  PlanOptions plan_options;
  auto* plan_cmd = app.add_subcommand("plan", "Find the cheapest deployment that meets the SLOs at the scenario's load");
  plan_cmd->add_option("scenario", plan_options.scenario_file, "Scenario YAML file")->required();
  plan_cmd->add_option("--set", plan_options.overrides, "Override a key before planning");
  plan_cmd->add_option("--gpus", plan_options.gpus, "GPU types to consider (default: all in the catalog)")->delimiter(',');
  plan_cmd->add_option("--max-batch", plan_options.max_batch_sequences, "max_batch_sequences values to try")->delimiter(',');
  plan_cmd->add_option("--max-gpus", plan_options.max_gpus, "Largest deployment to consider")->check(CLI::PositiveNumber);
  plan_cmd->add_option("--layouts", plan_options.layouts,
                       "colocated and/or disaggregated (prefill and decode pools) (default: colocated, and disaggregated where the model "
                       "needs several servers)")
      ->delimiter(',')
      ->check(CLI::IsMember({"colocated", "disaggregated"}));
  plan_cmd->add_option("--servers", plan_options.server_types, "Server types to consider (default: all that take the GPU)")->delimiter(',');
  plan_cmd->add_option("--precisions", plan_options.precisions, "Weight precisions to consider: bf16,fp8,int8,int4 (default: the scenario's)")->delimiter(',');
  plan_cmd->add_option("--objective", plan_options.objective, "What the plan minimises: capex, tco (default), cost_per_mtok or kw")
      ->check(CLI::IsMember({"capex", "tco", "cost_per_mtok", "kw"}));
  double plan_budget = 0, plan_rack_kw = 0;
  auto* budget_option = plan_cmd->add_option("--budget", plan_budget, "Most capex, in the scenario's cost currency")->check(CLI::PositiveNumber);
  auto* rack_kw_option = plan_cmd->add_option("--rack-kw", plan_rack_kw, "Most nameplate kW per rack (default by the hall's cooling kind, docs/plan.md)")
                             ->check(CLI::PositiveNumber);
  plan_cmd->add_flag("--n-plus-one", plan_options.n_plus_one, "Buy one server more than the SLOs need (they hold with one server down)");
  plan_cmd->add_option("--margin", plan_options.margin,
                       "Share of every SLO bound held in reserve for model error (default: each run's model error band)")
      ->check(CLI::Range(0.0, 0.95));
  plan_cmd->add_option("--api-price-input", plan_options.api_usd_per_million_input, "API price compared for payback, USD per million input tokens")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  plan_cmd->add_option("--api-price-output", plan_options.api_usd_per_million_output, "API price compared for payback, USD per million output tokens")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  plan_cmd->add_option("-j,--jobs", plan_options.jobs, "Simulations in parallel (slurm: per array; default no limit)")->check(CLI::PositiveNumber);
  plan_cmd->add_option("--out", plan_options.out_dir, "Output folder")->required();
  ExecutorOptions plan_executor;
  add_executor_options(plan_cmd, plan_executor);

  SchemaOptions schema_options;
  auto* schema_cmd = app.add_subcommand("schema", "Print every scenario key with its type, unit, default, range and meaning");
  schema_cmd->add_option("--format", schema_options.format, "json (for tools) or markdown")
      ->check(CLI::IsMember({"json", "markdown"}));
  schema_cmd->add_option("--update-doc", schema_options.update_doc,
                         "Regenerate the key tables between <!-- schema: PREFIX --> markers of this Markdown file");

  CalibrateOptions calibrate_options;
  auto* calibrate_cmd = app.add_subcommand("calibrate", "Fit a black-box step model of a serving engine from measured runs");
  calibrate_cmd->add_option("runs", calibrate_options.runs, "Run folders written by `aidc load` (requests.csv, scenario.yaml)")->required();
  calibrate_cmd->add_option("--out", calibrate_options.out, "Calibration file to write (source: fit)")->required();
  calibrate_cmd->add_option("--engine", calibrate_options.engine, "What served the runs, e.g. \"vllm 0.6.3\"")->required();
  calibrate_cmd->add_option("--gpu", calibrate_options.gpu, "What it ran on (default: the runs' datacenter.gpu)");

  aidc::load::LoadOptions load_options;
  auto* load_cmd = app.add_subcommand("load", "Measure a real OpenAI-compatible endpoint with a scenario's workload");
  load_cmd->add_option("scenario", load_options.scenario_file, "Scenario YAML file (its workload: section)")->required();
  load_cmd->add_option("--url", load_options.url, "Endpoint base URL (POST /v1/completions)");
  load_cmd->add_option("--model", load_options.model, "Model name to send (default: the first of GET /v1/models)");
  load_cmd->add_option("--out", load_options.out_dir, "Output folder (default runs/<scenario>-load-<timestamp>)");
  load_cmd->add_option("--set", load_options.overrides, "Override a key: key.path=value (repeatable)");
  load_cmd->add_option("--max-requests", load_options.max_requests, "Send at most this many requests")->check(CLI::PositiveNumber);
  load_cmd->add_option("--timeout", load_options.timeout_s, "Seconds after its arrival a request is timed out (bounds the drain)")
      ->check(CLI::PositiveNumber);
  load_cmd->add_option("--vocab", load_options.vocab, "Prompt token ids below this (default: the scenario model's vocab_size)")
      ->check(CLI::PositiveNumber);
  load_cmd->add_option("--progress", load_options.progress, "Progress on stderr: bar, json or none")
      ->check(CLI::IsMember({"bar", "json", "none"}));
  load_cmd->add_flag("--quiet", load_options.quiet, "Do not print the report");

  aidc::load::HaproxyOptions haproxy_options;
  auto* haproxy_cmd = app.add_subcommand("haproxy-config", "Write the HAProxy configuration for the scenario's balancer");
  haproxy_cmd->add_option("scenario", haproxy_options.scenario_file, "Scenario YAML file")->required();
  haproxy_cmd->add_option("--server", haproxy_options.servers, "An engine server host:port (repeatable, replica order)")->required();
  haproxy_cmd->add_option("--bind", haproxy_options.bind, "Frontend address host:port");
  haproxy_cmd->add_option("--stats-bind", haproxy_options.stats_bind, "Prometheus exporter address host:port (GET /metrics)");
  haproxy_cmd->add_option("--set", haproxy_options.overrides, "Override a key: key.path=value (repeatable)");
  haproxy_cmd->add_option("--out", haproxy_options.out, "Configuration file to write")->required();

  aidc::twin::TwinOptions twin_options;
  auto* twin_cmd = app.add_subcommand("twin", "Live twin: mirror a deployment Prometheus scrapes, forecast and answer what-ifs");
  twin_cmd->add_option("--prometheus", twin_options.prometheus_url, "Prometheus base URL, http://host:port")->required();
  twin_cmd->add_option("--scenario", twin_options.scenario_file, "Scenario YAML describing the deployment")->required();
  twin_cmd->add_option("--server", twin_options.servers, "An engine's host:port as Prometheus scrapes it (repeatable, replica order)")->required();
  twin_cmd->add_option("--set", twin_options.overrides, "Override a scenario key: key.path=value (repeatable)");
  twin_cmd->add_option("--engine-job", twin_options.engine_job, "Prometheus job of the engines' /metrics");
  twin_cmd->add_option("--haproxy-job", twin_options.haproxy_job, "Prometheus job of HAProxy's exporter");
  twin_cmd->add_option("--backend", twin_options.backend, "HAProxy backend (proxy label) of the replicas");
  twin_cmd->add_option("--interval", twin_options.interval_s, "Seconds between ticks (reads of Prometheus)")->check(CLI::Range(0.05, 60.0));
  twin_cmd->add_option("--window", twin_options.window_s, "Sliding window for rates, quantiles and drift (s)")->check(CLI::PositiveNumber);
  twin_cmd->add_option("--backfill", twin_options.backfill_s, "History read with range queries on start (s)")->check(CLI::NonNegativeNumber);
  twin_cmd->add_option("--forecast-every", twin_options.forecast_every_s, "Seconds between forecasts")->check(CLI::PositiveNumber);
  twin_cmd->add_option("--horizon", twin_options.horizon_s, "Forecast horizon (s)")->check(CLI::PositiveNumber);
  twin_cmd->add_option("--rate-multiplier", twin_options.rate_multipliers, "What-if rate multipliers forecast each time (repeatable)")
      ->check(CLI::PositiveNumber);
  twin_cmd->add_flag("!--no-server-down", twin_options.forecast_server_down, "Do not forecast with the busiest replica down");
  twin_cmd->add_option("--schedule-origin", twin_options.schedule_origin_unix, "Unix time of the scenario schedule's t=0 (default: now)");
  twin_cmd->add_option("--drift-threshold", twin_options.drift_threshold, "|measured/mirrored - 1| that counts as drift")
      ->check(CLI::PositiveNumber);
  twin_cmd->add_option("--drift-ticks", twin_options.drift_ticks, "Ticks in a row past the threshold before recalibrating")
      ->check(CLI::PositiveNumber);
  twin_cmd->add_flag("!--no-recalibrate", twin_options.recalibrate, "Report drift but keep the step times");
  twin_cmd->add_option("-j,--jobs", twin_options.jobs, "Forecast runs in parallel")->check(CLI::PositiveNumber);
  twin_cmd->add_option("--listen", twin_options.listen, "host:port serving /metrics, /state and POST /whatif");
  twin_cmd->add_option("--out", twin_options.out_dir, "Output folder (default runs/<scenario>-twin-<timestamp>)");
  twin_cmd->add_option("--duration", twin_options.duration_s, "Stop after this many seconds (default: at SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  twin_cmd->add_flag("--quiet", twin_options.quiet, "No status lines on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitDone : kExitBadInput;
  }
  if (*run_cmd) return run(run_options);
  if (*validate_cmd) return validate(validate_options);
  if (*batch_cmd) {
    if (batch_cmd->get_option("--jobs")->count() > 0) batch_executor.max_running = batch_options.jobs;
    return batch(batch_options, batch_executor);
  }
  if (*schema_cmd) return schema(schema_options);
  if (*calibrate_cmd) return calibrate(calibrate_options);
  if (*load_cmd) return guarded([&] { return aidc::load::run_load(load_options); });
  if (*haproxy_cmd) return guarded([&] { return aidc::load::write_haproxy_config(haproxy_options); });
  if (*twin_cmd) return guarded([&] { return aidc::twin::run_twin(twin_options); });
  if (plan_cmd->get_option("--jobs")->count() > 0) plan_executor.max_running = plan_options.jobs;
  if (budget_option->count() > 0) plan_options.budget = plan_budget;
  if (rack_kw_option->count() > 0) plan_options.rack_kw = plan_rack_kw;
  return plan(plan_options, plan_executor);
}
