#include "common/paths.hpp"

#include <cstdlib>

namespace aidc {

std::string scenarios_dir() {
  if (const char* env = std::getenv("AIDC_SCENARIOS_DIR"); env && *env) return env;
  return AIDC_DEFAULT_SCENARIOS_DIR;
}

}  // namespace aidc
