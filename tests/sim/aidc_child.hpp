#pragma once
// Helpers for tests that run the real `aidc` binary as a child process (SimGrid allows one engine
// per process, and the CLI's exit codes, messages and outputs are what users rely on).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace aidc_test {

namespace fs = std::filesystem;

inline const std::string kAidc = AIDC_BINARY;
inline const std::string kFixtures = AIDC_TEST_FIXTURES;

// A fresh, empty folder removed at the end of the test (kept when the test failed and AIDC_TEST_KEEP is
// set, for inspection).
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "aidc-sim-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    if (!::testing::Test::HasFailure() || !std::getenv("AIDC_TEST_KEEP")) {
      std::error_code ignored;
      fs::remove_all(path_, ignored);
    } else {
      std::fprintf(stderr, "kept %s for inspection\n", path_.c_str());
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct ChildResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A started `aidc args...` whose stdout and stderr go to files beside its working folder.
struct RunningAidc {
  pid_t pid = -1;
  std::string out_file, err_file;
};

// Starts `aidc args...` in `cwd` (so relative default outputs land there); `in_child`, when given, runs in
// the child just before exec (limits, signal dispositions the run inherits).
inline RunningAidc start_aidc(const std::vector<std::string>& args, const std::string& cwd,
                              const std::function<void()>& in_child = {}) {
  RunningAidc child;
  child.out_file = cwd + "/../" + fs::path(cwd).filename().string() + ".stdout";
  child.err_file = cwd + "/../" + fs::path(cwd).filename().string() + ".stderr";
  child.pid = fork();
  if (child.pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(127);
    if (!freopen(child.out_file.c_str(), "w", stdout) || !freopen(child.err_file.c_str(), "w", stderr)) _exit(127);
    if (in_child) in_child();
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    copy.insert(copy.begin(), kAidc);
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(kAidc.c_str(), argv.data());
    _exit(127);
  }
  return child;
}

// Waits for it to end, killing it (SIGKILL: exit code 137) when it runs past `timeout_s`; returns what
// it printed.
inline ChildResult finish_aidc(const RunningAidc& child, double timeout_s = 1e9) {
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (waitpid(child.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ChildResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(child.out_file);
  r.err = read_file(child.err_file);
  std::error_code ignored;
  fs::remove(child.out_file, ignored);
  fs::remove(child.err_file, ignored);
  return r;
}

// Runs `aidc args...` in `cwd` to its end, capturing stdout and stderr.
inline ChildResult run_aidc(const std::vector<std::string>& args, const std::string& cwd,
                            const std::function<void()>& in_child = {}) {
  return finish_aidc(start_aidc(args, cwd, in_child));
}

inline std::string describe(const ChildResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" + r.err;
}

// A CSV with a header line; cells by column name. Quoted cells ("a, b" with "" for a quote) as
// batch.csv writes them; no newlines inside cells.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, std::size_t> column;
  const std::string& at(std::size_t row, const std::string& name) const { return rows.at(row).at(column.at(name)); }
  double number(std::size_t row, const std::string& name) const { return std::stod(at(row, name)); }
};

inline std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(sep, start);
    cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return cells;
}

inline std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cells.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      cells.emplace_back();
    } else {
      cells.back() += ch;
    }
  }
  return cells;
}

inline Csv read_csv(const std::string& path) {
  Csv csv;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto cells = csv_cells(line);
    if (csv.header.empty()) {
      csv.header = cells;
      for (std::size_t i = 0; i < cells.size(); ++i) csv.column[cells[i]] = i;
    } else {
      csv.rows.push_back(std::move(cells));
    }
  }
  return csv;
}

inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// `aidc run FIXTURE --out OUT` with extra --set overrides; fails the test on a non-zero exit.
inline ChildResult run_scenario(const std::string& scenario, const std::string& out, const std::vector<std::string>& sets,
                                const std::string& cwd) {
  std::vector<std::string> args = {"run", scenario, "--out", out, "--progress", "none", "--quiet"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  ChildResult r = run_aidc(args, cwd);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  return r;
}

}  // namespace aidc_test
