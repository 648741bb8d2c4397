// `aidc batch` and `aidc plan` with `--executor slurm` on a real single-node Slurm cluster (munged,
// slurmctld, slurmd from Debian) that each test starts in a temporary folder: the same batch.csv and
// plan as the local executor, a cancelled task retried once and then reported, an interrupted study
// resumed without re-running the runs that had finished.

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <thread>

#include "common/child_process.hpp"
#include "sim/aidc_child.hpp"

namespace aidc_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kClosedLoop = kFixtures + "/closed_loop.yaml";

// What a command prints on stdout.
std::string output_of(const std::string& command) {
  std::string text;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return text;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  pclose(pipe);
  return text;
}

// One node (localhost, 2 CPUs) and one partition; munge's socket and key, Slurm's state, spool, logs
// and ports are this cluster's own, so it neither needs nor touches a system-wide Slurm. Clients (and
// aidc's sbatch and squeue) find it through SLURM_CONF. Without slurmdbd: no accounting storage.
class SlurmCluster {
 public:
  explicit SlurmCluster(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir / "munge");
    fs::permissions(dir / "munge", fs::perms::owner_all, fs::perm_options::replace);
    for (const char* sub : {"state", "spool"}) fs::create_directories(dir / sub);
    const std::string key = (dir / "munge/munge.key").string();
    {
      std::ifstream random("/dev/urandom", std::ios::binary);
      std::string bytes(1024, '\0');
      random.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      std::ofstream(key, std::ios::binary) << bytes;
    }
    fs::permissions(key, fs::perms::owner_read, fs::perm_options::replace);
    const std::string socket = (dir / "munge/munge.socket").string();
    const std::string conf = (dir / "slurm.conf").string();
    std::ofstream(conf) << "ClusterName=aidctest\n"
                        << "SlurmctldHost=localhost(127.0.0.1)\n"
                        << "SlurmUser=root\nSlurmdUser=root\n"
                        << "SlurmctldPort=" << free_port() << "\nSlurmdPort=" << free_port() << "\n"
                        << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" << socket << "\n"
                        << "StateSaveLocation=" << (dir / "state").string() << "\n"
                        << "SlurmdSpoolDir=" << (dir / "spool").string() << "\n"
                        << "SlurmctldPidFile=" << (dir / "slurmctld.pid").string() << "\n"
                        << "SlurmdPidFile=" << (dir / "slurmd.pid").string() << "\n"
                        << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nMpiDefault=none\n"
                        << "MailProg=/bin/true\nReturnToService=2\nSlurmdParameters=config_overrides\n"
                        << "SchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
                        << "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n"
                        << "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n"
                        << "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n";
    setenv("SLURM_CONF", conf.c_str(), 1);
    munged_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/sbin/munged", "--foreground", "--force", "--socket=" + socket, "--key-file=" + key,
                                 "--log-file=" + (dir / "munged.log").string(), "--pid-file=" + (dir / "munge/munged.pid").string(),
                                 "--seed-file=" + (dir / "munge/seed").string()},
        (dir / "munged.out").string());
    for (const auto deadline = Clock::now() + 10s; !fs::exists(socket) && Clock::now() < deadline;) std::this_thread::sleep_for(50ms);
    slurmctld_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/slurmctld", "-D", "-i", "-f", conf},
                                           (dir / "slurmctld.log").string());
    slurmd_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/slurmd", "-D", "-N", "localhost", "-f", conf},
                                        (dir / "slurmd.log").string());
  }

  // Cancels every job, then stops the daemons.
  ~SlurmCluster() {
    output_of("scancel --name=aidc-study 2>&1");
    for (const auto deadline = Clock::now() + 15s; !output_of("squeue -h 2>/dev/null").empty() && Clock::now() < deadline;)
      std::this_thread::sleep_for(200ms);
    slurmd_.reset();
    slurmctld_.reset();
    munged_.reset();
  }

  bool wait_until_idle(std::chrono::seconds timeout) const {
    for (const auto deadline = Clock::now() + timeout; Clock::now() < deadline; std::this_thread::sleep_for(200ms))
      if (output_of("sinfo -h -o %T 2>/dev/null").rfind("idle", 0) == 0) return true;
    return false;
  }

  std::string logs() const {
    return "--- slurmctld:\n" + read_file((dir_ / "slurmctld.log").string()) + "\n--- slurmd:\n" +
           read_file((dir_ / "slurmd.log").string()) + "\n--- munged:\n" + read_file((dir_ / "munged.out").string());
  }

 private:
  fs::path dir_;
  std::unique_ptr<ChildProcess> munged_, slurmctld_, slurmd_;
};

