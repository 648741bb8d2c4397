// One test per class of bad input, through the real CLI (`aidc validate` and `aidc run`): exit code 2,
// every error as FILE:LINE:COL: error: key.path: message naming the right file, line and key, and no
// output folder or file left behind. Fixtures: scenarios/tests/bad/ (each file's first line says
// where its error is; the lines and columns below are counted by hand in those files).
#include <string>

#include "aidc_child.hpp"

namespace aidc_test {
namespace {

const std::string kBad = kFixtures + "/bad/";

struct Expected {
  std::string location;  // FILE:LINE:COL (or the --set text for command-line overrides)
  std::string key_path;  // empty when the error has none (malformed YAML)
  std::vector<std::string> message_parts;
};

std::string error_line(const Expected& e) {
  return e.location + ": error: " + (e.key_path.empty() ? "" : e.key_path + ": ");
}

bool folder_is_empty(const std::string& dir) { return fs::is_empty(dir); }

// `aidc validate` and `aidc run --out out` both fail with exit 2 and the expected message; `run`
// leaves nothing in its working folder (neither `out/` nor a default runs/ folder).
void expect_bad_input(const std::string& file, const std::vector<std::string>& sets, const Expected& expected) {
  std::vector<std::string> set_args;
  for (const auto& s : sets) set_args.insert(set_args.end(), {"--set", s});
  for (const char* command : {"validate", "run"}) {
    SCOPED_TRACE(command);
    TempDir cwd;
    std::vector<std::string> args = {command, file};
    if (std::string(command) == "run") args.insert(args.end(), {"--out", "out", "--progress", "none"});
    args.insert(args.end(), set_args.begin(), set_args.end());
    const ChildResult r = run_aidc(args, cwd.str());
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    const std::string head = error_line(expected);
    const auto at = r.err.find(head);
    EXPECT_NE(at, std::string::npos) << "expected a line starting '" << head << "'\n" << describe(r);
    if (at != std::string::npos) {
      EXPECT_TRUE(at == 0 || r.err[at - 1] == '\n') << "the location starts the line\n" << r.err;
      const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
      for (const auto& part : expected.message_parts)
        EXPECT_NE(line.find(part), std::string::npos) << "'" << part << "' missing from: " << line;
    }
    EXPECT_TRUE(folder_is_empty(cwd.str())) << "bad input left output behind in " << cwd.str();
    EXPECT_FALSE(fs::exists(cwd / "out"));
  }
}

TEST(CliBadInput, UnknownKeySuggestsTheClosestKey) {
  expect_bad_input(kBad + "unknown_key.yaml", {},
                   {kBad + "unknown_key.yaml:10:3", "deployment.replicsa", {"unknown key", "did you mean 'replicas'"}});
}

TEST(CliBadInput, WrongType) {
  expect_bad_input(kBad + "wrong_type.yaml", {},
                   {kBad + "wrong_type.yaml:10:13", "deployment.replicas", {"expected an integer", "'two'"}});
}

TEST(CliBadInput, OutOfRangeValue) {
  expect_bad_input(kBad + "out_of_range.yaml", {},
                   {kBad + "out_of_range.yaml:10:29", "deployment.kv_cache_memory_fraction", {"[0.05, 1]", "1.5"}});
}

TEST(CliBadInput, UnknownGpu) {
  expect_bad_input(kBad + "unknown_gpu.yaml", {},
                   {kBad + "unknown_gpu.yaml:6:8", "datacenter.gpu", {"unknown GPU 'H100-SMX'", "did you mean 'H100-SXM'"}});
}

TEST(CliBadInput, UnknownModel) {
  expect_bad_input(kBad + "unknown_model.yaml", {},
                   {kBad + "unknown_model.yaml:10:10", "deployment.model",
                    {"unknown model 'deepseek-llm-7c'", "did you mean 'deepseek-llm-7b'"}});
}

// 671e9 params x 2 bytes / 8 GPUs = 168 GB of weights per 80 GB GPU.
TEST(CliBadInput, ModelDoesNotFitMemoryAtThatPrecisionAndTp) {
  expect_bad_input(kBad + "does_not_fit.yaml", {},
                   {kBad + "does_not_fit.yaml:10:10", "deployment.model", {"does not fit", "bf16", "tensor_parallel 8"}});
}

// Quantized to int4 the same model still needs 671e9 x 0.5 / 8 = 42 GB per GPU, which fits: the error
// depends on precision and TP, not on the model alone.
TEST(CliBadInput, SameModelFitsAtInt4) {
  TempDir cwd;
  const ChildResult r = run_aidc({"validate", kBad + "does_not_fit.yaml", "--set", "deployment.precision=int4"}, cwd.str());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST(CliBadInput, TensorParallelLargerThanGpusPerServer) {
  expect_bad_input(kBad + "tp_too_large.yaml", {},
                   {kBad + "tp_too_large.yaml:11:20", "deployment.tensor_parallel", {"at most 8"}});
}

TEST(CliBadInput, MoreGpusPlacedThanExist) {
  expect_bad_input(kBad + "too_many_gpus.yaml", {},
                   {kBad + "too_many_gpus.yaml:11:13", "deployment.replicas", {"9 GPUs", "has 8"}});
}

// The flow mapping opened on line 7 is never closed; yaml-cpp notices where the next key starts at
// line 8 column 1 (or at the end of the line it opened). Either is the right neighbourhood.
TEST(CliBadInput, MalformedYaml) {
  for (const char* command : {"validate", "run"}) {
    SCOPED_TRACE(command);
    TempDir cwd;
    std::vector<std::string> args = {command, kBad + "malformed.yaml"};
    if (std::string(command) == "run") args.insert(args.end(), {"--out", "out"});
    const ChildResult r = run_aidc(args, cwd.str());
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    const std::string prefix = kBad + "malformed.yaml:";
    ASSERT_EQ(r.err.rfind(prefix, 0), 0u) << describe(r);
    const auto parts = split(r.err.substr(prefix.size(), r.err.find(": error:") - prefix.size()), ':');
    ASSERT_EQ(parts.size(), 2u) << r.err;
    const int line = std::stoi(parts[0]);
    EXPECT_TRUE(line == 7 || line == 8 || line == 9) << "line " << line;
    EXPECT_NE(r.err.find(": error: invalid YAML"), std::string::npos) << r.err;
    EXPECT_TRUE(folder_is_empty(cwd.str()));
  }
}

// bad_trace.csv line 5: `1.5,12O,20` (letter O), the prompt cell starts at column 5. The error names
// the CSV file, not the scenario.
TEST(CliBadInput, BadTraceRow) {
  expect_bad_input(kBad + "bad_trace.yaml", {},
                   {kBad + "bad_trace.csv:5:5", "", {"workload.trace_file", "prompt_tokens", "expected a number", "'12O'"}});
}

// circular_a.yaml (extends on line 3) -> circular_b.yaml (extends on line 4) -> circular_a.yaml. The error
// must point at an `extends:` line of the loop, not at a comment.
TEST(CliBadInput, CircularExtends) {
  for (const char* command : {"validate", "run"}) {
    SCOPED_TRACE(command);
    TempDir cwd;
    std::vector<std::string> args = {command, kBad + "circular_a.yaml"};
    if (std::string(command) == "run") args.insert(args.end(), {"--out", "out"});
    const ChildResult r = run_aidc(args, cwd.str());
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("circular"), std::string::npos) << r.err;
    const bool at_a = r.err.rfind(kBad + "circular_a.yaml:3:", 0) == 0;
    const bool at_b = r.err.rfind(kBad + "circular_b.yaml:4:", 0) == 0;
    EXPECT_TRUE(at_a || at_b) << "expected the location of an extends: line of the loop, got\n" << r.err;
    EXPECT_NE(r.err.find(": error: extends: "), std::string::npos) << r.err;
    EXPECT_TRUE(folder_is_empty(cwd.str()));
  }
}

TEST(CliBadInput, SetWithoutEquals) {
  expect_bad_input(kBad + "valid.yaml", {"deployment.replicas"},
                   {"--set deployment.replicas:1:20", "", {"expected key.path=value"}});  // where the '=' is missing
}

TEST(CliBadInput, SetWithUnknownKeySuggests) {
  expect_bad_input(kBad + "valid.yaml", {"deployment.replicsa=2"},
                   {"--set deployment.replicsa=2:1:1", "deployment.replicsa", {"unknown key", "did you mean 'replicas'"}});
}

TEST(CliBadInput, SetWithWrongType) {
  // The value's position inside the --set text (line 1, column 1 of "three") follows the text.
  TempDir cwd;
  for (const char* command : {"validate", "run"}) {
    std::vector<std::string> args = {command, kBad + "valid.yaml", "--set", "deployment.replicas=three"};
    if (std::string(command) == "run") args.insert(args.end(), {"--out", "out"});
    const ChildResult r = run_aidc(args, cwd.str());
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_EQ(r.err.rfind("--set deployment.replicas=three", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(": error: deployment.replicas: expected an integer, got 'three'"), std::string::npos) << r.err;
    EXPECT_TRUE(folder_is_empty(cwd.str()));
  }
}

TEST(CliBadInput, SetWithEmptyKeyPath) {
  expect_bad_input(kBad + "valid.yaml", {"deployment..replicas=2"},
                   {"--set deployment..replicas=2:1:12", "deployment..replicas", {"empty key"}});  // the empty key's column
}

// Without chunked prefill a prompt must fit one batch. For a trace the prompts are the trace's rows, not
// the (unused) prompt_tokens distribution, whose default is 512 tokens: a trace of <= 200-token prompts
// with max_batch_tokens 256 is valid...
TEST(CliBadInput, TracePromptsThatFitTheBatchAreValid) {
  TempDir cwd;
  const ChildResult r = run_aidc({"validate", kFixtures + "/trace_unchunked/short_prompts.yaml"}, cwd.str());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

// ...and one with a 300-token prompt (long_prompt.csv line 4) is not: that request could never run.
// A trace request that can never run (here a 300-token prompt without chunked prefill in a 256-token
// batch) is answered "rejected" at run time, as a server would, and counted; the rest are served.
TEST(CliBadInput, TracePromptLongerThanTheBatchIsRejectedAtRunTime) {
  TempDir cwd;
  const ChildResult r =
      run_aidc({"run", kFixtures + "/trace_unchunked/long_prompt.yaml", "--out", cwd / "out", "--quiet"}, cwd.str());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto summary = nlohmann::json::parse(read_file(cwd / "out/summary.json"));
  EXPECT_EQ(summary["requests"]["rejected"], 1) << summary.dump(2);
  EXPECT_EQ(summary["requests"]["completed"], 2) << summary.dump(2);
  const std::string rows = read_file(cwd / "out/requests.csv");
  EXPECT_NE(rows.find(",300,10,0,rejected"), std::string::npos) << "the 300-token request should be rejected\n" << rows;
}

// The GUI reads `validate --format json`: the same error as objects with file, line, column, path.
TEST(CliBadInput, ValidateJsonGivesTheSameLocation) {
  TempDir cwd;
  const ChildResult r = run_aidc({"validate", kBad + "unknown_key.yaml", "--format", "json"}, cwd.str());
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  const auto problems = nlohmann::json::parse(r.out);
  ASSERT_EQ(problems.size(), 1u) << r.out;
  EXPECT_EQ(problems[0]["file"], kBad + "unknown_key.yaml");
  EXPECT_EQ(problems[0]["line"], 10);
  EXPECT_EQ(problems[0]["column"], 3);
  EXPECT_EQ(problems[0]["path"], "deployment.replicsa");
  EXPECT_NE(problems[0]["message"].get<std::string>().find("did you mean 'replicas'"), std::string::npos);
}

// Every problem of a file is reported in one run, not one per attempt.
TEST(CliBadInput, AllErrorsOfAFileInOneRun) {
  TempDir cwd;
  const ChildResult r = run_aidc({"validate", kBad + "wrong_type.yaml", "--set", "deployment.max_batch_sequences=0",
                                  "--set", "datacenter.gpu=H100-SMX"},
                                 cwd.str());
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("deployment.replicas: expected an integer"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deployment.max_batch_sequences: expected an integer in [1, 65536], got 0"), std::string::npos) << r.err;
}

// The fixtures are wrong only where intended: the valid one runs, and writes its outputs.
TEST(CliBadInput, ValidFixtureRuns) {
  TempDir cwd;
  const ChildResult r = run_aidc({"run", kBad + "valid.yaml", "--out", "out", "--progress", "none", "--quiet"}, cwd.str());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  for (const char* file : {"summary.json", "requests.csv", "timeseries.csv", "scenario.yaml", "report.txt"})
    EXPECT_TRUE(fs::exists(cwd / (std::string("out/") + file))) << file;
}

// Commands that serve each request whole on one pool refuse a disaggregated scenario, naming the key
// where the file sets it (line 28, column 3 of the example), and write nothing.
TEST(CliBadInput, OnePoolCommandsRefuseADisaggregatedDeployment) {
  const std::string file = kFixtures + "/../examples/deepseek-r1-disaggregated.yaml";
  const std::vector<std::vector<std::string>> commands = {
      {"twin", "--prometheus", "http://127.0.0.1:1", "--scenario", file, "--server", "127.0.0.1:1", "--out", "out"},
      {"load", file, "--url", "http://127.0.0.1:1", "--out", "out"},
      {"haproxy-config", file, "--server", "127.0.0.1:1", "--out", "out"}};
  for (const auto& args : commands) {
    SCOPED_TRACE(args.front());
    TempDir cwd;
    const ChildResult r = run_aidc(args, cwd.str());
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find(file + ":28:3: error: deployment.prefill: aidc " + args.front() + " does not take a disaggregated deployment"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(folder_is_empty(cwd.str())) << "left output behind in " << cwd.str();
  }
}

}  // namespace
}  // namespace aidc_test
