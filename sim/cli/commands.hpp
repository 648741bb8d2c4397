#pragma once
// The `aidc` subcommands. Each returns the process exit code: 0 done, 2 bad input, 1 internal failure.
#include <string>
#include <vector>

namespace aidc::cli {

struct RunOptions {
  std::string scenario_file;
  std::string out_dir;  // empty: runs/<scenario>-<timestamp>
  std::vector<std::string> overrides;
  std::string progress = "bar";  // bar | json | none
  bool quiet = false;            // no report on stdout
};
int run(const RunOptions& options);

struct ValidateOptions {
  std::vector<std::string> files;
  std::vector<std::string> overrides;
  std::string format = "text";  // text | json
};
int validate(const ValidateOptions& options);

struct BatchOptions {
  std::vector<std::string> files;
  std::vector<std::string> sweeps;  // key.path=v1,v2,...
  std::vector<std::string> overrides;
  int jobs = 1;
  std::string out_dir;
};
int batch(const BatchOptions& options);

struct PlanOptions {
  std::string scenario_file;
  std::vector<std::string> overrides;
  std::vector<std::string> gpus;                  // empty: every GPU that fits a catalog server
  std::vector<int> max_batch_sequences;           // empty: the scenario's
  int max_gpus = 4096;
  int jobs = 1;
  std::string out_dir;
};
int plan(const PlanOptions& options);

struct SchemaOptions {
  std::string format = "json";  // json | markdown
  std::string update_doc;       // a Markdown file whose `<!-- schema: … -->` blocks are regenerated in place
};
int schema(const SchemaOptions& options);

}  // namespace aidc::cli