struct AidcResult {
  int exit_code;
  std::string output;
};

class SlurmExecutor : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: the test starts slurmd, which runs jobs as their user";
    for (const char* binary : {"/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch",
                               "/usr/bin/squeue", "/usr/bin/scancel", "/usr/bin/sinfo"})
      if (!fs::exists(binary))
        GTEST_SKIP() << binary << " is missing: install slurmctld slurmd slurm-client munge (scripts/setup.sh)";
    cluster_ = std::make_unique<SlurmCluster>(dir_.path() / "cluster");
    ASSERT_TRUE(cluster_->wait_until_idle(60s)) << "the node did not come up\n" << cluster_->logs();
  }
  void TearDown() override { cluster_.reset(); }

  // `aidc args...` in the test folder, bounded in time.
  AidcResult aidc(std::vector<std::string> args) {
    const std::string log = dir_ / ("aidc-" + std::to_string(++commands_) + ".log");
    args.insert(args.begin(), kAidc);
    ChildProcess process(args, log, dir_.str());
    const int code = process.wait(120s);
    return {code, read_file(log)};
  }
  std::unique_ptr<ChildProcess> aidc_in_background(std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), kAidc);
    return std::make_unique<ChildProcess>(args, dir_ / log, dir_.str());
  }

  // The job ids of the arrays a study folder's executor submitted, in order.
  std::vector<std::string> arrays_of(const std::string& study) const {
    return lines(read_file(dir_ / (study + "/slurm/jobs")));
  }
  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<SlurmCluster> cluster_;
  int commands_ = 0;
};

// batch.csv's rows by column, without what differs between two runs of the same study: where the
// outputs went and how long the simulation took on the wall clock.
std::vector<std::map<std::string, std::string>> comparable_rows(const std::string& path) {
  const Csv csv = read_csv(path);
  std::vector<std::map<std::string, std::string>> rows;
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    auto& row = rows.emplace_back();
    for (const auto& name : csv.header)
      if (name != "out_dir" && name != "sim.wall_s") row[name] = csv.at(r, name);
  }
  return rows;
}

// A sweep through one job array gives the local executor's batch.csv: the same rows, statuses and
// summary columns; the run with bad input is reported (and not retried) while the others finish.
TEST_F(SlurmExecutor, SweepGivesTheLocalExecutorsBatchCsv) {
  const std::vector<std::string> sweep = {"batch", kClosedLoop, "--sweep", "deployment.replicas=1,99,2",
                                          "--sweep", "workload.users=100,150", "--set", "duration_s=40"};
  auto local_args = sweep, slurm_args = sweep;
  local_args.insert(local_args.end(), {"--out", dir_ / "local", "-j", "2"});
  slurm_args.insert(slurm_args.end(), {"--out", dir_ / "slurm", "--executor", "slurm", "--poll", "0.5"});
  const AidcResult local = aidc(local_args);
  const AidcResult slurm = aidc(slurm_args);
  EXPECT_EQ(local.exit_code, 2) << local.output;
  EXPECT_EQ(slurm.exit_code, 2) << "a run with bad input makes the batch fail\n" << slurm.output;
  EXPECT_EQ(slurm.output.find("retrying"), std::string::npos) << "bad input is not retried\n" << slurm.output;

  const auto expected = comparable_rows(dir_ / "local/batch.csv");
  const auto got = comparable_rows(dir_ / "slurm/batch.csv");
  ASSERT_EQ(expected.size(), 6u);
  ASSERT_EQ(got.size(), expected.size()) << read_file(dir_ / "slurm/batch.csv");
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(expected[i].at("run"));
    EXPECT_EQ(got[i], expected[i]);
    const bool bad = expected[i].at("overrides").find("replicas=99") != std::string::npos;
    EXPECT_EQ(got[i].at("status"), bad ? "bad_input" : "ok");
  }
  const Csv csv = read_csv(dir_ / "slurm/batch.csv");
  EXPECT_TRUE(fs::exists(csv.at(0, "out_dir") + "/summary.json")) << csv.at(0, "out_dir");
  // The six candidates went out as one array.
  ASSERT_EQ(arrays_of("slurm").size(), 1u);
  for (int task = 0; task < 6; ++task)
    EXPECT_TRUE(fs::exists(dir_ / ("slurm/slurm/array-0/task-" + std::to_string(task) + ".exit"))) << task;
}

