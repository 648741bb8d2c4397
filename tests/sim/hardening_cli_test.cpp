// Inputs that used to crash or hang `aidc`, through the real CLI: each is now exit 2 with
// FILE:LINE:COL and nothing written, or — where the value is valid — a clean run. SimGrid never
// sees a link it cannot time (a latency of 1e-320 s made it abort with "The Impossible Did Happen").
// Runs beyond the work limits are refused up front; outputs survive signals, SIGKILL and a second run
// into the same folder (docs/reliability.md).
#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "aidc_child.hpp"

namespace aidc_test {
namespace {

const std::string kDefault = std::string(AIDC_TEST_SCENARIOS_DIR) + "/default.yaml";

// `aidc run` of `args` in a fresh folder: exit 2, the error line starting with `location`, and nothing
// left in the folder.
void expect_refused(const std::vector<std::string>& args, const std::string& location, const std::string& words) {
  TempDir cwd;
  std::vector<std::string> all = {"run"};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"--out", "out", "--progress", "none"});
  const ChildResult r = run_aidc(all, cwd.str());
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.err.rfind(location, 0), 0u) << "expected the error to start with " << location << "\n" << describe(r);
  EXPECT_NE(r.err.find(words), std::string::npos) << describe(r);
  EXPECT_TRUE(fs::is_empty(cwd.path())) << "bad input left output behind";
}

TEST(HardeningCli, AYamlAliasBombIsRefusedNotExpanded) {
  TempDir dir;
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += std::string(i ? ", " : "") + "*a" + std::to_string(level - 1);
    text += "]\n";
  }
  const std::string path = dir / "laughs.yaml";
  std::ofstream(path) << text;
  expect_refused({path}, path + ":", "expands to more than");
}

TEST(HardeningCli, AScenarioThatIsNotUtf8IsRefused) {
  TempDir dir;
  const std::string path = dir / "latin1.yaml";
  std::ofstream(path, std::ios::binary) << "extends: " << kDefault << "\nname: caf\xe9\n";
  expect_refused({path}, path + ":2:10: error:", "not UTF-8");
}

TEST(HardeningCli, ALinkOfAPetabitPerSecondPlusIsRefusedByItsKey) {
  expect_refused({kDefault, "--set", "datacenter.network.frontend.bandwidth_gbit_s=1e308"},
                 "--set datacenter.network.frontend.bandwidth_gbit_s=1e308:1:1: error: datacenter.network.frontend.bandwidth_gbit_s:",
                 "expected a number in");
}

// 1e-320 ms is a valid latency (≥ 0); below SimGrid's nanosecond precision it is taken as none.
TEST(HardeningCli, ASubnanosecondLatencyRunsAsNone) {
  TempDir cwd;
  const ChildResult r = run_scenario(kDefault, "out",
                                     {"duration_s=20", "warmup_s=0", "datacenter.network.frontend.latency_ms=1e-320",
                                      "datacenter.network.fabric.latency_us=1e-310"},
                                     cwd.str());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(fs::exists(cwd / "out/summary.json")) << describe(r);
}

TEST(HardeningCli, ACalibrationProfileWithAnEmptyGridIsRefusedWithItsPlace) {
  TempDir dir;
  const std::string profile = std::string(AIDC_TEST_SCENARIOS_DIR) + "/calibration/deepseek-llm-7b__h100-80gb-hbm3__bf16-tp1.yaml";
  std::string text = read_file(profile);
  const std::string grid = text.substr(text.find("    tokens: ["), text.find('\n', text.find("    tokens: [")) - text.find("    tokens: ["));
  text.replace(text.find(grid), grid.size(), "    tokens: []");
  const std::string bad = dir / "empty-grid.yaml";
  std::ofstream(bad) << text;
  expect_refused({std::string(AIDC_TEST_SCENARIOS_DIR) + "/examples/calibrated-h100.yaml", "--set",
                  "performance.calibration=" + bad},
                 bad + ":", "operators.linear.tokens: expected at least one grid point");
}

