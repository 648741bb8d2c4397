// Tensor and expert parallelism on the CPU (issue 16): the reference model run as N ranks, each
// holding only its shard of the weights and summing through the in-process communicator, must give
// the unsharded model's logits and tokens. The reference is the same model unsharded; a wrong split,
// a missing all-reduce or a mis-mapped KV head changes the logits far beyond float reassociation.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "cpu/cpu_model.h"
#include "engine_test_support.h"
#include "parallel/in_process_communicator.h"
#include "parallel/rank_group.h"
#include "runtime/engine.h"

namespace aidc {
namespace {

// tiny-qwen2 (7 heads, 1 KV head) splits no way; the same model with 8 heads and 2 KV heads covers
// Qwen2's q/k/v biases under tensor parallel.
ModelConfig qwen2_splittable() {
  return parse_model_config(R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 448,
    "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2, "intermediate_size": 512,
    "vocab_size": 500, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 4096,
    "tie_word_embeddings": false})",
                            "tiny-qwen2-8-heads");
}

struct Case {
  const char* model;
  ParallelSpec spec;
};

std::string label(const Case& k) {
  return std::string(k.model) + " tensor " + std::to_string(k.spec.tensor) + " expert " + std::to_string(k.spec.expert);
}

ModelConfig config_of(const Case& k) {
  return std::string(k.model) == "qwen2-8-heads" ? qwen2_splittable() : test::tiny(k.model);
}

// Every architecture at world 1, 2 and 4: tensor parallel (with KV heads repeated where fewer than the
// ranks, tied and untied lm_head), expert parallel alone, and both together.
const Case kCases[] = {
    {"tiny-llama", {1, 1}},        {"tiny-llama", {2, 1}},         {"tiny-llama", {4, 1}},
    {"tiny-llama3", {2, 1}},       {"qwen2-8-heads", {2, 1}},      {"qwen2-8-heads", {4, 1}},
    {"tiny-deepseek-moe", {1, 1}}, {"tiny-deepseek-moe", {2, 1}},  {"tiny-deepseek-moe", {1, 2}},
    {"tiny-deepseek-moe", {1, 4}}, {"tiny-deepseek-moe", {2, 2}},  {"tiny-deepseek-v2", {2, 1}},
    {"tiny-deepseek-v2", {4, 1}},  {"tiny-deepseek-v2", {1, 4}},   {"tiny-deepseek-v2", {4, 4}},
    {"tiny-deepseek-v3", {2, 1}},  {"tiny-deepseek-v3", {4, 4}},
};

// Prefill in chunks of 5, then token by token through the paged cache: every position's logits.
TEST(EngineParallel, ShardedLogitsMatchTheUnshardedModel) {
  for (const Case& k : kCases) {
    SCOPED_TRACE(label(k));
    const ModelConfig c = config_of(k);
    const std::vector<int> tokens = test::prompt(23, c.vocab);
    CpuModel whole(c, WeightSource::random(3), 8);
    const std::vector<float> ref = test::run_logits(whole, tokens, 5);
    std::unique_ptr<RankGroup> ranks = cpu_rank_group(ShardPlan(c, k.spec), WeightSource::random(3), 8, 16);
    const std::vector<float> sharded = test::run_logits(*ranks, tokens, 5);
    // fp32 sums regrouped across ranks: ~1e-7 relative; a wrong shard is off by order one.
    EXPECT_LT(test::rel_error(sharded, ref), 1e-5);
  }
}

// The engine's scheduler drives all ranks in lockstep: batched requests (chunked prefill, greedy and
// sampled) give the unsharded model's tokens, and expert choices agree.
TEST(EngineParallel, EngineOnRanksGeneratesTheUnshardedTokens) {
  for (const Case& k : {Case{"tiny-llama", {4, 1}}, Case{"tiny-deepseek-v2", {2, 2}}}) {
    SCOPED_TRACE(label(k));
    const ModelConfig c = config_of(k);
    SchedulerLimits limits;
    limits.max_batch_tokens = 12;
    CpuModel whole(c, WeightSource::random(4), 32);
    std::unique_ptr<RankGroup> ranks = cpu_rank_group(ShardPlan(c, k.spec), WeightSource::random(4), 32, 16);
    Engine alone(whole, limits), together(*ranks, limits);
    for (int r = 0; r < 3; ++r) {
      Generation g;
      g.id = r;
      g.prompt = test::prompt(6 + 7 * r, c.vocab, r);
      g.max_new_tokens = 8;
      g.sampling = r == 1 ? SamplingParams{0.8f, 0.9f, 7} : SamplingParams{};
      alone.submit(g);
      together.submit(g);
    }
    const std::vector<Finished> want = alone.run_all(), got = together.run_all();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i].output, want[i].output) << "request " << i;
  }
}

