#pragma once
// Outputs are written to a temporary file and renamed into place, so an interrupted or failed
// run never leaves a half-written file behind.
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>

namespace aidc {

// A file that could not be written (a full disk, a file size limit, a folder that went away): "cannot
// write PATH: REASON". Its temporary file is removed and a file already at PATH is left as it was.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void write_file_atomically(const std::string& path, const std::string& contents);
// Streams large outputs instead of building them in memory first.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace aidc
