#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/numeric.h"
#include "cpu/cpu_model.h"
#include "engine_test_support.h"
#include "runtime/sampling.h"
#include "runtime/engine.h"

namespace aidc {
namespace {

const char* kAllTiny[] = {"tiny-llama", "tiny-llama3", "tiny-qwen2", "tiny-deepseek-moe", "tiny-deepseek-v2",
                          "tiny-deepseek-v3"};

// Prefill in one chunk, in chunks of 5, and token by token: the paged cache must make them agree.
TEST(EngineCpu, ChunkedPrefillMatchesWholePrefill) {
  for (const char* name : kAllTiny) {
    SCOPED_TRACE(name);
    const ModelConfig c = test::tiny(name);
    const std::vector<int> tokens = test::prompt(37, c.vocab);
    CpuModel whole(c, WeightSource::random(1), 16), chunked(c, WeightSource::random(1), 16),
        single(c, WeightSource::random(1), 16);
    const std::vector<float> ref = test::run_logits(whole, tokens, 37);
    for (float v : ref) ASSERT_TRUE(std::isfinite(v));
    EXPECT_LT(test::rel_error(test::run_logits(chunked, tokens, 5, 3), ref), 1e-5);
    EXPECT_LT(test::rel_error(test::run_logits(single, tokens, 1, 7), ref), 1e-5);
  }
}

// Several requests batched by the continuous-batching engine produce what each produces alone.
TEST(EngineCpu, BatchedRequestsMatchOneAtATime) {
  for (const char* name : kAllTiny) {
    SCOPED_TRACE(name);
    const ModelConfig c = test::tiny(name);
    std::vector<Generation> requests;
    for (int r = 0; r < 3; ++r) {
      Generation q;
      q.id = r;
      q.prompt = test::prompt(5 + 9 * r, c.vocab, r);
      q.max_new_tokens = 6 + r;
      q.sampling = r == 2 ? SamplingParams{0.9f, 0.8f, 42} : SamplingParams{};
      requests.push_back(q);
    }
    CpuModel batched_model(c, WeightSource::random(2), 64);
    SchedulerLimits small;  // small budget: prefill is chunked
    small.max_batch_tokens = 12;
    small.max_batch_sequences = 8;
    Engine batched(batched_model, small);
    for (const Generation& r : requests) batched.submit(r);
    const std::vector<Finished> together = batched.run_all();
    for (const Generation& r : requests) {
      CpuModel alone_model(c, WeightSource::random(2), 64);
      Engine alone(alone_model, SchedulerLimits{});
      alone.submit(r);
      EXPECT_EQ(alone.run_all()[0].output, together[r.id].output) << "request " << r.id;
    }
  }
}

// A KV cache too small for the batch forces preemption by recompute (prompt + generated tokens
// prefilled again into fresh blocks): greedy outputs must equal each request's output alone.
TEST(EngineCpu, PreemptedRequestsRecomputeToTheSameTokens) {
  const ModelConfig c = test::tiny("tiny-llama");
  std::vector<Generation> requests;
  for (int r = 0; r < 4; ++r) {
    Generation g;
    g.id = static_cast<std::uint64_t>(r);
    g.prompt = test::prompt(20 + 3 * r, c.vocab, r);
    g.max_new_tokens = 24;
    requests.push_back(g);
  }
  CpuModel tight_model(c, WeightSource::random(4), 9, 8);  // 9 blocks of 8 tokens: 72 of the 4 x ~50 needed
  Engine tight(tight_model, SchedulerLimits{});
  for (const Generation& g : requests) tight.submit(g);
  const std::vector<Finished> together = tight.run_all();
  EXPECT_GT(tight.scheduler().preemptions(), 0) << "the cache was meant to be too small";
  for (const Generation& g : requests) {
    CpuModel alone_model(c, WeightSource::random(4), 64, 8);
    Engine alone(alone_model, SchedulerLimits{});
    alone.submit(g);
    EXPECT_EQ(alone.run_all()[0].output, together[g.id].output) << "request " << g.id;
  }
}

TEST(EngineCpu, StopTokenEndsRequest) {
  const ModelConfig c = test::tiny("tiny-llama");
  CpuModel m(c, WeightSource::random(3), 16);
  Generation r;
  r.prompt = test::prompt(4, c.vocab);
  r.max_new_tokens = 8;
  Engine first(m, SchedulerLimits{});
  first.submit(r);
  const std::vector<int> out = first.run_all()[0].output;
  r.stop_tokens = {out[2]};
  CpuModel m2(c, WeightSource::random(3), 16);
  Engine second(m2, SchedulerLimits{});
  second.submit(r);
  const std::vector<int> stopped = second.run_all()[0].output;
  EXPECT_LE(stopped.size(), 3u);
  EXPECT_EQ(stopped.back(), out[2]);
}

// Writes the tiny model's random weights as a bf16 safetensors file.
void write_safetensors(const std::string& path, const ModelConfig& c, const WeightSource& src, const std::string& skip,
                       const std::string& reshape) {
  std::string header = "{";
  std::vector<uint16_t> data;
  for (const TensorSpec& spec : expected_tensors(c)) {
    if (spec.name == skip) continue;
    const std::vector<float> v = src.read(spec);
    std::vector<int64_t> shape = spec.shape;
    if (spec.name == reshape) shape = {shape[0] * (shape.size() > 1 ? shape[1] : 1)};
    std::string dims;
    for (size_t i = 0; i < shape.size(); ++i) dims += (i ? "," : "") + std::to_string(shape[i]);
    const size_t begin = data.size() * 2;
    for (float f : v) data.push_back(float_to_bf16_bits(f));
    header += (header.size() > 1 ? "," : "") + std::string("\"") + spec.name + "\":{\"dtype\":\"BF16\",\"shape\":[" + dims +
              "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size() * 2) + "]}";
  }
  header += "}";
  std::ofstream out(path, std::ios::binary);
  const uint64_t len = header.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 2));
}

