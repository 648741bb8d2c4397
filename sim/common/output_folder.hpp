#pragma once
// A run's output folder, owned by one process at a time, whose files appear together or not at all.
//
// Opening it creates the folder, proves it writable (before anything is simulated) and takes its lock
// (flock on OUT/.lock, holding the owner's pid): a second run into the same folder is refused. It then
// removes what runs killed with SIGKILL could not clean up themselves: `.partial-PID` folders and
// `*.tmp-PID` files of processes that no longer exist. The run writes into staging() (OUT/.partial-PID)
// and commit() moves every file into OUT; until then OUT holds none of this run's files.
#include <string>

namespace aidc {

class OutputFolder {
 public:
  // InputErrors (exit 2) naming the folder when it cannot be created or written, or when another
  // process holds it.
  explicit OutputFolder(std::string path);
  // Not committed: the staging folder is removed, and the folder too when this created it and it is
  // empty. Then the lock is released and its file removed.
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  const std::string& path() const { return path_; }
  // Where this run writes its files (created on first use).
  const std::string& staging();
  // Moves every file of the staging folder into the folder, replacing files of the same names.
  void commit();
  bool committed() const { return committed_; }

 private:
  void lock();
  void remove_leftovers_of_dead_runs() const;

  std::string path_, staging_, lock_file_;
  bool created_ = false, committed_ = false;
  int lock_fd_ = -1;
};

}  // namespace aidc
