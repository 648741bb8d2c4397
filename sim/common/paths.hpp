#pragma once
#include <string>

namespace aidc {

// Folder with catalogs, calibration profiles and scenarios: $AIDC_SCENARIOS_DIR when set, else the
// source tree's scenarios/ recorded at build time.
std::string scenarios_dir();

// `text` as one file name that stays in its folder: every byte but ASCII letters, digits, '-', '_', '.'
// and UTF-8 (bytes 0x80 and up) becomes '-', so `../../x` is `..-..-x`; a name of dots only gets a '-'.
std::string safe_file_name(const std::string& text);

// The default output folder of a run: runs/<safe name>-<local time as YYYYmmdd-HHMMSS>.
std::string default_run_dir(const std::string& name);

}  // namespace aidc
