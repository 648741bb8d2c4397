// aidc: capacity model of an AI datacenter serving DeepSeek models.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "load/haproxy_config.hpp"
#include "load/load_run.hpp"

int main(int argc, char** argv) {
  using namespace aidc::cli;
  CLI::App app{"aidc - simulate an AI datacenter serving DeepSeek models (SimGrid discrete-event model)"};
  app.require_subcommand(1);

  RunOptions run_options;
  auto* run_cmd = app.add_subcommand("run", "Simulate one scenario (default: scenarios/default.yaml)");
  run_cmd->add_option("scenario", run_options.scenario_file, "Scenario YAML file");
  run_cmd->add_option("--out", run_options.out_dir, "Output folder (default runs/<scenario>-<timestamp>)");
  run_cmd->add_option("--set", run_options.overrides, "Override a key: key.path=value (repeatable)");
  run_cmd->add_option("--progress", run_options.progress, "Progress on stderr: bar, json or none")
      ->check(CLI::IsMember({"bar", "json", "none"}));
  run_cmd->add_flag("--quiet", run_options.quiet, "Do not print the report");

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
  batch_cmd->add_option("-j,--jobs", batch_options.jobs, "Runs in parallel")->check(CLI::PositiveNumber);
  batch_cmd->add_option("--out", batch_options.out_dir, "Output folder")->required();

  PlanOptions plan_options;
  auto* plan_cmd = app.add_subcommand("plan", "Find the cheapest deployment that meets the SLOs at the scenario's load");
  plan_cmd->add_option("scenario", plan_options.scenario_file, "Scenario YAML file")->required();
  plan_cmd->add_option("--set", plan_options.overrides, "Override a key before planning");
  plan_cmd->add_option("--gpus", plan_options.gpus, "GPU types to consider (default: all in the catalog)")->delimiter(',');
  plan_cmd->add_option("--max-batch", plan_options.max_batch_sequences, "max_batch_sequences values to try")->delimiter(',');
  plan_cmd->add_option("--max-gpus", plan_options.max_gpus, "Largest deployment to consider")->check(CLI::PositiveNumber);
  plan_cmd->add_option("-j,--jobs", plan_options.jobs, "Simulations in parallel")->check(CLI::PositiveNumber);
  plan_cmd->add_option("--out", plan_options.out_dir, "Output folder")->required();

  SchemaOptions schema_options;
  auto* schema_cmd = app.add_subcommand("schema", "Print every scenario key with its type, unit, default, range and meaning");
  schema_cmd->add_option("--format", schema_options.format, "json (for tools) or markdown")
      ->check(CLI::IsMember({"json", "markdown"}));
  schema_cmd->add_option("--update-doc", schema_options.update_doc,
                         "Regenerate the key tables between <!-- schema: PREFIX --> markers of this Markdown file");

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitDone : kExitBadInput;
  }
  if (*run_cmd) return run(run_options);
  if (*validate_cmd) return validate(validate_options);
  if (*batch_cmd) return batch(batch_options);
  if (*schema_cmd) return schema(schema_options);
  if (*load_cmd) return guarded([&] { return aidc::load::run_load(load_options); });
  if (*haproxy_cmd) return guarded([&] { return aidc::load::write_haproxy_config(haproxy_options); });
  return plan(plan_options);
}
