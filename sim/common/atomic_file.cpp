#include "common/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace aidc {
namespace {

// errno of the failed open or write (ofstream keeps the one write(2) set: EFBIG, ENOSPC, EIO).
[[noreturn]] void cannot_write(const std::string& path, int error) {
  throw OutputError("cannot write " + path + ": " + (error != 0 ? std::strerror(error) : "write failed"));
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  write_file_atomically(path, [&](std::ostream& out) { out << contents; });
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::filesystem::path target(path);
  std::error_code error;
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), error);
  if (error) cannot_write(path, error.value());
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  try {
    errno = 0;
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) cannot_write(path, errno);
    write(out);
    out.flush();
    if (!out) cannot_write(path, errno);
    out.close();
    if (!out) cannot_write(path, errno);
    std::filesystem::rename(temporary, target, error);
    if (error) cannot_write(path, error.value());
  } catch (...) {
    std::filesystem::remove(temporary, error);  // a full disk left it up to the limit (or empty)
    throw;
  }
}

}  // namespace aidc
