#pragma once
// Outputs are written to a temporary file and renamed into place, so an interrupted or failed
// run never leaves a half-written file behind.
#include <functional>
#include <ostream>
#include <string>

namespace aidc {

void write_file_atomically(const std::string& path, const std::string& contents);
// Streams large outputs instead of building them in memory first.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace aidc
