#include "common/output_folder.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"

namespace fs = std::filesystem;

namespace aidc {
namespace {

constexpr const char* kLockName = ".lock";
constexpr const char* kStagingPrefix = ".partial-";
constexpr const char* kTemporaryMarker = ".tmp-";  // write_file_atomically's FILE.tmp-PID

[[noreturn]] void refuse(const std::string& folder, const std::string& message) { throw_input_error({folder, 0, 0}, "", message); }

// The pid a leftover's name ends with after `marker`, or 0 when it has none.
pid_t pid_after(const std::string& name, const std::string& marker) {
  const auto at = name.rfind(marker);
  if (at == std::string::npos || at + marker.size() == name.size()) return 0;
  const std::string digits = name.substr(at + marker.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return 0;
  return static_cast<pid_t>(std::stol(digits));
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

OutputFolder::OutputFolder(std::string path) : path_(std::move(path)), lock_file_(path_ + "/" + kLockName) {
  std::error_code error;
  if (!fs::is_directory(path_, error)) {
    created_ = fs::create_directories(path_, error);
    if (error) refuse(path_, "cannot create the output folder: " + error.message());
  }
  lock();
  remove_leftovers_of_dead_runs();
}

void OutputFolder::lock() {
  // The lock file is removed when its owner finishes, so a process may open a file that is unlinked
  // before it locks it: it retries until the file it locked is the one at the path.
  while (true) {
    const int fd = ::open(lock_file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) refuse(path_, std::string("cannot write into the output folder: ") + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      std::string owner;
      std::ifstream(lock_file_) >> owner;
      ::close(fd);
      refuse(path_, "another aidc process" + (owner.empty() ? std::string() : " (pid " + owner + ")") +
                        " is writing into this output folder; choose another --out or wait for it");
    }
    struct stat held {}, at_path {};
    if (::fstat(fd, &held) == 0 && ::stat(lock_file_.c_str(), &at_path) == 0 && held.st_ino == at_path.st_ino &&
        held.st_dev == at_path.st_dev) {
      lock_fd_ = fd;
      break;
    }
    ::close(fd);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::write(lock_fd_, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size()))
    refuse(path_, std::string("cannot write into the output folder: ") + std::strerror(errno));
}

void OutputFolder::remove_leftovers_of_dead_runs() const {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(path_, error)) {
    const std::string name = entry.path().filename().string();
    const pid_t pid = name.rfind(kStagingPrefix, 0) == 0 ? pid_after(name, kStagingPrefix) : pid_after(name, kTemporaryMarker);
    if (pid > 0 && pid != ::getpid() && !alive(pid)) fs::remove_all(entry.path(), error);
  }
}

const std::string& OutputFolder::staging() {
  if (staging_.empty()) {
    staging_ = path_ + "/" + kStagingPrefix + std::to_string(::getpid());
    std::error_code error;
    fs::create_directories(staging_, error);
    if (error) throw OutputError("cannot write " + staging_ + ": " + error.message());
  }
  return staging_;
}

void OutputFolder::commit() {
  for (const auto& entry : fs::directory_iterator(staging())) {
    const fs::path target = fs::path(path_) / entry.path().filename();
    std::error_code error;
    fs::rename(entry.path(), target, error);
    if (error) throw OutputError("cannot write " + target.string() + ": " + error.message());
  }
  fs::remove(staging_);
  staging_.clear();
  committed_ = true;
}

OutputFolder::~OutputFolder() {
  std::error_code ignored;
  if (!staging_.empty()) fs::remove_all(staging_, ignored);
  ::unlink(lock_file_.c_str());
  ::close(lock_fd_);
  if (created_ && !committed_ && fs::is_empty(path_, ignored)) fs::remove(path_, ignored);
}

}  // namespace aidc