// A file the scenario names that cannot be opened, or is not such a file, is reported at the key that
// names it (these printed `FILE: error:` with no line, or `<input>`).
TEST(HardeningCli, AnUnreadableSecondaryFileIsLocatedAtTheKeyNamingIt) {
  TempDir dir;
  const std::string blank = dir / "blank.yaml";
  std::ofstream(blank) << "";
  expect_refused({kDefault, "--set", "workload.kind=trace", "--set", "workload.trace_file=" + dir / "missing.csv"},
                 "--set workload.trace_file=" + dir / "missing.csv" + ":1:1: error: workload.trace_file: ", "cannot open file");
  expect_refused({std::string(AIDC_TEST_SCENARIOS_DIR) + "/examples/calibrated-h100.yaml", "--set", "performance.calibration=" + blank},
                 "--set performance.calibration=" + blank + ":1:1: error: ", "expected a calibration profile");
  expect_refused({std::string(AIDC_TEST_SCENARIOS_DIR) + "/examples/facility-air-hk-summer.yaml", "--set",
                  "facility.weather=" + dir / "missing.csv"},
                 "--set facility.weather=" + dir / "missing.csv" + ":1:1: error: facility.weather", "cannot open");
  const std::string lengths = dir / "lengths.yaml";
  std::ofstream(lengths) << "extends: " << kDefault << "\nworkload:\n  prompt_tokens: {distribution: empirical, file: "
                         << dir / "none.csv" << "}\n";
  expect_refused({lengths}, lengths + ":3:", "cannot open file");
}

// A --sweep is located like a --set override: `--sweep TEXT:1:COL`, the column at fault; refused before
// any run starts (an empty value ran, and failed, as a run of its own).
TEST(HardeningCli, SweepSyntaxErrorsPointAtTheirColumn) {
  for (const auto& [sweep, column] : std::vector<std::pair<std::string, int>>{
           {"duration_s", 11}, {"=1,2", 1}, {"duration_s=", 12}, {"duration_s=1,,2", 14}, {"duration_s=1,", 14}}) {
    TempDir cwd;
    const ChildResult r = run_aidc({"batch", kDefault, "--out", "study", "--sweep", sweep}, cwd.str());
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    const std::string location = "--sweep " + sweep + ":1:" + std::to_string(column) + ": error: ";
    EXPECT_EQ(r.err.rfind(location, 0), 0u) << "expected " << location << "\n" << describe(r);
    EXPECT_TRUE(fs::is_empty(cwd.path())) << "a refused batch left files";
  }
}

// --- Runaway work: refused in well under a second with the estimate, the limit and the keys ---------

