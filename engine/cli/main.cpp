// aidc-engine: run, bench and profile DeepSeek-family models. User errors exit with code 2.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "cpu/cpu_model.h"
#include "core/model/config.hpp"
#include "model/weights.h"
#include "parallel/rank_group.h"
#include "profiler/nvml.h"
#include "profiler/report.h"
#include "runtime/engine.h"
#ifdef AIDC_HAVE_SERVER
#include "server/server.h"
#endif
#ifdef AIDC_HAVE_CUDA
#include "gpu/gpu_model.h"
#include "profiler/gpu_bench.h"
#include "profiler/kernel_bench.h"
#endif
#ifdef AIDC_HAVE_NCCL
#include "parallel/gpu_rank_group.h"
#include "parallel/nccl_bench.h"
#endif

namespace aidc {
namespace {

const char* kUsage =
    "usage: aidc-engine <command> --model CONFIG.json (--weights PATH | --random-weights [--seed N]) [options]\n"
    "commands:\n"
    "  info       parameters, bytes, KV size per token\n"
    "  generate   --prompt 1,2,3 [--max-new 32] [--temperature 0] [--top-p 1] [--sample-seed 0] [--backend cpu|gpu]\n"
    "             [--check-weights]: read every tensor first and name each missing, misshapen or non-finite one\n"
    "  logits     --tokens 1,2,3 --out FILE [--backend cpu|gpu]: float32 logits of every position, row-major\n"
    "             [--routing-out FILE]: the expert choices made, a line per MoE layer (token-major, k per token)\n"
    "             [--routing-in FILE]: take these expert choices instead (same format; weights from own scores)\n"
    "  generate, logits, bench and serve take [--tensor-parallel N] [--expert-parallel N] (1 by default; each 1 or\n"
    "             the other's size): the model sharded over N ranks run in lockstep (the CPU backend: N threads;\n"
    "             the GPU backend: rank r on GPU r, tensor parallel for dense models; bench: the ranks' steps timed)\n"
    "  bench      [--batches 1,8,32,64] [--context 512] [--prefill 512,2048,4096] [--steps 30] [--json FILE]\n"
    "             [--gemv-max-tokens 2]: largest step that runs its linears on the engine's GEMV, not cuBLAS\n"
    "             [--gemv-mma-max-tokens 0]: largest step on the tensor-core GEMV after that (0: cuBLAS)\n"
    "             [--precision bf16|fp8]: with --random-weights, the weights' format (fp8: DeepSeek-V3's e4m3 with\n"
    "             128x128 block scales, any model); a checkpoint's is its config.json's quantization_config\n"
    "  profile    --out CALIBRATION.yaml [--precision bf16|fp8] (as bench's; the profile records it)\n"
    "  nccl-bench (no --model) [--gpus 2] [--json FILE]: NCCL all-reduce time, algorithm and bus bandwidth, 8 KB..256 MB\n"
    "  kernels    (no --model) each kernel family timed alone at the served models' shapes, a table per family\n"
    "             [--families rmsnorm,gemv,...] [--json FILE]\n"
    "  serve      OpenAI-compatible HTTP server; --model may be a directory holding config.json (and tokenizer.json)\n"
    "             [--backend gpu|cpu] [--host 127.0.0.1] [--port 8000 (0: any free port)] [--max-queue 1024]\n"
    "             [--max-seqs 256] [--max-batch-tokens 8192] [--kv-tokens N (KV cache size)] [--max-model-len N]\n"
    "             [--request-timeout 600 (s)] [--tokenizer tokenizer.json] [--served-model-name NAME]\n"
    "             [--step-log FILE (CSV: every engine iteration's start, end and batch)]\n";

struct Args {
  std::string command;
  std::map<std::string, std::string> values;
  std::string line;  // the whole command line, recorded in outputs

