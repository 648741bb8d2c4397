#pragma once
// The one writer of calibration profiles (used by `aidc-engine profile`): the YAML text of a profile,
// in the layout docs/calibration.md shows. Plain C++: the GPU machine has no YAML library.
#include <string>

#include "core/calibration/profile.hpp"

namespace aidc {

std::string format_calibration_profile(const CalibrationProfile& profile);

}  // namespace aidc
