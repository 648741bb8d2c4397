// `aidc-engine logits` as the parity script drives it: recording the expert choices and following
// them back reproduces the run, and a bad routing file is refused with its path, line and field.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine_test_support.h"

namespace aidc {
namespace {

namespace fs = std::filesystem;

using test::ChildRun;
using test::read_all;

ChildRun run_engine(const std::string& arguments) {
  return test::run_command(std::string(AIDC_ENGINE_BINARY) + " " + arguments);
}

class EngineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aidc-engine-cli-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // logits of the tiny V3 model (two MoE layers, 4 of 16 experts) on the CPU backend.
  std::string logits_args(const std::string& out) const {
    return "logits --model " + test::data("tiny-deepseek-v3.json") +
           " --random-weights --backend cpu --tokens 3,14,15,92,65,35 --out " + (dir_ / out).string();
  }
  fs::path dir_;
};

TEST_F(EngineCli, FollowingRecordedRoutingReproducesTheRun) {
  const ChildRun own = run_engine(logits_args("own.bin") + " --routing-out " + (dir_ / "routing.txt").string());
  ASSERT_EQ(own.exit_code, 0) << own.output;
  std::ifstream routing(dir_ / "routing.txt");
  std::string line;
  int layers = 0;
  while (std::getline(routing, line)) {
    std::istringstream ids(line);
    int id, count = 0;
    while (ids >> id) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, 16);
      ++count;
    }
    EXPECT_EQ(count, 6 * 4) << "6 tokens x 4 experts on line " << layers + 1;
    ++layers;
  }
  EXPECT_EQ(layers, test::tiny("tiny-deepseek-v3").moe_layer_count());
  const ChildRun follow = run_engine(logits_args("follow.bin") + " --routing-in " + (dir_ / "routing.txt").string());
  ASSERT_EQ(follow.exit_code, 0) << follow.output;
  EXPECT_EQ(read_all(dir_ / "own.bin"), read_all(dir_ / "follow.bin"));
}

TEST_F(EngineCli, BadRoutingFileIsRefusedWithPathLineAndField) {
  std::ofstream(dir_ / "bad.txt") << "0 1 2 x\n";
  const ChildRun bad = run_engine(logits_args("bad.bin") + " --routing-in " + (dir_ / "bad.txt").string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find((dir_ / "bad.txt").string() + ":1: expected an expert id, got 'x'"), std::string::npos)
      << bad.output;

  std::ofstream(dir_ / "short.txt") << "0 1 2 3\n0 1 2 3\n";  // one token's worth per layer
  const ChildRun short_run = run_engine(logits_args("short.bin") + " --routing-in " + (dir_ / "short.txt").string());
  EXPECT_EQ(short_run.exit_code, 2);
  EXPECT_NE(short_run.output.find("forced routing: MoE layer 0 has 4 choices, expected 6 tokens x 4"),
            std::string::npos)
      << short_run.output;
  EXPECT_FALSE(fs::exists(dir_ / "short.bin")) << "no output after an error";
}

}  // namespace
}  // namespace aidc
