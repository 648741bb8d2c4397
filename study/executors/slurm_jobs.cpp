#include "study/executors/slurm_jobs.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/exit_codes.hpp"

extern char** environ;

namespace aidc::study {

struct SlurmJobs::Waiting {
  RunRequest request;
  std::optional<RunResult> result;
};

struct SlurmJobs::Task {
  std::shared_ptr<Waiting> waiting;
  std::string job_id;  // the array's
  std::size_t index;   // in the array
  std::string dir;     // the array's folder
  int polls_ended = 0;  // consecutive looks at which Slurm no longer ran it and it had no exit file
  std::string file(const std::string& suffix) const { return dir + "/task-" + std::to_string(index) + suffix; }
};

namespace {

namespace fs = std::filesystem;

// Runs on the node: the task list holds, NUL-separated, the run's log file and then its command.
// The exit status is renamed into place once the command ends, so a task without one did not end
// by itself (cancelled, timed out, its node lost).
const char* const kTaskScript = R"sh(#!/bin/bash
# One task of an aidc study's job array; $1 is the array's folder.
task="$1/task-$SLURM_ARRAY_TASK_ID"
mapfile -d '' -t args < "$task.args" || exit 1
mkdir -p "$(dirname "${args[0]}")"
"${args[@]:1}" > "${args[0]}" 2>&1
status=$?
echo "$status" > "$task.exit.part" && mv "$task.exit.part" "$task.exit"
exit "$status"
)sh";

// Tasks that run without a limit on how many at once still need threads in a plan, one per candidate.
constexpr int kSlotsWithoutLimit = 1024;

// Task states after which Slurm runs it no more (squeue --states=all lists them for MinJobAge).
const std::set<std::string> kEndedStates = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED",
                                           "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT"};

struct CommandOutput {
  int status = -1;
  std::string text;  // stdout and stderr together
};

// Runs a Slurm client command (found on PATH) and reads what it prints.
CommandOutput run_command(const std::vector<std::string>& args) {
  CommandOutput out;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return {127, "cannot create a pipe: " + std::string(std::strerror(errno))};
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&files, pipe_fds[1], STDERR_FILENO);
  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, argv[0], &files, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  close(pipe_fds[1]);
  if (spawn_error != 0) {
    close(pipe_fds[0]);
    return {127, "cannot start " + args[0] + ": " + std::strerror(spawn_error)};
  }
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n > 0)
      out.text.append(buffer, static_cast<std::size_t>(n));
    else if (errno != EINTR)
      break;
  }
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// MaxArraySize from `scontrol show config` ("MaxArraySize = 1001"); task indices stay below it.
int max_array_size(std::string& error) {
  const CommandOutput config = run_command({"scontrol", "show", "config"});
  std::istringstream lines(config.text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string key, equals;
    int value = 0;
    if (words >> key >> equals >> value && key == "MaxArraySize" && equals == "=") {
      if (value > 0) return value;
      error = "this Slurm cluster allows no job arrays (MaxArraySize = 0)";
      return 0;
    }
  }
  error = "cannot read Slurm's configuration (scontrol show config): " + first_line(config.text);
  return 0;
}

}  // namespace

SlurmJobs::SlurmJobs(SlurmOptions options, std::string aidc)
    : options_(std::move(options)), aidc_(fs::canonical(aidc).string()) {
  options_.work_dir = fs::absolute(options_.work_dir).lexically_normal().string();
  cancel();  // arrays a killed study left queued or running would write the same run folders
  fs::remove_all(options_.work_dir);
  fs::create_directories(options_.work_dir);
  write_file_atomically(options_.work_dir + "/task.sh", kTaskScript);
  fs::permissions(options_.work_dir + "/task.sh", fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  poller_ = std::thread([this] { poll_loop(); });
}

SlurmJobs::~SlurmJobs() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  poller_.join();
  if (!tasks_.empty()) cancel();
}

void SlurmJobs::cancel() const {
  std::ifstream jobs(options_.work_dir + "/jobs");
  std::vector<std::string> scancel = {"scancel"};
  for (std::string id; std::getline(jobs, id);)
    if (!id.empty()) scancel.push_back(id);
  if (scancel.size() > 1) run_command(scancel);
}

int SlurmJobs::slots() const { return options_.max_running > 0 ? options_.max_running : kSlotsWithoutLimit; }

RunResult SlurmJobs::run(const RunRequest& request) { return wait_for(enqueue({request})).front(); }

std::vector<RunResult> SlurmJobs::run_all(const std::vector<RunRequest>& runs) { return wait_for(enqueue(runs)); }

std::vector<std::shared_ptr<SlurmJobs::Waiting>> SlurmJobs::enqueue(const std::vector<RunRequest>& runs) {
  std::vector<std::shared_ptr<Waiting>> waiting;
  for (const auto& r : runs) waiting.push_back(std::make_shared<Waiting>(Waiting{r, std::nullopt}));
  std::lock_guard lock(mutex_);
  queued_.insert(queued_.end(), waiting.begin(), waiting.end());
  return waiting;
}

std::vector<RunResult> SlurmJobs::wait_for(const std::vector<std::shared_ptr<Waiting>>& waiting) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return std::all_of(waiting.begin(), waiting.end(), [](const auto& w) { return w->result.has_value(); }); });
  std::vector<RunResult> results;
  for (const auto& w : waiting) results.push_back(*w->result);
  return results;
}