// The planner through Slurm finds the local executor's cheapest deployment, and every deployment
// both evaluated has the same figures. (Which ones each evaluates depends on the order results
// arrive, since a candidate is pruned once it cannot beat the best plan found so far.)
TEST_F(SlurmExecutor, PlanFindsTheLocalExecutorsDeployment) {
  const std::vector<std::string> plan = {"plan", kClosedLoop, "--set", "duration_s=40", "--gpus",
                                         "H100-SXM", "--max-gpus", "8"};
  auto local_args = plan, slurm_args = plan;
  local_args.insert(local_args.end(), {"--out", dir_ / "local"});
  slurm_args.insert(slurm_args.end(), {"--out", dir_ / "slurm", "--executor", "slurm", "--poll", "0.5"});
  const AidcResult local = aidc(local_args);
  const AidcResult slurm = aidc(slurm_args);
  ASSERT_EQ(local.exit_code, 0) << local.output;
  ASSERT_EQ(slurm.exit_code, 0) << slurm.output;
  const auto winner = read_json(dir_ / "local/plan.json")["winner"];
  ASSERT_FALSE(winner.is_null()) << local.output;
  EXPECT_EQ(read_json(dir_ / "slurm/plan.json")["winner"], winner);

  // plan.csv's rows by deployment (the columns that name it), each the rest of its figures.
  const auto by_deployment = [](const std::string& path) {
    const Csv csv = read_csv(path);
    std::map<std::string, std::string> rows;
    for (std::size_t r = 0; r < csv.rows.size(); ++r) {
      std::string deployment, figures;
      for (const auto& name : csv.header) {
        const bool names_it = std::set<std::string>{"gpu", "server_type", "replicas", "tensor_parallel",
                                                    "max_batch_sequences", "precision"}
                                  .count(name) > 0;
        (names_it ? deployment : figures) += name + "=" + csv.at(r, name) + " ";
      }
      rows[deployment] = figures;
    }
    return rows;
  };
  const auto expected = by_deployment(dir_ / "local/plan.csv"), got = by_deployment(dir_ / "slurm/plan.csv");
  int common = 0;
  for (const auto& [deployment, figures] : got)
    if (expected.count(deployment)) {
      ++common;
      EXPECT_EQ(figures, expected.at(deployment)) << deployment;
    }
  EXPECT_GE(common, 2) << read_file(dir_ / "slurm/plan.csv");
  ASSERT_GE(arrays_of("slurm").size(), 1u);
  EXPECT_TRUE(fs::exists(dir_ / "slurm/slurm/array-0/task-1.exit")) << "the candidates' first runs go out as one array";
}

