// The engine's inputs checked at the door (issue 17): a config.json whose sizes break the arithmetic,
// a safetensors file with a fractional shape or NaN/infinite weights, and CLI numbers that used to
// reach the runtime as negative sizes: each a clear error (exit 2 from the CLI) naming what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "core/model/config.hpp"
#include "engine_test_support.h"
#include "model/weights.h"

namespace aidc {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const EngineError& e) {
    return e.what();
  }
  return "no error";
}

// tiny-llama's config.json with `field` set to `value` (raw JSON).
std::string llama_with(const std::string& field, const std::string& value) {
  std::string json = test::read_all(test::data("tiny-llama.json"));
  const std::string key = "\"" + field + "\": ";
  const auto at = json.find(key);
  EXPECT_NE(at, std::string::npos) << field;
  const auto end = json.find_first_of(",}", at);
  return json.replace(at + key.size(), end - at - key.size(), value);
}

TEST(EngineInput, MoreHeadsThanHiddenSizeIsRefused) {
  std::string json = llama_with("num_attention_heads", "512");
  json.replace(json.find("\"head_dim\": 64, "), std::strlen("\"head_dim\": 64, "), "");  // head size from hidden / heads
  json = json.replace(json.find("\"num_key_value_heads\": 2"), std::strlen("\"num_key_value_heads\": 2"), "\"num_key_value_heads\": 512");
  const std::string message = error_of([&] { parse_model_config(json, "many-heads"); });
  EXPECT_NE(message.find("'num_attention_heads'"), std::string::npos) << message;
  EXPECT_NE(message.find("head size would be 0"), std::string::npos) << message;
}

// hidden_size 1e9 overflowed int products (2 × kv_heads × head_dim, hidden × heads).
TEST(EngineInput, SizesBeyondAnyModelAreRefusedByField) {
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"hidden_size", "1000000000"}, {"vocab_size", "1e12"}, {"num_hidden_layers", "100000"},
           {"intermediate_size", "-5"}, {"head_dim", "64.5"}, {"rms_norm_eps", "1e999"}, {"rope_theta", "0"}}) {
    // clang 14 (the sanitized build) cannot capture a structured binding: init-captures name them.
    const std::string message = error_of([&f = field, &v = value] { parse_model_config(llama_with(f, v), "huge"); });
    EXPECT_NE(message.find("'" + field + "'"), std::string::npos) << field << "=" << value << ": " << message;
  }
}

TEST(EngineInput, ConfigErrorsNameTheFile) {
  const fs::path path = fs::path(::testing::TempDir()) / "bad-config.json";
  std::ofstream(path) << llama_with("hidden_size", "0");
  const std::string message = error_of([&] { load_model_config(path.string()); });
  EXPECT_EQ(message.rfind(path.string() + ": field 'hidden_size'", 0), 0u) << message;
}

// A one-tensor safetensors file: `header_entry` is the tensor's JSON, `data` its bytes.
std::string safetensors_file(const std::string& name, const std::string& header_entry, const std::string& data) {
  const std::string header = "{\"w\": " + header_entry + "}";
  const uint64_t length = header.size();
  const fs::path path = fs::path(::testing::TempDir()) / name;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&length), 8);
  out << header << data;
  return path.string();
}

std::string floats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

TEST(EngineInput, AFractionalOrNegativeShapeIsRefused) {
  const std::string data = floats({1, 2, 3, 4});
  for (const std::string shape : {"[2.5]", "[-4]", "[\"4\"]", "[4294967296, 4294967296]"}) {
    const std::string path = safetensors_file("shape.safetensors",
                                              "{\"dtype\": \"F32\", \"shape\": " + shape + ", \"data_offsets\": [0, 16]}", data);
    const std::string message = error_of([&] { SafetensorsIndex::open(path); });
    EXPECT_NE(message.find("tensor 'w'"), std::string::npos) << shape << ": " << message;
  }
  const std::string path = safetensors_file("offsets.safetensors",
                                            "{\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0.5, 16.5]}", data);
  EXPECT_NE(error_of([&] { SafetensorsIndex::open(path); }).find("data offset"), std::string::npos);
}

TEST(EngineInput, NonFiniteWeightsAreRefusedNamingTheTensor) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::string path = safetensors_file("nan.safetensors", "{\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}",
                                            floats({1, nan, -inf, 2}));
  const WeightSource weights = WeightSource::from_safetensors(path);
  const TensorSpec spec{"w", {4}};
  const std::string message = error_of([&] { weights.read(spec); });
  EXPECT_NE(message.find("tensor 'w' holds 2 NaN or infinite values (the first at element 1)"), std::string::npos) << message;
  // The opt-in scan names every bad or missing tensor, not only the first.
  const std::string scan = error_of([&] { weights.scan({spec, TensorSpec{"absent", {2}}}); });
  EXPECT_NE(scan.find("tensor 'w' holds 2"), std::string::npos) << scan;
  EXPECT_NE(scan.find("missing tensor 'absent'"), std::string::npos) << scan;
}

TEST(EngineInput, FiniteWeightsReadBack) {
  const std::string path = safetensors_file("good.safetensors", "{\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]}",
                                            floats({1, -2, 0.5f, 4}));
  const std::vector<float> v = WeightSource::from_safetensors(path).read(TensorSpec{"w", {2, 2}});
  EXPECT_EQ(v, (std::vector<float>{1, -2, 0.5f, 4}));
}

test::ChildRun run_engine(const std::string& arguments) {
  return test::run_command(std::string(AIDC_ENGINE_BINARY) + " " + arguments);
}

// `--max-new -5` reached the runtime as a negative buffer size (a null-pointer crash).
TEST(EngineInput, GenerateRefusesCountsOutOfRange) {
  const std::string base = "generate --model " + test::data("tiny-llama.json") + " --random-weights --backend cpu --prompt 1,2,3";
  for (const std::string option : {"--max-new -5", "--max-new 0", "--max-new 2.5", "--max-new 1e12", "--max-new x",
                                   "--top-p 0", "--temperature -1", "--sample-seed -3"}) {
    const test::ChildRun r = run_engine(base + " " + option);
    EXPECT_EQ(r.exit_code, 2) << option << "\n" << r.output;
    EXPECT_NE(r.output.find("error: option --" + option.substr(2, option.find(' ') - 2)), std::string::npos) << r.output;
  }
  const test::ChildRun prompt = run_engine("generate --model " + test::data("tiny-llama.json") + " --random-weights --backend cpu --prompt 1,2x");
  EXPECT_EQ(prompt.exit_code, 2) << prompt.output;
  const test::ChildRun fine = run_engine(base + " --max-new 3 --check-weights");
  EXPECT_EQ(fine.exit_code, 0) << fine.output;
}

}  // namespace
}  // namespace aidc
