#include "core/common/text_format.hpp"

#include <cmath>
#include <cstdio>

namespace aidc {

std::string fmt_number(double v) {
  if (std::isnan(v) || std::isinf(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string fmt_list(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + fmt_number(v[i]);
  return out + "]";
}

std::string fmt_grid(const std::vector<std::vector<double>>& rows, const std::string& indent) {
  std::string out;
  for (const auto& r : rows) out += "\n" + indent + "- " + fmt_list(r);
  return out;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

}  // namespace aidc