// `aidc run` of the default scenario with `sets`, which must be refused quickly (each of these ran for
// minutes or hours, or until memory ran out, before) naming `key` at `location`.
void expect_too_big(const std::vector<std::string>& sets, const std::string& location, const std::string& key) {
  TempDir cwd;
  std::vector<std::string> args = {"run", kDefault, "--out", "out", "--progress", "none"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  const auto start = std::chrono::steady_clock::now();
  const ChildResult r = finish_aidc(start_aidc(args, cwd.str()), 30);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_LT(wall, 5.0) << "refused only after " << wall << " s";
  EXPECT_EQ(r.err.rfind(location, 0), 0u) << "expected the error at " << location << "\n" << describe(r);
  EXPECT_NE(r.err.find("error: " + key + ": "), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("limit"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("--allow-long"), std::string::npos) << describe(r);
  EXPECT_TRUE(fs::is_empty(cwd.path())) << "a refused run left output behind";
}

TEST(RunawayWork, ARateOfTenMillionPerSecondIsRefused) {
  expect_too_big({"workload.kind=open_loop", "workload.schedule.rate_per_s=1e7"},
                 "--set workload.schedule.rate_per_s=1e7:1:", "workload.schedule.rate_per_s");
}

TEST(RunawayWork, TwoHundredMillionServersAreRefused) {
  expect_too_big({"datacenter.halls=64", "datacenter.rows_per_hall=256", "datacenter.racks_per_row=256",
                  "datacenter.servers_per_rack=64"},
                 "--set datacenter.servers_per_rack=64:1:", "datacenter.servers_per_rack");
}

TEST(RunawayWork, AMillionReplicasAreRefused) {
  expect_too_big({"datacenter.halls=4", "datacenter.rows_per_hall=256", "datacenter.racks_per_row=256",
                  "datacenter.servers_per_rack=1", "deployment.replicas=1000000", "workload.users=10"},
                 "--set deployment.replicas=1000000:1:", "deployment.replicas");
}

TEST(RunawayWork, AHundredMillionUsersAreRefused) {
  expect_too_big({"workload.users=100000000"}, "--set workload.users=100000000:1:", "workload.users");
}

TEST(RunawayWork, AMillisecondTimeSeriesOverAMillionSecondsIsRefused) {
  expect_too_big({"duration_s=1000000", "output.timeseries_interval_s=0.001", "workload.users=10"},
                 "--set output.timeseries_interval_s=0.001:1:", "output.timeseries_interval_s");
}

// A key set in the scenario file is named at its line and column there.
TEST(RunawayWork, TheLimitingKeyIsLocatedInTheScenarioFile) {
  TempDir dir;
  const std::string path = dir / "busy.yaml";
  std::ofstream(path) << "extends: " << kDefault << "\nworkload:\n  users: 100000000\n";
  expect_refused({path}, path + ":3:10: error: workload.users:", "--allow-long");
}

// Arrivals stop at duration_s: after a last step of 1e-9/s, thinning at the peak rate (100/s) drew
// ~10¹¹ candidates for the next arrival, so this run never ended.
TEST(RunawayWork, ARateScheduleEndingInATinyRateFinishesPromptly) {
  TempDir cwd;
  const ChildResult r = finish_aidc(
      start_aidc({"run", kDefault, "--out", "out", "--progress", "none", "--quiet", "--set", "workload.kind=open_loop", "--set",
                  "workload.schedule.kind=steps", "--set",
                  "workload.schedule.steps=[{at_s: 0, rate_per_s: 100}, {at_s: 10, rate_per_s: 1e-9}]", "--set",
                  "duration_s=20", "--set", "warmup_s=0", "--set", "workload.users=10"},
                 cwd.str()),
      60);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto summary = read_json(cwd / "out/summary.json");
  EXPECT_NEAR(summary["requests"]["arrived"].get<double>(), 1000, 4 * std::sqrt(1000.0));  // Poisson: 100/s for 10 s
}

// --- Output folders ------------------------------------------------------------------------------

bool wait_until(const std::function<bool()>& condition, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The default scenario over 10⁶ s: an hour or more of work, past the limit, so it needs --allow-long.
const std::vector<std::string> kLongRun = {"run", kDefault, "--progress", "none", "--quiet", "--allow-long", "--set",
                                           "duration_s=1000000"};

std::vector<std::string> long_run_into(const std::string& out) {
  auto args = kLongRun;
  args.insert(args.end(), {"--out", out});
  return args;
}

std::vector<std::string> names_in(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(folder, ignored)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

const std::vector<std::string> kRunOutputs = {"report.txt", "requests.csv", "scenario.yaml", "summary.json", "timeseries.csv"};

TEST(RunOutputs, AFinishedRunLeavesItsOutputsAndNothingElse) {
  TempDir cwd;
  run_scenario(kDefault, "out", {"duration_s=20", "warmup_s=0"}, cwd.str());
  EXPECT_EQ(names_in(cwd / "out"), kRunOutputs);
}

TEST(RunOutputs, AnOutputFolderThatCannotBeCreatedIsRefusedBeforeSimulating) {
  TempDir cwd;
  std::ofstream(cwd / "file") << "not a folder";
  const auto start = std::chrono::steady_clock::now();
  const ChildResult r = run_aidc(long_run_into("file/out"), cwd.str());
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  EXPECT_EQ(r.err.rfind("file/out: error: cannot create the output folder", 0), 0u) << describe(r);
}

TEST(RunOutputs, AReadOnlyOutputFolderIsRefusedBeforeSimulating) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  TempDir cwd;
  fs::create_directory(cwd / "out");
  fs::permissions(cwd / "out", fs::perms::owner_read | fs::perms::owner_exec);
  const ChildResult r = run_aidc(long_run_into("out"), cwd.str());
  fs::permissions(cwd / "out", fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.err.rfind("out: error: cannot write into the output folder", 0), 0u) << describe(r);
}

TEST(RunOutputs, ASecondRunIntoTheSameFolderIsRefusedWhileTheFirstGoesOn) {
  TempDir cwd;
  const RunningAidc first = start_aidc(long_run_into("out"), cwd.str());
  ASSERT_TRUE(wait_until([&] { return fs::exists(cwd / "out/.lock"); }, 30)) << describe(finish_aidc(first, 0));
  const ChildResult second =
      run_aidc({"run", kDefault, "--out", "out", "--progress", "none", "--set", "duration_s=20", "--set", "warmup_s=0"}, cwd.str());
  kill(first.pid, SIGTERM);
  const ChildResult r = finish_aidc(first, 30);
  EXPECT_EQ(second.exit_code, 2) << describe(second);
  EXPECT_EQ(second.err.rfind("out: error: another aidc process (pid " + std::to_string(first.pid) + ")", 0), 0u)
      << describe(second);
  EXPECT_EQ(r.exit_code, 143) << describe(r);
}

// SIGINT and SIGTERM: a clear message, exit 128 + signal, and no file of the run left (the folder it
// created is removed).
void expect_stopped_cleanly(int signal, int exit_code, const std::string& name) {
  TempDir cwd;
  const RunningAidc run = start_aidc(long_run_into("out"), cwd.str());
  ASSERT_TRUE(wait_until([&] { return fs::exists(cwd / "out/.lock"); }, 30)) << describe(finish_aidc(run, 0));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // well into the simulation
  kill(run.pid, signal);
  const ChildResult r = finish_aidc(run, 10);
  EXPECT_EQ(r.exit_code, exit_code) << describe(r);
  EXPECT_NE(r.err.find("aidc: stopped by " + name + "; no outputs written"), std::string::npos) << describe(r);
  EXPECT_TRUE(fs::is_empty(cwd.path())) << "left behind: " << ::testing::PrintToString(names_in(cwd / "out"));
}

TEST(RunOutputs, SigintStopsARunCleanly) { expect_stopped_cleanly(SIGINT, 130, "SIGINT"); }
TEST(RunOutputs, SigtermStopsARunCleanly) { expect_stopped_cleanly(SIGTERM, 143, "SIGTERM"); }

// SIGKILL cannot be cleaned up by its victim: the next run into the folder removes what dead runs left
// (their staging folders and temporary files) and is not blocked by their lock file.
TEST(RunOutputs, WhatAKilledRunLeftIsRemovedByTheNextRunIntoTheFolder) {
  TempDir cwd;
  const RunningAidc killed = start_aidc(long_run_into("out"), cwd.str());
  ASSERT_TRUE(wait_until([&] { return fs::exists(cwd / "out/.lock"); }, 30)) << describe(finish_aidc(killed, 0));
  kill(killed.pid, SIGKILL);
  finish_aidc(killed, 10);
  const std::string dead = std::to_string(killed.pid);
  fs::create_directory(cwd / ("out/.partial-" + dead));
  std::ofstream(cwd / ("out/.partial-" + dead + "/requests.csv")) << "half";
  std::ofstream(cwd / ("out/summary.json.tmp-" + dead)) << "{";
  std::ofstream(cwd / "out/notes.txt") << "the user's own file stays";
  run_scenario(kDefault, "out", {"duration_s=20", "warmup_s=0"}, cwd.str());
  auto expected = kRunOutputs;
  expected.push_back("notes.txt");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names_in(cwd / "out"), expected);
}

TEST(RunOutputs, ANameCannotPutOutputsOutsideTheRunsFolder) {
  TempDir top;
  const std::string cwd = top / "a/b/c";
  fs::create_directories(cwd);
  const ChildResult r = run_aidc({"run", kDefault, "--progress", "none", "--quiet", "--set", "duration_s=20", "--set",
                                  "warmup_s=0", "--set", "name=../../../escaped"},
                                 cwd);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(names_in(top.str()), std::vector<std::string>{"a"});
  EXPECT_EQ(names_in(top / "a"), std::vector<std::string>{"b"});
  const auto runs = names_in(cwd + "/runs");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].rfind("..-..-..-escaped-", 0), 0u) << runs[0];
}

