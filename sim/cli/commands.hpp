#pragma once
// The `aidc` subcommands. Each returns the process exit code: 0 done, 2 bad input, 1 internal failure.
#include <string>
#include <vector>

#include "study/batch.hpp"
#include "study/plan.hpp"

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

// Studies (study/): their runs go to child processes of this machine.
using BatchOptions = study::BatchOptions;
int batch(const BatchOptions& options);

using PlanOptions = study::PlanOptions;
int plan(const PlanOptions& options);

struct SchemaOptions {
  std::string format = "json";  // json | markdown
  std::string update_doc;       // a Markdown file whose `<!-- schema: … -->` blocks are regenerated in place
};
int schema(const SchemaOptions& options);

}  // namespace aidc::cli
