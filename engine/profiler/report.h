#pragma once
// Number formatting for the bench JSON and the calibration YAML (flow-style lists; NaN -> null).
#include <string>
#include <vector>

namespace aidc {

std::string fmt_number(double v);  // %.6g, "null" for NaN
std::string fmt_list(const std::vector<double>& v);
std::string fmt_grid(const std::vector<std::vector<double>>& rows, const std::string& indent);
std::string quoted(const std::string& s);  // a double-quoted, escaped YAML/JSON string
std::string utc_now_iso8601();
// Whole or not at all: written to PATH.tmp, then renamed.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace aidc
