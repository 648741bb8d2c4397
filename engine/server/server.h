#pragma once
// `aidc-engine serve`: an OpenAI-compatible HTTP server over the engine (cpp-httplib).
//   POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health, GET /metrics.
// SIGTERM/SIGINT drain it: /health and new requests answer 503, in-flight requests finish, exit 0.
#include <string>

#include "model/weights.h"

namespace aidc {

struct ServeOptions {
  std::string model;  // config.json, or a directory holding config.json (and tokenizer.json)
  std::string backend = "gpu";
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (the "listening on" line on stderr names it)
  int max_queue = 1024;         // requests waiting to be scheduled beyond which new ones get 503
  int max_batch_tokens = 8192;  // tokens per engine step
  int max_seqs = 256;           // sequences per engine step
  long long kv_tokens = 0;      // KV cache size; 0: the GPU fills its free memory, the CPU takes 16384
  int max_model_len = 0;        // context limit; 0: the model's max_position_embeddings
  double request_timeout_s = 600;
  std::string tokenizer;          // tokenizer.json; default: the model directory's, where there is one
  std::string served_model_name;  // default: the model directory's (or config file's) name
  std::string step_log;           // CSV of every engine iteration's timing and batch (EngineLoop)
};

// Serves until SIGTERM/SIGINT; returns the exit code. Throws EngineError on bad options or model.
int run_serve(const ServeOptions& options, const WeightSource& weights);

}  // namespace aidc
