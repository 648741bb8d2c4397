#pragma once
#include <string>

namespace aidc {

// Folder with catalogs, calibration profiles and scenarios: $AIDC_SCENARIOS_DIR when set, else the
// source tree's scenarios/ recorded at build time.
std::string scenarios_dir();

// The default output folder of a run: runs/<name>-<local time as YYYYmmdd-HHMMSS>.
std::string default_run_dir(const std::string& name);

}  // namespace aidc
