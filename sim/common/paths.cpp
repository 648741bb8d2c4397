#include "common/paths.hpp"

#include <cstdlib>
#include <ctime>

namespace aidc {

std::string scenarios_dir() {
  if (const char* env = std::getenv("AIDC_SCENARIOS_DIR"); env && *env) return env;
  return AIDC_DEFAULT_SCENARIOS_DIR;
}

std::string default_run_dir(const std::string& name) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + name + "-" + stamp;
}

}  // namespace aidc
