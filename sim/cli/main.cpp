// aidc: capacity model of an AI datacenter serving DeepSeek models.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/errors.hpp"

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
  return plan(plan_options);
}
