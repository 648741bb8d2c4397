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

// A run's requests.csv as `aidc run` and `aidc load` write it (columns id,arrival_s,first_token_s,
// finish_s,prompt_tokens,output_tokens,replica,status, then any more): the completed requests, for
// `aidc calibrate`.
struct CompletedRequestRow {
  double arrival_s = 0, first_token_s = 0, finish_s = 0;
  int prompt_tokens = 0, output_tokens = 0;
};
std::vector<CompletedRequestRow> load_completed_requests(const std::string& path);

}  // namespace aidc
