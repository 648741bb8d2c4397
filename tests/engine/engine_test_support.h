#pragma once
// Shared by the engine tests: test data paths, single-sequence runs, the error measure, and running
// the aidc-engine binary.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/model/config.hpp"
#include "runtime/batch.h"

namespace aidc::test {

inline std::string data(const std::string& file) { return std::string(AIDC_ENGINE_TEST_DATA) + "/" + file; }

struct ChildRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command to its end.
inline ChildRun run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {};
  ChildRun r;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe)) r.output += buffer;
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline ModelConfig tiny(const std::string& name) { return load_model_config(data(name + ".json")); }

// DeepSeek-V3's routing at full size: 256 experts in 8 groups (top 4 groups), top 8, sigmoid scores
// with correction bias, normalised and scaled by 2.5 (its config.json).
inline MoEConfig deepseek_v3_routing() {
  MoEConfig v3;
  v3.routing = Routing::SigmoidGroupTopK;
  v3.n_routed_experts = 256;
  v3.experts_per_token = 8;
  v3.n_group = 8;
  v3.topk_group = 4;
  v3.norm_topk_prob = true;
  v3.routed_scaling_factor = 2.5;
  return v3;
}

inline std::vector<int> prompt(int n, int vocab, int salt = 0) {
  std::vector<int> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 37 + salt * 101 + 11) % vocab);
  return t;
}

// Every position's logits for `tokens` fed in chunks of `chunk`, into blocks starting at `first_block`.
inline std::vector<float> run_logits(Backend& b, const std::vector<int>& tokens, int chunk, int first_block = 0) {
  std::vector<float> all;
  const int bt = b.kv_block_tokens();
  for (int start = 0; start < static_cast<int>(tokens.size()); start += chunk) {
    StepBatch step;
    SeqChunk s;
    s.start_pos = start;
    s.n_tokens = std::min(chunk, static_cast<int>(tokens.size()) - start);
    for (int k = 0; k * bt < start + s.n_tokens; ++k) s.blocks.push_back(first_block + k);
    s.all_logits = true;
    step.tokens.assign(tokens.begin() + start, tokens.begin() + start + s.n_tokens);
    step.seqs.push_back(s);
    b.forward(step);
    std::vector<float> l = b.logits();
    all.insert(all.end(), l.begin(), l.end());
  }
  return all;
}

// ||a - b|| / ||b||
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num += double(a[i] - b[i]) * (a[i] - b[i]);
    den += double(b[i]) * b[i];
  }
  return a.size() == b.size() ? std::sqrt(num / den) : INFINITY;
}

}  // namespace aidc::test