// A Latin-1 folder name (not UTF-8) stopped the run after its outputs with an internal JSON error.
TEST(RunOutputs, ALatin1OutputFolderNameRunsToTheEnd) {
  TempDir cwd;
  const ChildResult r = run_aidc({"run", kDefault, "--out", "caf\xe9", "--progress", "json", "--quiet", "--set",
                                  "duration_s=20", "--set", "warmup_s=0"},
                                 cwd.str());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(names_in(cwd / "caf\xe9"), kRunOutputs);
  EXPECT_NE(r.err.find("{\"event\":\"done\""), std::string::npos) << describe(r);
}

// --- Batches: their runs die with them ----------------------------------------------------------

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> children;
  std::error_code ignored;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ignored)) {
    std::ifstream list(task.path() / "children");
    for (pid_t child; list >> child;) children.push_back(child);
  }
  return children;
}

// Gone, or a zombie nobody has reaped yet.
bool ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
}

const std::string kBatchRun = "study/default_duration_s-1000000";  // the run's folder, named after its overrides

// What a run leaves only while it goes on: its lock, staging folder and temporary files, or outputs.
std::vector<std::string> run_files_in(const std::string& folder) {
  std::vector<std::string> found;
  for (const auto& name : names_in(folder))
    if (name == ".lock" || name.rfind(".partial-", 0) == 0 || name.find(".tmp-") != std::string::npos ||
        std::find(kRunOutputs.begin(), kRunOutputs.end(), name) != kRunOutputs.end())
      found.push_back(name);
  return found;
}