// A bad input fails on every rank alike: the group reports the error and keeps working.
TEST(EngineParallel, RankErrorsReachTheCaller) {
  const ModelConfig c = test::tiny("tiny-llama");
  std::unique_ptr<RankGroup> ranks = cpu_rank_group(ShardPlan(c, {2, 1}), WeightSource::random(3), 4, 16);
  EXPECT_THROW(test::run_logits(*ranks, {c.vocab}, 1), EngineError);
  CpuModel whole(c, WeightSource::random(3), 4);
  const std::vector<int> tokens = test::prompt(4, c.vocab);
  EXPECT_LT(test::rel_error(test::run_logits(*ranks, tokens, 4), test::run_logits(whole, tokens, 4)), 1e-5);
}

TEST(EngineParallel, RanksRecordAndFollowExpertChoices) {
  const ModelConfig c = test::tiny("tiny-deepseek-moe");
  const std::vector<int> tokens = test::prompt(9, c.vocab);
  CpuModel whole(c, WeightSource::random(5), 4);
  whole.record_routing(true);
  test::run_logits(whole, tokens, 9);
  const ExpertChoices chosen = whole.routing_trace();
  std::unique_ptr<RankGroup> ranks = cpu_rank_group(ShardPlan(c, {1, 4}), WeightSource::random(5), 4, 16);
  ranks->record_routing(true);
  test::run_logits(*ranks, tokens, 9);
  EXPECT_EQ(ranks->routing_trace(), chosen);
  // Forced choices (the parity script's): every rank follows them, the combine still matches.
  ExpertChoices forced = chosen;
  for (std::vector<int>& layer : forced)
    for (int& e : layer) e = (e + 1) % c.moe.n_routed_experts;
  CpuModel whole_forced(c, WeightSource::random(5), 4);
  whole_forced.force_routing(forced);
  ranks->force_routing(forced);
  // Fresh positions: block 0 is overwritten, the prompt recomputed from position 0.
  EXPECT_LT(test::rel_error(test::run_logits(*ranks, tokens, 9), test::run_logits(whole_forced, tokens, 9)), 1e-5);
}

