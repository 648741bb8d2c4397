#include "common/paths.hpp"

#include <cctype>
#include <cstdlib>
#include <ctime>

namespace aidc {

std::string scenarios_dir() {
  if (const char* env = std::getenv("AIDC_SCENARIOS_DIR"); env && *env) return env;
  return AIDC_DEFAULT_SCENARIOS_DIR;
}

std::string safe_file_name(const std::string& text) {
  std::string name = text;
  for (char& ch : name) {
    const auto byte = static_cast<unsigned char>(ch);
    if (!std::isalnum(byte) && byte < 0x80 && ch != '-' && ch != '_' && ch != '.') ch = '-';
  }
  if (name.find_first_not_of('.') == std::string::npos) name += '-';
  return name;
}

std::string default_run_dir(const std::string& name) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + safe_file_name(name) + "-" + stamp;
}

}  // namespace aidc
