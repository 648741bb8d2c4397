#pragma once
// The one reader of calibration profiles (yaml-cpp; built only where it is, since only the simulator
// reads profiles). Checks the schema version and the grids' shapes; keys it does not know are
// ignored (the schema grows by adding keys). Throws FileErrors naming file:line:col and the key.
#include <string>

#include "core/calibration/profile.hpp"

namespace aidc {

CalibrationProfile read_calibration_profile(const std::string& path);

}  // namespace aidc