  bool has(const std::string& k) const { return values.count(k) > 0; }
  std::string get(const std::string& k, const std::string& fallback = "") const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
  double number(const std::string& k, double fallback) const {
    if (!has(k)) return fallback;
    try {
      size_t used = 0;
      double v = std::stod(get(k), &used);
      if (used == get(k).size()) return v;
    } catch (const std::exception&) {
    }
    fail("option --" + k + " expects a number, got '" + get(k) + "'");
  }
  // A whole number in [lo, hi]: a count that is cast to int must never wrap or turn negative.
  long long whole(const std::string& k, long long fallback, long long lo, long long hi) const {
    const double v = number(k, static_cast<double>(fallback));
    require(v == std::floor(v) && v >= static_cast<double>(lo) && v <= static_cast<double>(hi),
            "option --" + k + " expects a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" +
                get(k) + "'");
    return static_cast<long long>(v);
  }
  std::vector<int> ints(const std::string& k, std::vector<int> fallback) const {
    if (!has(k)) return fallback;
    std::vector<int> out;
    std::stringstream ss(get(k));
    std::string item;
    while (std::getline(ss, item, ',')) {
      size_t used = 0;
      try {
        out.push_back(std::stoi(item, &used));
      } catch (const std::exception&) {
      }
      require(used > 0 && used == item.size(), "option --" + k + " expects comma-separated integers, got '" + get(k) + "'");
    }
    require(!out.empty(), "option --" + k + " is empty");
    return out;
  }
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 0; i < argc; ++i) a.line += (i ? " " : "") + std::string(argv[i]);
  if (argc < 2) fail(kUsage);
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) fail("unexpected argument '" + k + "'\n" + kUsage);
    k = k.substr(2);
    if (k == "random-weights" || k == "check-weights") {
      a.values[k] = "1";
    } else {
      if (i + 1 >= argc) fail("option --" + k + " needs a value");
      a.values[k] = argv[++i];
    }
  }
  return a;
}

// --precision: the format of random weights (a checkpoint's format is its config's, and must match).
ModelConfig with_precision(const Args& a, ModelConfig c) {
  if (!a.has("precision")) return c;
  const std::string p = a.get("precision");
  require(p == "bf16" || p == "fp8", "option --precision expects bf16 or fp8, got '" + p + "'");
  const WeightFormat wanted = p == "fp8" ? WeightFormat::Fp8Block : WeightFormat::Bf16;
  if (a.has("random-weights")) {
    c.weight_format = wanted;
    return c;
  }
  require(wanted == c.weight_format,
          "option --precision " + p + " does not match the checkpoint: its config.json " +
              (c.weight_format == WeightFormat::Fp8Block ? "has an fp8 quantization_config" : "has no quantization_config (bf16)") +
              "; --precision chooses the format of --random-weights");
  return c;
}

WeightSource weights_of(const Args& a) {
  if (a.has("weights")) return WeightSource::from_safetensors(a.get("weights"));
  if (a.has("random-weights")) return WeightSource::random(static_cast<uint64_t>(a.number("seed", 0)));
  fail("give --weights PATH or --random-weights");
}

// --tensor-parallel / --expert-parallel, checked against the model (what does not divide is named).
ShardPlan shard_plan_of(const Args& a, const ModelConfig& c) {
  return ShardPlan(c, ParallelSpec{static_cast<int>(a.whole("tensor-parallel", 1, 1, 1024)),
                                   static_cast<int>(a.whole("expert-parallel", 1, 1, 1024))});
}

// The backend as the ranks of the shard plan, at every world size (1 included).
std::unique_ptr<Backend> make_backend(const Args& a, const ModelConfig& c, const WeightSource& w, int max_tokens) {
  std::string kind = a.get("backend", "gpu");
  ShardPlan plan = shard_plan_of(a, c);
  const int block_tokens = 16, blocks = (max_tokens + block_tokens - 1) / block_tokens + 4;
  if (kind == "cpu") return cpu_rank_group(std::move(plan), w, blocks, block_tokens);
  if (kind != "gpu") fail("option --backend must be cpu or gpu");
#ifdef AIDC_HAVE_CUDA
  GpuOptions o;
  o.max_batch_tokens = std::max(max_tokens, 16);
  o.max_logit_rows = std::max(max_tokens, 16);
  o.max_context = std::max(max_tokens, 16);
  o.max_seqs = 16;
  o.kv_blocks = blocks;
#ifdef AIDC_HAVE_NCCL
  return gpu_rank_group(std::move(plan), w, o);
#else
  require(plan.world() == 1, "--backend gpu with more than one rank needs NCCL, and this build has none");
  return std::make_unique<GpuModel>(c, w, o);
#endif
#else
  fail("this build has no CUDA backend (use --backend cpu)");
#endif
}

int cmd_info(const ModelConfig& c) {
  std::printf("model %s: %.3f B parameters (%.3f B active per token), %d layers (%d MoE), hidden %d, heads %d/%d, "
              "vocab %d, KV %d values per token per layer\n",
              c.name.c_str(), c.parameter_count() / 1e9, c.active_parameter_count() / 1e9, c.layers, c.moe_layer_count(),
              c.hidden, c.heads, c.kv_heads, c.vocab, c.kv_values_per_token());
  return 0;
}

