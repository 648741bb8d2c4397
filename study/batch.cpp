#include "study/batch.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>

#include "common/atomic_file.hpp"
#include "common/exit_codes.hpp"
#include "common/input_error.hpp"
#include "common/paths.hpp"

namespace aidc::study {
namespace {

struct Sweep {
  std::string key;
  std::vector<std::string> values;
};

Sweep parse_sweep(const std::string& text) {
  // Like a --set override, the option is its own one-line source: errors point at the column at fault.
  const auto at_column = [&](std::string::size_type index) {
    return SourceLocation{"--sweep " + text, 1, static_cast<int>(index) + 1};
  };
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw_input_error(at_column(eq == std::string::npos ? text.size() : 0), "", "expected key.path=v1,v2,...");
  Sweep sweep{text.substr(0, eq), {}};
  for (std::string::size_type start = eq + 1;;) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string::npos ? text.size() : comma;
    if (end == start) throw_input_error(at_column(start), sweep.key, "expected a value (v1,v2,...), got an empty one");
    sweep.values.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return sweep;
}

// Every combination of the sweeps' values, as lists of key=value overrides.
std::vector<std::vector<std::string>> cross_product(const std::vector<Sweep>& sweeps) {
  std::vector<std::vector<std::string>> combos{{}};
  for (const auto& sweep : sweeps) {
    std::vector<std::vector<std::string>> next;
    for (const auto& combo : combos)
      for (const auto& value : sweep.values) {
        auto extended = combo;
        extended.push_back(sweep.key + "=" + value);
        next.push_back(extended);
      }
    combos = next;
  }
  return combos;
}

std::string run_name(const std::string& file, const std::vector<std::string>& overrides) {
  std::string name = std::filesystem::path(file).stem().string();
  for (const auto& o : overrides) name += "_" + o;
  return safe_file_name(name);
}

// Every number, bool and string leaf of a summary as dotted-key columns, in document order.
void flatten_json(const nlohmann::ordered_json& value, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) flatten_json(child, prefix.empty() ? key : prefix + "." + key, out);
  } else if (value.is_string()) {
    out.emplace_back(prefix, value.get<std::string>());
  } else if (!value.is_array()) {
    out.emplace_back(prefix, value.is_null() ? std::string() : value.dump());
  }
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char ch : text) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return quoted + "\"";
}

const char* status_of(int exit_code) {
  return exit_code == kExitDone ? "ok" : exit_code == kExitBadInput ? "bad_input" : "failed";
}

}  // namespace

int run_batch(const BatchOptions& options, RunExecutor& executor) {
  std::vector<Sweep> sweeps;
  for (const auto& s : options.sweeps) sweeps.push_back(parse_sweep(s));
  for (const auto& file : options.files)
    if (!std::filesystem::exists(file)) throw_input_error({file, 0, 0}, "", "scenario file not found");
  std::vector<RunRequest> runs;
  std::vector<std::string> names, sweep_texts;
  for (const auto& file : options.files)
    for (const auto& combo : cross_product(sweeps)) {
      const std::string name = run_name(file, combo);
      auto overrides = options.overrides;
      overrides.insert(overrides.end(), combo.begin(), combo.end());
      runs.push_back({file, overrides, options.out_dir + "/" + name, options.out_dir + "/logs/" + name + ".log",
                      options.allow_long ? std::vector<std::string>{"--allow-long"} : std::vector<std::string>{}});
      names.push_back(name);
      std::string joined;
      for (const auto& o : combo) joined += (joined.empty() ? "" : " ") + o;
      sweep_texts.push_back(joined);
    }
  std::printf("aidc batch: %zu runs, %d at a time\n", runs.size(), executor.slots());
  const auto results = executor.run_all(runs);

  // Columns: the union of every summary's keys, in the order first seen.
  std::vector<std::string> columns;
  std::vector<std::map<std::string, std::string>> rows(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].summary) continue;
    std::vector<std::pair<std::string, std::string>> flat;
    flatten_json(*results[i].summary, "", flat);
    for (const auto& [key, value] : flat) {
      if (!rows[i].count(key) && std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
      rows[i][key] = value;
    }
  }
  std::string csv = "run,scenario_file,overrides,status,exit_code,out_dir,error";
  for (const auto& c : columns) csv += "," + csv_field(c);
  csv += "\n";
  int failures = 0, worst = kExitDone;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    failures += r.exit_code != 0;
    if (r.exit_code != 0) worst = worst == kExitInternal || r.exit_code != kExitBadInput ? kExitInternal : kExitBadInput;
    csv += csv_field(names[i]) + "," + csv_field(runs[i].scenario_file) + "," + csv_field(sweep_texts[i]) + "," +
           status_of(r.exit_code) + "," + std::to_string(r.exit_code) + "," +
           csv_field(r.exit_code == 0 ? runs[i].out_dir : "") + "," + csv_field(r.first_error);
    for (const auto& c : columns) csv += "," + csv_field(rows[i].count(c) ? rows[i][c] : "");
    csv += "\n";
    std::printf("  %-50s %s%s%s\n", names[i].c_str(), status_of(r.exit_code), r.first_error.empty() ? "" : ": ",
                r.first_error.c_str());
  }
  write_file_atomically(options.out_dir + "/batch.csv", csv);
  std::printf("%d of %zu runs failed; results in %s/batch.csv\n", failures, runs.size(), options.out_dir.c_str());
  return worst;
}

}  // namespace aidc::study