// Which rows and columns a rank holds, worked out by hand from the layout (Megatron, vLLM's KV repeat).
TEST(EngineParallel, ShardPlanLayout) {
  const ModelConfig llama = test::tiny("tiny-llama");  // 4 heads x 64, 2 KV heads, intermediate 512
  const ShardPlan tp4(llama, {4, 1});
  auto spec = [&](const std::string& name) {
    for (const TensorSpec& t : expected_tensors(llama))
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  };
  const TensorShard k3 = tp4.shard(spec("model.layers.1.self_attn.k_proj.weight"), 3);
  EXPECT_EQ(k3.kind, TensorShard::Rows);
  EXPECT_EQ(k3.begin, 64);  // query head 3 reads KV head 1, rows 64..127
  EXPECT_EQ(k3.count, 64);
  const TensorShard o2 = tp4.shard(spec("model.layers.0.self_attn.o_proj.weight"), 2);
  EXPECT_EQ(o2.kind, TensorShard::Columns);
  EXPECT_EQ(o2.begin, 128);
  const TensorSpec down = spec("model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(shard_shape(down, tp4.shard(down, 1)), (std::vector<int64_t>{256, 128}));
  EXPECT_EQ(tp4.shard(spec("lm_head.weight"), 1).begin, 128);  // 512 / 4 vocabulary rows each
  EXPECT_EQ(tp4.shard(spec("model.embed_tokens.weight"), 1).kind, TensorShard::Whole);
  EXPECT_EQ(tp4.rank_config().heads, 1);
  EXPECT_EQ(tp4.rank_config().kv_heads, 1);

  const ModelConfig moe = test::tiny("tiny-deepseek-moe");  // 8 experts
  const ShardPlan ep4(moe, {1, 4});
  EXPECT_EQ(ep4.first_expert(2), 4);
  EXPECT_EQ(ep4.last_expert(2), 6);
  for (const TensorSpec& t : expected_tensors(moe)) {
    if (t.name.find("mlp.experts.5.") != std::string::npos) {
      EXPECT_EQ(ep4.shard(t, 2).kind, TensorShard::Whole) << t.name;
      EXPECT_EQ(ep4.shard(t, 1).kind, TensorShard::Absent) << t.name;
    }
  }
}

// The models the issue names (too big for one GPU, or too slow on one) split over 2, 4 and 8 ranks:
// every dimension divides, and a rank holds about 1/N of the weights.
TEST(EngineParallel, CatalogModelsSplitOverEightGpus) {
  for (const char* name :
       {"DeepSeek-R1-Distill-Qwen-32B", "DeepSeek-R1-Distill-Llama-70B", "DeepSeek-V3", "DeepSeek-R1"}) {
    SCOPED_TRACE(name);
    const ModelConfig c = load_model_config(std::string(AIDC_CATALOG_MODELS) + "/" + name + ".json");
    for (int n : {2, 4, 8}) {
      const ParallelSpec spec = c.is_moe() ? ParallelSpec{n, n} : ParallelSpec{n, 1};
      const ShardPlan plan(c, spec);
      int64_t held = 0, whole = 0;
      for (const TensorSpec& t : expected_tensors(c)) {
        whole += t.numel();
        int64_t part = 1;
        for (int64_t d : shard_shape(t, plan.shard(t, n - 1))) part *= d;
        held += plan.shard(t, n - 1).kind == TensorShard::Absent ? 0 : part;
      }
      // Replicated: norms, routers, MLA's latent projections and the embedding table (3-8 % of these).
      EXPECT_LT(double(held) / whole, 1.0 / n + 0.09) << n << " ranks";
      EXPECT_GT(double(held) / whole, 1.0 / n) << n << " ranks";
    }
  }
}

void expect_refused(const ModelConfig& c, ParallelSpec spec, const std::string& says) {
  try {
    ShardPlan plan(c, spec);
    ADD_FAILURE() << "accepted tensor " << spec.tensor << " expert " << spec.expert << " for " << c.name;
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(EngineParallel, PlansThatDoNotDivideAreRefusedByName) {
  expect_refused(test::tiny("tiny-qwen2"), {2, 1}, "the 7 attention heads of tiny-qwen2 do not split into 2");
  expect_refused(test::tiny("tiny-llama"), {8, 1}, "the 4 attention heads");
  ModelConfig odd_ffn = qwen2_splittable();
  odd_ffn.intermediate = 510;
  expect_refused(odd_ffn, {4, 1}, "the FFN intermediate size 510");
  ModelConfig three_kv = qwen2_splittable();
  three_kv.kv_heads = 3;
  expect_refused(three_kv, {2, 1}, "the 3 KV heads");
  expect_refused(test::tiny("tiny-llama"), {1, 2}, "has no routed experts");
  expect_refused(test::tiny("tiny-deepseek-moe"), {1, 3},
                 "the 8 routed experts of tiny-deepseek-moe do not split into 3");
  expect_refused(test::tiny("tiny-deepseek-moe"), {2, 4}, "each must be 1 or the same size");
  expect_refused(test::tiny("tiny-deepseek-moe"), {0, 1}, "at least 1");
}

// The in-process collectives against sums and concatenations written out by hand.
TEST(EngineParallel, InProcessCollectives) {
  const int world = 3;
  std::vector<std::unique_ptr<Communicator>> comms = in_process_communicators(world);
  std::vector<std::vector<float>> reduced(world), gathered(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      reduced[r] = {1.0f * r, 10.0f + r};
      comms[r]->all_reduce_sum(reduced[r].data(), 2);
      const std::vector<float> mine{100.0f * r, 100.0f * r + 1};
      gathered[r].resize(2 * world);
      comms[r]->all_gather(mine.data(), gathered[r].data(), 2);
    });
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < world; ++r) {
    EXPECT_EQ(reduced[r], (std::vector<float>{3, 33}));
    EXPECT_EQ(gathered[r], (std::vector<float>{0, 1, 100, 101, 200, 201}));
  }
}

std::vector<float> floats(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// `aidc-engine logits --backend cpu` with the options a user gives: the sharded run writes the
// unsharded logits; a plan that does not divide exits 2 naming the dimension, with no output file.
TEST(EngineParallel, CommandLineOptions) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("aidc-parallel-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string base =
      std::string(AIDC_ENGINE_BINARY) + " logits --backend cpu --random-weights --tokens 3,1,4,1,5,9 --model ";
  const std::string v2 = test::data("tiny-deepseek-v2.json");
  ASSERT_EQ(test::run_command(base + v2 + " --out " + (dir / "whole.bin").string()).exit_code, 0);
  const test::ChildRun sharded =
      test::run_command(base + v2 + " --tensor-parallel 2 --expert-parallel 2 --out " + (dir / "sharded.bin").string());
  ASSERT_EQ(sharded.exit_code, 0) << sharded.output;
  const std::vector<float> want = floats(test::read_all((dir / "whole.bin").string()));
  ASSERT_EQ(want.size(), 6u * 300u);
  EXPECT_LT(test::rel_error(floats(test::read_all((dir / "sharded.bin").string())), want), 1e-5);

  const test::ChildRun refused = test::run_command(base + test::data("tiny-qwen2.json") + " --tensor-parallel 2 --out " +
                                                   (dir / "refused.bin").string());
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.output.find("error: tensor parallel 2: the 7 attention heads of tiny-qwen2"), std::string::npos)
      << refused.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "refused.bin"));
  const test::ChildRun zero = test::run_command(base + v2 + " --expert-parallel 0 --out " + (dir / "zero.bin").string());
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.output.find("--expert-parallel expects a whole number from 1"), std::string::npos) << zero.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aidc
