#pragma once
// Numbers and strings as the engine's bench JSON and the calibration YAML write them (flow-style
// lists; NaN and infinities as null, the cells nothing was measured for).
#include <string>
#include <vector>

namespace aidc {

std::string fmt_number(double v);  // %.6g, "null" for NaN
std::string fmt_list(const std::vector<double>& v);
std::string fmt_grid(const std::vector<std::vector<double>>& rows, const std::string& indent);  // one "- [..]" line per row
std::string quoted(const std::string& s);  // a double-quoted, escaped YAML/JSON string

}  // namespace aidc
