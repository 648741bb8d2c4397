#pragma once
// CSV inputs a user supplies: request traces and empirical length distributions.
// Bad rows are reported as FILE:LINE:COL: error: column: what was expected.
#include <cstdint>
#include <string>
#include <vector>

namespace aidc {

struct TraceRow {
  double arrival_s = 0;
  int prompt_tokens = 0;
  int output_tokens = 0;
  std::uint64_t session = 0;
};

// Columns: arrival_s,prompt_tokens,output_tokens[,session]; a header line is required; rows sorted by time.
std::vector<TraceRow> load_trace(const std::string& path);

// Columns: tokens[,weight]; header required. Weights default to 1.
void load_empirical_lengths(const std::string& path, std::vector<double>& tokens, std::vector<double>& weights);

}  // namespace aidc