// Every poll_s: what was queued since goes out as arrays, then finished tasks are collected. Runs
// queued between two looks share an array (a plan's candidates take their next steps together).
void SlurmJobs::poll_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait_for(lock, std::chrono::duration<double>(options_.poll_s), [&] { return stopping_; });
    if (stopping_) return;
    auto queued = std::exchange(queued_, {});
    lock.unlock();
    if (!queued.empty()) submit(std::move(queued));
    collect();
    lock.lock();
  }
}

void SlurmJobs::submit(std::vector<std::shared_ptr<Waiting>> waiting) {
  const auto fail_all = [&](std::size_t from, std::size_t to, const std::string& error) {
    for (std::size_t i = from; i < to; ++i) finish(*waiting[i], {kExitInternal, std::nullopt, error});
  };
  std::string error;
  if (max_array_size_ == 0) max_array_size_ = max_array_size(error);
  if (max_array_size_ == 0) return fail_all(0, waiting.size(), error);
  for (std::size_t start = 0; start < waiting.size(); start += max_array_size_) {
    const std::size_t end = std::min(waiting.size(), start + max_array_size_);
    const std::string dir = options_.work_dir + "/array-" + std::to_string(arrays_++);
    std::vector<Task> array;
    try {
      fs::create_directories(dir);
      for (std::size_t i = start; i < end; ++i) {
        Task task{waiting[i], "", i - start, dir};
        const RunRequest& request = waiting[i]->request;
        std::string args = request.log_file + '\0';
        for (const auto& a : run_command_line(aidc_, request)) args += a + '\0';
        write_file_atomically(task.file(".args"), args);
        array.push_back(task);
      }
    } catch (const std::exception& e) {
      fail_all(start, end, std::string("cannot write the job array's task list: ") + e.what());
      continue;
    }
    std::vector<std::string> sbatch = {"sbatch", "--parsable", "--job-name=aidc-study",
                                       "--array=0-" + std::to_string(end - start - 1) +
                                           (options_.max_running > 0 ? "%" + std::to_string(options_.max_running) : ""),
                                       "--output=" + dir + "/slurm-%a.out"};
    sbatch.insert(sbatch.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
    sbatch.insert(sbatch.end(), {options_.work_dir + "/task.sh", dir});
    const CommandOutput submitted = run_command(sbatch);
    if (submitted.status != 0) {
      fail_all(start, end, "sbatch failed: " + first_line(submitted.text));
      continue;
    }
    const std::string parsable = first_line(submitted.text);  // "id" or "id;cluster"
    const std::string job_id = parsable.substr(0, parsable.find(';'));
    std::ofstream(options_.work_dir + "/jobs", std::ios::app) << job_id << "\n";
    for (auto& task : array) {
      task.job_id = job_id;
      tasks_.push_back(std::move(task));
    }
  }
}

void SlurmJobs::finish(Waiting& waiting, RunResult result) {
  std::lock_guard lock(mutex_);
  waiting.result = std::move(result);
  changed_.notify_all();
}

void SlurmJobs::collect() {
  std::vector<Task> running;
  for (auto& task : tasks_) {
    int status = 0;
    if (std::ifstream exit_file(task.file(".exit")); exit_file >> status) {
      finish(*task.waiting, read_run_result(task.waiting->request, status));
    } else {
      running.push_back(std::move(task));
    }
  }
  tasks_ = std::move(running);
  if (tasks_.empty()) return;

  std::set<std::string> job_ids;
  for (const auto& task : tasks_) job_ids.insert(task.job_id);
  std::string jobs;
  for (const auto& id : job_ids) jobs += (jobs.empty() ? "" : ",") + id;
  const CommandOutput queue =
      run_command({"squeue", "--noheader", "--array", "--states=all", "--format=%F %K %T", "--jobs=" + jobs});
  // squeue fails when it knows none of the jobs any more; any other failure (the controller busy or
  // restarting) leaves the tasks as they are until the next look.
  if (queue.status != 0 && queue.text.find("Invalid job id") == std::string::npos) return;
  std::map<std::string, std::string> state_of;  // "job index" -> state
  std::istringstream lines(queue.text);
  for (std::string job, index, state; lines >> job >> index >> state;) state_of[job + " " + index] = state;

  std::vector<Task> alive;
  for (auto& task : tasks_) {
    const auto found = state_of.find(task.job_id + " " + std::to_string(task.index));
    const bool ended = found == state_of.end() || kEndedStates.count(found->second);
    // One more look before giving up, in case the exit file is not yet visible on this node.
    if (!ended || ++task.polls_ended < 2) {
      if (!ended) task.polls_ended = 0;
      alive.push_back(std::move(task));
      continue;
    }
    finish(*task.waiting, {kExitInternal, std::nullopt,
                           "Slurm task " + task.job_id + "_" + std::to_string(task.index) +
                               (found == state_of.end() ? " left the queue" : " ended " + found->second) +
                               " without an exit status (Slurm's output: " + task.dir + "/slurm-" +
                               std::to_string(task.index) + ".out)"});
  }
  tasks_ = std::move(alive);
}

}  // namespace aidc::study