// Starts `aidc batch` of one long run; returns it and the pid of its `aidc run` child once that runs.
std::pair<RunningAidc, pid_t> start_long_batch(const TempDir& cwd) {
  const RunningAidc batch =
      start_aidc({"batch", kDefault, "--out", "study", "--allow-long", "--sweep", "duration_s=1000000"}, cwd.str());
  pid_t child = -1;
  wait_until(
      [&] {
        const auto children = children_of(batch.pid);
        if (!children.empty()) child = children.front();
        return child > 0 && !run_files_in(cwd / kBatchRun).empty();
      },
      30);
  return {batch, child};
}

TEST(BatchChildren, DieWithTheirParentEvenOnSigkill) {
  TempDir cwd;
  const auto [batch, started_child] = start_long_batch(cwd);
  const pid_t child = started_child;  // clang 14 (the sanitized build) cannot capture a structured binding
  ASSERT_GT(child, 0) << describe(finish_aidc(batch, 0));
  kill(batch.pid, SIGKILL);
  finish_aidc(batch, 10);
  EXPECT_TRUE(wait_until([&] { return ended(child); }, 5)) << "the run " << child << " outlived its batch";
  EXPECT_TRUE(wait_until([&] { return run_files_in(cwd / kBatchRun).empty(); }, 5))
      << ::testing::PrintToString(names_in(cwd / kBatchRun));
}

TEST(BatchChildren, SigintStopsTheBatchAndItsRuns) {
  TempDir cwd;
  const auto [batch, started_child] = start_long_batch(cwd);
  const pid_t child = started_child;  // clang 14 (the sanitized build) cannot capture a structured binding
  ASSERT_GT(child, 0) << describe(finish_aidc(batch, 0));
  kill(batch.pid, SIGINT);
  const ChildResult r = finish_aidc(batch, 20);
  EXPECT_EQ(r.exit_code, 130) << describe(r);
  EXPECT_NE(r.err.find("aidc: stopped by SIGINT"), std::string::npos) << describe(r);
  EXPECT_TRUE(ended(child));
  EXPECT_FALSE(fs::exists(cwd / "study/batch.csv"));
  EXPECT_FALSE(fs::exists(cwd / "study/.lock"));
  EXPECT_TRUE(run_files_in(cwd / kBatchRun).empty()) << ::testing::PrintToString(names_in(cwd / kBatchRun));
}


// --- A full disk: the command fails naming the file, and the folder keeps what it held ---------------