TEST(EngineCpu, SafetensorsLoadMatchesAndErrorsNameTheTensor) {
  const ModelConfig c = test::tiny("tiny-qwen2");
  const std::string dir = std::filesystem::temp_directory_path() / "aidc_engine_st_test";
  std::filesystem::create_directories(dir);
  const WeightSource random = WeightSource::random(9);
  write_safetensors(dir + "/ok.safetensors", c, random, "", "");
  CpuModel from_file(c, WeightSource::from_safetensors(dir + "/ok.safetensors"), 8), from_seed(c, random, 8);
  const std::vector<int> tokens = test::prompt(9, c.vocab);
  EXPECT_EQ(test::run_logits(from_file, tokens, 9), test::run_logits(from_seed, tokens, 9));

  auto error_of = [&](const std::string& skip, const std::string& reshape) {
    const std::string path = dir + "/bad.safetensors";
    write_safetensors(path, c, random, skip, reshape);
    try {
      CpuModel m(c, WeightSource::from_safetensors(path), 8);
    } catch (const EngineError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string missing = "model.layers.1.self_attn.k_proj.bias";
  EXPECT_NE(error_of(missing, "").find("missing tensor '" + missing + "'"), std::string::npos);
  const std::string misshaped = "model.layers.0.mlp.down_proj.weight";
  EXPECT_NE(error_of("", misshaped).find("'" + misshaped + "' has shape"), std::string::npos);
  std::ofstream(dir + "/junk.safetensors") << "not a safetensors file";
  EXPECT_THROW(WeightSource::from_safetensors(dir + "/junk.safetensors"), EngineError);
  std::filesystem::remove_all(dir);
}

TEST(EngineCpu, RoutingRules) {
  MoEConfig m;
  m.n_routed_experts = 8;
  m.experts_per_token = 2;
  const float logits[8] = {0.1f, 2.0f, -1.0f, 1.5f, 0.0f, 0.2f, 0.3f, -0.5f};
  Routed r = route_token(m, logits, nullptr);
  EXPECT_EQ(r.experts, (std::vector<int>{1, 3}));
  double z = 0;
  for (float l : logits) z += std::exp(l);
  EXPECT_NEAR(r.weights[0], std::exp(2.0) / z, 1e-6);  // softmax weights, not renormalised
  m.norm_topk_prob = true;
  r = route_token(m, logits, nullptr);
  EXPECT_NEAR(r.weights[0] + r.weights[1], 1.0, 1e-6);
  // V3: sigmoid, two groups of four, one kept; the bias steers the choice but not the weight.
  m.routing = Routing::SigmoidGroupTopK;
  m.n_group = 2;
  m.topk_group = 1;
  m.routed_scaling_factor = 2.5;
  const float bias[8] = {0, 0, 0, 0, 0, 0, 3.0f, 3.0f};
  r = route_token(m, logits, bias);
  EXPECT_EQ(r.experts, (std::vector<int>{6, 7}));
  const double s6 = 1 / (1 + std::exp(-0.3)), s7 = 1 / (1 + std::exp(0.5));
  EXPECT_NEAR(r.weights[0], 2.5 * s6 / (s6 + s7), 1e-5);
  // Forced experts (tests following another backend's choice): taken as given, weighted by the rule.
  const int forced[2] = {0, 6};
  r = route_token(m, logits, bias, forced);
  EXPECT_EQ(r.experts, (std::vector<int>{0, 6}));
  const double s0 = 1 / (1 + std::exp(-0.1));
  EXPECT_NEAR(r.weights[0], 2.5 * s0 / (s0 + s6), 1e-5);
}

// What parity runs rely on: a backend that follows another's recorded expert choices reproduces
// that run exactly; other choices change the logits; malformed choices are refused by name.
TEST(EngineCpu, RecordedRoutingReplaysAndBadChoicesAreRefused) {
  for (const char* name : {"tiny-deepseek-moe", "tiny-deepseek-v2", "tiny-deepseek-v3"}) {
    SCOPED_TRACE(name);
    const ModelConfig c = test::tiny(name);
    const std::vector<int> tokens = test::prompt(20, c.vocab);
    const int k = c.moe.experts_per_token, E = c.moe.n_routed_experts;
    CpuModel leader(c, WeightSource::random(3), 16), follower(c, WeightSource::random(3), 16);
    leader.record_routing(true);
    const std::vector<float> own = test::run_logits(leader, tokens, 20);
    ExpertChoices choices = leader.routing_trace();
    ASSERT_EQ(static_cast<int>(choices.size()), c.moe_layer_count());
    for (const std::vector<int>& layer : choices) ASSERT_EQ(layer.size(), tokens.size() * k);

    follower.force_routing(choices);
    EXPECT_EQ(test::rel_error(test::run_logits(follower, tokens, 20), own), 0.0);

    ExpertChoices shifted = choices;  // every token's experts moved to the next ids: a different model run
    for (std::vector<int>& layer : shifted)
      for (size_t i = 0; i < layer.size(); i += k) {
        const int first = layer[i];  // the new set leaves it out, so it differs from the old one
        for (int j = 0; j < k; ++j) layer[i + j] = (first + j + 1) % E;
      }
    follower.force_routing(shifted);
    EXPECT_GT(test::rel_error(test::run_logits(follower, tokens, 20), own), 1e-3);

    ExpertChoices out_of_range = choices;
    out_of_range[0][0] = E;
    follower.force_routing(out_of_range);
    try {
      test::run_logits(follower, tokens, 20);
      FAIL() << "expected an error";
    } catch (const EngineError& e) {
      EXPECT_NE(std::string(e.what()).find("is not one of the model's"), std::string::npos) << e.what();
    }
    ExpertChoices extra_layer = choices;
    extra_layer.push_back(choices.back());
    follower.force_routing(extra_layer);
    EXPECT_THROW(test::run_logits(follower, tokens, 20), EngineError);
  }
}

TEST(EngineCpu, SamplingRules) {
  std::vector<float> logits{0.0f, 3.0f, 2.9f, -1.0f, 1.0f};
  EXPECT_EQ(sample_token(logits.data(), 5, SamplingParams{}, 0), 1);
  EXPECT_EQ(sample_token(logits.data(), 5, SamplingParams{1.0f, 0.01f, 5}, 3), 1);  // top-p keeps only the best
  int seen[5] = {};
  for (uint64_t d = 0; d < 400; ++d) seen[sample_token(logits.data(), 5, SamplingParams{1.0f, 0.8f, 5}, d)]++;
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
  EXPECT_EQ(seen[0] + seen[3] + seen[4], 0);  // outside the top-0.8 mass
  EXPECT_EQ(sample_token(logits.data(), 5, SamplingParams{1.0f, 0.8f, 5}, 17),
            sample_token(logits.data(), 5, SamplingParams{1.0f, 0.8f, 5}, 17));
}

}  // namespace
}  // namespace aidc