int cmd_generate(const Args& a, const ModelConfig& c) {
  Generation r;
  r.prompt = a.ints("prompt", {});
  require(!r.prompt.empty(), "generate: give --prompt with at least one token id");
  // The context bounds prompt + output, and every buffer is sized from their sum.
  r.max_new_tokens = static_cast<int>(a.whole("max-new", 32, 1, c.max_position));
  r.sampling.temperature = static_cast<float>(a.number("temperature", 0));
  r.sampling.top_p = static_cast<float>(a.number("top-p", 1));
  require(r.sampling.temperature >= 0 && r.sampling.temperature <= 100,
          "option --temperature expects a number from 0 to 100, got '" + a.get("temperature") + "'");
  require(r.sampling.top_p > 0 && r.sampling.top_p <= 1, "option --top-p expects a number above 0 and at most 1, got '" +
                                                            a.get("top-p") + "'");
  r.sampling.seed = static_cast<uint64_t>(a.whole("sample-seed", 0, 0, 1LL << 53));
  const WeightSource w = weights_of(a);
  if (a.has("check-weights")) w.scan(expected_tensors(c));
  auto backend = make_backend(a, c, w, static_cast<int>(r.prompt.size()) + r.max_new_tokens);
  Engine engine(*backend, SchedulerLimits{});
  engine.submit(r);
  const std::vector<Finished> done = engine.run_all();
  for (int t : done[0].output) std::printf("%d ", t);
  std::printf("\n");
  return 0;
}

// Expert choices as text: one line per MoE layer, whitespace-separated expert ids.
ExpertChoices read_choices(const std::string& path) {
  std::ifstream in(path);
  require(static_cast<bool>(in), "cannot read '" + path + "'");
  ExpertChoices choices;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::vector<int>& layer = choices.emplace_back();
    std::string field;
    while (fields >> field) {
      size_t used = 0;
      int e = -1;
      try {
        e = std::stoi(field, &used);
      } catch (const std::exception&) {
      }
      require(used == field.size() && e >= 0, path + ":" + std::to_string(number) + ": expected an expert id, got '" +
                                                   field + "'");
      layer.push_back(e);
    }
  }
  return choices;
}

std::string format_choices(const ExpertChoices& choices) {
  std::ostringstream out;
  for (const std::vector<int>& layer : choices) {
    for (size_t i = 0; i < layer.size(); ++i) out << (i ? " " : "") << layer[i];
    out << "\n";
  }
  return out.str();
}

int cmd_logits(const Args& a, const ModelConfig& c) {
  const std::vector<int> tokens = a.ints("tokens", {});
  require(a.has("out"), "logits: give --out FILE");
  const WeightSource w = weights_of(a);
  auto backend = make_backend(a, c, w, static_cast<int>(tokens.size()));
  StepBatch b;
  b.tokens = tokens;
  SeqChunk s;
  s.n_tokens = static_cast<int>(tokens.size());
  for (int k = 0; k * backend->kv_block_tokens() < s.n_tokens; ++k) s.blocks.push_back(k);
  s.all_logits = true;
  b.seqs.push_back(s);
  if (a.has("routing-in")) backend->force_routing(read_choices(a.get("routing-in")));
  backend->record_routing(a.has("routing-out"));
  backend->forward(b);
  // Both files appear whole or not at all (written beside, then renamed).
  if (a.has("routing-out")) write_text_file(a.get("routing-out"), format_choices(backend->routing_trace()));
  const std::vector<float> logits = backend->logits();
  write_text_file(a.get("out"), std::string(reinterpret_cast<const char*>(logits.data()), logits.size() * 4));
  return 0;
}

#ifdef AIDC_HAVE_SERVER
int cmd_serve(const Args& a) {
  // The server builds its one backend itself (engine/server): a rank group is not wired in yet.
  require(a.whole("tensor-parallel", 1, 1, 1024) == 1 && a.whole("expert-parallel", 1, 1, 1024) == 1,
          "serve: --tensor-parallel / --expert-parallel above 1 are not available yet: the server builds a single "
          "backend (engine/server/server.cpp make_backend), not the rank group (engine/parallel/rank_group.h)");
  ServeOptions o;
  o.model = a.get("model");
  o.backend = a.get("backend", o.backend);
  o.host = a.get("host", o.host);
  // Ranges that keep every count an int; run_serve checks how they combine.
  o.port = static_cast<int>(a.whole("port", o.port, 0, 65535));
  o.max_queue = static_cast<int>(a.whole("max-queue", o.max_queue, 1, 1 << 20));
  o.max_seqs = static_cast<int>(a.whole("max-seqs", o.max_seqs, 1, 1 << 20));
  o.max_batch_tokens = static_cast<int>(a.whole("max-batch-tokens", o.max_batch_tokens, 1, 1 << 24));
  o.kv_tokens = a.whole("kv-tokens", o.kv_tokens, 0, 1LL << 40);
  o.max_model_len = static_cast<int>(a.whole("max-model-len", o.max_model_len, 0, 1 << 30));
  o.request_timeout_s = a.number("request-timeout", o.request_timeout_s);
  o.tokenizer = a.get("tokenizer");
  o.served_model_name = a.get("served-model-name");
  o.step_log = a.get("step-log");
  return run_serve(o, weights_of(a));
}
#endif