// For in_child: every file the process and its children write is cut at `bytes`, with SIGXFSZ ignored,
// so write(2) fails with EFBIG: the path a full disk's ENOSPC takes, without filling one.
std::function<void()> file_size_limit(rlim_t bytes) {
  return [bytes] {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{bytes, bytes};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(127);
  };
}

// Every file under `folder`, by its path relative to it, with its bytes.
std::map<std::string, std::string> contents_of(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) files[fs::relative(entry.path(), folder).string()] = read_file(entry.path().string());
  return files;
}

std::vector<std::string> temporaries_under(const fs::path& folder) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp") != std::string::npos || name.rfind(".partial-", 0) == 0 || name == ".lock")
      found.push_back(fs::relative(entry.path(), folder).string());
  }
  return found;
}

// The file named by "aidc: error: cannot write PATH: File too large", or "" without such a line.
std::string file_too_large_in(const std::string& err) {
  const std::string head = "aidc: error: cannot write ", tail = std::string(": ") + std::strerror(EFBIG);
  const auto start = err.find(head);
  if (start == std::string::npos) return "";
  const auto end = err.find(tail, start);
  return end == std::string::npos ? "" : err.substr(start + head.size(), end - start - head.size());
}

// A short run of the default scenario: 20 users for 5 s, outputs of a few kB.
const std::vector<std::string> kSmallRunSets = {"--set", "duration_s=5", "--set", "warmup_s=0", "--set", "workload.users=20"};

TEST(FullDisk, ARunThatCannotWriteItsOutputsFailsAndKeepsThePreviousOnes) {
  TempDir cwd;
  std::vector<std::string> args = {"run", kDefault, "--out", "out", "--progress", "none", "--quiet"};
  args.insert(args.end(), kSmallRunSets.begin(), kSmallRunSets.end());
  const ChildResult first = run_aidc(args, cwd.str());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  const auto before = contents_of(cwd / "out");
  std::size_t largest = 0;
  for (const auto& [name, bytes] : before) largest = std::max(largest, bytes.size());
  const rlim_t limit = largest / 2;

  const ChildResult r = run_aidc(args, cwd.str(), file_size_limit(limit));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  const std::string failed = file_too_large_in(r.err);
  ASSERT_FALSE(failed.empty()) << describe(r);
  const std::string name = fs::path(failed).filename().string();
  EXPECT_TRUE(before.count(name) && before.at(name).size() > limit) << failed << " is not an output larger than " << limit;
  EXPECT_EQ(temporaries_under(cwd.path()), std::vector<std::string>{});
  EXPECT_TRUE(contents_of(cwd / "out") == before) << "the previous outputs changed";
}

TEST(FullDisk, ABatchThatCannotWriteItsCsvFailsAndKeepsThePreviousOne) {
  TempDir cwd;
  std::vector<std::string> args = {"batch", kDefault, "--out", "study", "-j", "2", "--sweep", "seed=1,2,3,4"};
  args.insert(args.end(), kSmallRunSets.begin(), kSmallRunSets.end());
  const ChildResult first = run_aidc(args, cwd.str());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  const auto before = contents_of(cwd / "study");
  ASSERT_TRUE(before.count("batch.csv"));
  std::size_t largest_run_file = 0;
  for (const auto& [name, bytes] : before)
    if (name != "batch.csv") largest_run_file = std::max(largest_run_file, bytes.size());
  // The runs write their files whole; only batch.csv (a row of every summary) is cut.
  ASSERT_LT(largest_run_file, before.at("batch.csv").size());
  const rlim_t limit = (largest_run_file + before.at("batch.csv").size()) / 2;

  const ChildResult r = run_aidc(args, cwd.str(), file_size_limit(limit));
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(file_too_large_in(r.err), "study/batch.csv") << describe(r);
  EXPECT_EQ(temporaries_under(cwd.path()), std::vector<std::string>{});
  const auto after = contents_of(cwd / "study");
  EXPECT_EQ(after.at("batch.csv"), before.at("batch.csv"));
  std::vector<std::string> names_before, names_after;
  for (const auto& file : before) names_before.push_back(file.first);
  for (const auto& file : after) names_after.push_back(file.first);
  EXPECT_EQ(names_after, names_before) << "every run folder whole, nothing added";
}

}  // namespace
}  // namespace aidc_test
