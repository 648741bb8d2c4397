#include "workload/csv_input.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "common/input_error.hpp"
#include "scenario/schema.hpp"

namespace aidc {
namespace {

struct CsvTable {
  std::vector<std::string> header;
  struct Row {
    int line;
    std::vector<std::string> cells;
    std::vector<int> columns;  // 1-based start column of each cell
  };
  std::vector<Row> rows;
};

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_input_error({path, 0, 0}, "", "cannot open file");
  CsvTable table;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    CsvTable::Row row{line_number, {}, {}};
    std::size_t start = 0;
    while (true) {
      const auto comma = line.find(',', start);
      row.cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      row.columns.push_back(static_cast<int>(start) + 1);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (table.header.empty())
      table.header = row.cells;
    else
      table.rows.push_back(std::move(row));
  }
  if (table.header.empty()) throw_input_error({path, 1, 1}, "", "empty file: expected a header line");
  return table;
}

// A number in [min, max], whole where `whole` (token counts and session ids are stored as integers).
double cell_number(const std::string& path, const CsvTable& table, const CsvTable::Row& row, std::size_t index,
                   double min, double max, bool whole, ErrorList& errors) {
  const std::string& name = table.header[index];
  if (index >= row.cells.size()) {
    errors.add({path, row.line, 1}, name, "missing value: expected " + std::to_string(table.header.size()) + " columns");
    return min;
  }
  const std::string& text = row.cells[index];
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value) || value < min || value > max ||
      (whole && value != std::floor(value))) {
    std::ostringstream expected;
    expected << "expected a number from " << min << " to " << max << (whole ? " (a whole number)" : "") << ", got '" << text << "'";
    errors.add({path, row.line, row.columns[index]}, name, expected.str());
    return min;
  }
  return value;
}

void require_header(const std::string& path, const CsvTable& table, const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (i >= table.header.size() || table.header[i] != names[i])
      throw_input_error({path, 1, 1}, "", "header: expected columns starting with '" + names[0] + "," +
                                              (names.size() > 1 ? names[1] : "") + "...', column " +
                                              std::to_string(i + 1) + " should be '" + names[i] + "'");
}

}  // namespace

std::vector<TraceRow> load_trace(const std::string& path) {
  const CsvTable table = read_csv(path);
  require_header(path, table, {"arrival_s", "prompt_tokens", "output_tokens"});
  const bool has_session = table.header.size() > 3 && table.header[3] == "session";
  ErrorList errors;
  std::vector<TraceRow> rows;
  // The ranges of the scenario keys these columns stand for; session ids stay exact in a double.
  const SchemaKey& duration = schema_key("duration_s");
  const SchemaKey& length = schema_key("workload.prompt_tokens.value");
  constexpr double kMaxSession = 9007199254740992.0;  // 2^53
  double previous = 0;
  for (const auto& row : table.rows) {
    TraceRow r;
    r.arrival_s = cell_number(path, table, row, 0, 0, duration.max, false, errors);
    r.prompt_tokens = static_cast<int>(cell_number(path, table, row, 1, length.min, length.max, true, errors));
    r.output_tokens = static_cast<int>(cell_number(path, table, row, 2, length.min, length.max, true, errors));
    r.session = has_session ? static_cast<std::uint64_t>(cell_number(path, table, row, 3, 0, kMaxSession, true, errors))
                            : static_cast<std::uint64_t>(rows.size());
    if (r.arrival_s < previous)
      errors.add({path, row.line, 1}, "arrival_s", "rows must be sorted by arrival_s");
    previous = r.arrival_s;
    rows.push_back(r);
  }
  if (rows.empty()) errors.add({path, 1, 1}, "", "no requests in the trace");
  errors.throw_if_any();
  return rows;
}

void load_empirical_lengths(const std::string& path, std::vector<double>& tokens, std::vector<double>& weights) {
  const CsvTable table = read_csv(path);
  require_header(path, table, {"tokens"});
  const bool has_weight = table.header.size() > 1 && table.header[1] == "weight";
  ErrorList errors;
  tokens.clear();
  weights.clear();
  const SchemaKey& length = schema_key("workload.prompt_tokens.value");
  constexpr double kMaxWeight = 1e15;  // relative frequencies: their sum stays finite and exact enough
  double total_weight = 0;
  for (const auto& row : table.rows) {
    tokens.push_back(cell_number(path, table, row, 0, length.min, length.max, false, errors));
    weights.push_back(has_weight ? cell_number(path, table, row, 1, 0, kMaxWeight, false, errors) : 1.0);
    total_weight += weights.back();
  }
  if (tokens.empty()) errors.add({path, 1, 1}, "tokens", "no lengths in the file");
  else if (!(total_weight > 0)) errors.add({path, 1, 1}, "weight", "expected at least one positive weight, all are 0");
  errors.throw_if_any();
}

std::vector<CompletedRequestRow> load_completed_requests(const std::string& path) {
  const CsvTable table = read_csv(path);
  require_header(path, table, {"id", "arrival_s", "first_token_s", "finish_s", "prompt_tokens", "output_tokens", "replica", "status"});
  std::vector<CompletedRequestRow> rows;
  ErrorList errors;
  constexpr double kMaxTime = 1e9, kMaxTokens = 1e9;
  for (const auto& row : table.rows) {
    if (row.cells.size() < 8) {
      errors.add({path, row.line, 1}, "", "expected at least 8 columns");
      continue;
    }
    if (row.cells[7] != "completed") continue;
    CompletedRequestRow r;
    r.arrival_s = cell_number(path, table, row, 1, 0, kMaxTime, false, errors);
    r.first_token_s = cell_number(path, table, row, 2, 0, kMaxTime, false, errors);
    r.finish_s = cell_number(path, table, row, 3, 0, kMaxTime, false, errors);
    r.prompt_tokens = static_cast<int>(cell_number(path, table, row, 4, 1, kMaxTokens, true, errors));
    r.output_tokens = static_cast<int>(cell_number(path, table, row, 5, 1, kMaxTokens, true, errors));
    if (r.first_token_s < r.arrival_s || r.finish_s < r.first_token_s)
      errors.add({path, row.line, row.columns[2]}, "first_token_s", "expected arrival_s <= first_token_s <= finish_s");
    rows.push_back(r);
  }
  errors.throw_if_any();
  return rows;
}

}  // namespace aidc