// A task Slurm cancels runs once more: cancelled once, it then finishes; cancelled twice, it is
// reported as failed, with what Slurm said of it, while the other runs finish.
TEST_F(SlurmExecutor, CancelledTaskIsRetriedOnceThenReported) {
  auto study = aidc_in_background({"batch", kClosedLoop, "--sweep", "duration_s=40,5000,5001", "--out", dir_ / "study",
                                   "--executor", "slurm", "--poll", "0.5"},
                                  "study.log");
  // (array, task) to cancel as soon as its array is submitted (queued or just started, far from done):
  // 5000 s once; 5001 s in the first array and in the retry.
  std::set<std::pair<std::size_t, std::string>> to_cancel = {{0, "1"}, {0, "2"}, {1, "1"}};
  for (const auto deadline = Clock::now() + 90s; !to_cancel.empty() && Clock::now() < deadline;) {
    const auto arrays = arrays_of("study");
    for (auto it = to_cancel.begin(); it != to_cancel.end();) {
      if (it->first < arrays.size()) {
        output_of("scancel " + arrays[it->first] + "_" + it->second);
        it = to_cancel.erase(it);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(to_cancel.empty()) << "the retry's array never came";
  const int code = study->wait(90s);
  const std::string output = read_file(dir_ / "study.log");
  EXPECT_EQ(code, 1) << "a failed run makes the batch fail\n" << output;
  const Csv csv = read_csv(dir_ / "study/batch.csv");
  ASSERT_EQ(csv.rows.size(), 3u) << output;
  EXPECT_EQ(csv.at(0, "status"), "ok");
  EXPECT_EQ(csv.at(1, "status"), "ok") << "cancelled once, run again\n" << output;
  EXPECT_EQ(csv.at(2, "status"), "failed") << output;
  // Slurm's reason: "ended CANCELLED", or "left the queue" for a task cancelled before it started.
  EXPECT_NE(csv.at(2, "error").find("without an exit status"), std::string::npos) << csv.at(2, "error");
  EXPECT_EQ(csv.at(1, "sim.simulated_s"), "5000.0");
  EXPECT_NE(output.find("retrying closed_loop_duration_s-5000 once"), std::string::npos) << output;
  EXPECT_EQ(arrays_of("study").size(), 2u) << "the retries go out together";
}

// A study killed while a task is unfinished resumes with --resume: the runs that had finished are kept (their
// summaries untouched), the interrupted array is cancelled, and the rest runs.
TEST_F(SlurmExecutor, InterruptedStudyResumesWithoutRerunningFinishedRuns) {
  const std::vector<std::string> args = {"batch", kClosedLoop, "--sweep", "duration_s=40,50,8000", "--out", dir_ / "study",
                                         "--executor", "slurm", "--poll", "0.5"};
  const auto summary = [&](const std::string& duration) {
    return dir_ / ("study/closed_loop_duration_s-" + duration + "/summary.json");
  };
  {
    auto study = aidc_in_background(args, "first.log");
    bool interrupted = false;
    for (const auto deadline = Clock::now() + 60s; !interrupted && Clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
      if (!fs::exists(summary("40")) || !fs::exists(summary("50")) || fs::exists(summary("8000"))) continue;
      study->signal(SIGKILL);
      interrupted = true;
    }
    ASSERT_TRUE(interrupted) << read_file(dir_ / "first.log");
    study->wait(10s);
  }
  const std::string interrupted_array = arrays_of("study").at(0);
  ASSERT_FALSE(fs::exists(summary("8000")));
  const auto finished_at = fs::last_write_time(summary("40"));

  auto resume_args = args;
  resume_args.push_back("--resume");
  const AidcResult resumed = aidc(resume_args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming: 2 of 3 runs had finished"), std::string::npos) << resumed.output;
  EXPECT_EQ(fs::last_write_time(summary("40")), finished_at) << "a finished run ran again";
  EXPECT_EQ(output_of("squeue -h -r -t all -j " + interrupted_array + " -o '%K %T' 2>/dev/null | grep '^2 '"), "2 CANCELLED\n");
  const Csv csv = read_csv(dir_ / "study/batch.csv");
  ASSERT_EQ(csv.rows.size(), 3u);
  for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(csv.at(r, "status"), "ok") << csv.at(r, "run");
  EXPECT_EQ(csv.at(2, "sim.simulated_s"), "8000.0");
  EXPECT_EQ(read_json(summary("8000"))["sim"]["simulated_s"].get<double>(), 8000.0);
}

}  // namespace
}  // namespace aidc_test
