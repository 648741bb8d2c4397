#pragma once
// What the fuzz targets share: the input as a file (the readers take paths, as `aidc` gives them).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace aidc::fuzz {

// `data` written to one file per process, overwritten by each input.
inline std::string as_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  static const std::string path = "/tmp/aidc-fuzz-" + std::to_string(getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace aidc::fuzz
