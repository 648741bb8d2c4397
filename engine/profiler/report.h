#pragma once
// Files the bench and the profiler write. Numbers and strings are formatted as core writes the
// calibration profile (core/common/text_format.hpp).
#include <string>

#include "core/common/text_format.hpp"

namespace aidc {

std::string utc_now_iso8601();
// Whole or not at all: written to PATH.tmp, then renamed.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace aidc