int run(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  if (a.command == "help" || a.command == "--help") {
    std::printf("%s", kUsage);
    return 0;
  }
  if (a.command == "kernels") {
#ifdef AIDC_HAVE_CUDA
    KernelBenchOptions o;
    std::stringstream families(a.get("families"));
    for (std::string f; std::getline(families, f, ',');) o.families.push_back(f);
    o.json_out = a.get("json");
    o.command = a.line;
    return run_kernel_bench(o);
#else
    fail("kernels needs the CUDA backend, and this build has none");
#endif
  }
  if (a.command == "nccl-bench") {
#ifdef AIDC_HAVE_NCCL
    NcclBenchOptions o;
    o.gpus = static_cast<int>(a.whole("gpus", 2, 2, 1024));
    o.json_out = a.get("json");
    o.command = a.line;
    return run_nccl_bench(o);
#else
    fail("nccl-bench needs NCCL, and this build has none");
#endif
  }
  require(a.has("model"), std::string("give --model CONFIG.json\n") + kUsage);
  if (a.command == "serve") {
#ifdef AIDC_HAVE_SERVER
    return cmd_serve(a);
#else
    fail("this build has no serve command (it needs cpp-httplib, nlohmann-json and PCRE2 at build time)");
#endif
  }
  const ModelConfig c = load_model_config(a.get("model"));
  if (a.command == "info") return cmd_info(c);
  if (a.command == "generate") return cmd_generate(a, c);
  if (a.command == "logits") return cmd_logits(a, c);
  if (a.command == "bench" || a.command == "profile") {
#ifdef AIDC_HAVE_CUDA
    const WeightSource w = weights_of(a);
    const ShardPlan plan = shard_plan_of(a, c);  // what does not divide is named here
    if (a.command == "bench") {
      require(plan.spec().expert == 1, "bench: --expert-parallel above 1 is not available on the GPU backend");
      BenchOptions o;
      o.tensor_parallel = plan.spec().tensor;
#ifdef AIDC_HAVE_NCCL
      o.make_group = [&w](ShardPlan p, const GpuOptions& options) { return gpu_rank_group(std::move(p), w, options); };
#endif
      o.model_path = a.get("model");
      o.batches = a.ints("batches", o.batches);
      o.context = static_cast<int>(a.number("context", o.context));
      o.prefill_tokens = a.ints("prefill", o.prefill_tokens);
      o.decode_steps = static_cast<int>(a.number("steps", o.decode_steps));
      auto token_limit = [&](const std::string& option, int fallback, int limit, const std::string& what) {
        const double v = a.number(option, fallback);
        require(v >= 0 && v <= limit && v == static_cast<int>(v), "option --" + option + " expects a whole number from 0 to " +
                                                                     std::to_string(limit) + " (" + what + "), got '" +
                                                                     a.get(option) + "'");
        return static_cast<int>(v);
      };
      o.gemv_max_tokens = token_limit("gemv-max-tokens", o.gemv_max_tokens, kGemvMaxTokens, "the GEMV's limit");
      o.gemv_mma_max_tokens = token_limit("gemv-mma-max-tokens", o.gemv_mma_max_tokens, kGemvMmaMaxTokens,
                                          "the tensor-core GEMV's limit; 0: cuBLAS");
      o.json_out = a.get("json");
      o.command = a.line;
      return run_bench(with_precision(a, c), w, o);
    }
    // profile times one GpuModel's operators (profiler/gpu_bench).
    require(plan.world() == 1, "profile: --tensor-parallel / --expert-parallel above 1 are not available: it times "
                               "one GPU's operators");
    require(a.has("out"), "profile: give --out CALIBRATION.yaml");
    return run_profile(with_precision(a, c), w, ProfileOptions{a.get("model"), a.get("out"), a.line});
#else
    fail(a.command + " needs the CUDA backend, and this build has none");
#endif
  }
  fail("unknown command '" + a.command + "'\n" + kUsage);
}

}  // namespace
}  // namespace aidc

int main(int argc, char** argv) {
  try {
    return aidc::run(argc, argv);
  } catch (const aidc::EngineError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 1;
  }
}
