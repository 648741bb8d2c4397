#pragma once
// Outputs are written to a temporary file and renamed into place, so an interrupted or failed
// run never leaves a half-written file behind.
#include <string>

namespace aidc {

void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace aidc
