#pragma once
// A calibration profile (schema aidc-calibration/1, docs/calibration.md): one model measured on one
// GPU by `aidc-engine profile`, written by core/calibration/writer.hpp and read by
// core/calibration/reader.hpp for the simulator's performance and power models. Cells nothing was
// measured for (did not fit in memory, no NVML) are NaN here and null in the file.
#include <optional>
#include <string>
#include <vector>

namespace aidc {

inline constexpr const char* kCalibrationSchema = "aidc-calibration/1";

struct CalibrationProfile {
  // A black-box fit of a serving engine's iteration time from its measured requests (`aidc calibrate`,
  // docs/fidelity.md "Black-box calibration"): one step takes
  //   base_s + per_decode_sequence_s x decoding sequences + per_kv_token_s x their KV tokens
  //          + per_prefill_token_s x prompt tokens computed in the step,
  // and a request spends frontend_s in the server before its first step (HTTP, tokenizer, hand-off).
  struct StepFit {
    double base_s = 0, per_decode_sequence_s = 0, per_kv_token_s = 0, per_prefill_token_s = 0, frontend_s = 0;
    double tpot_error = 0, ttft_error = 0;  // |predicted / measured - 1| of each fitted run's mean, averaged over runs
    int runs = 0, requests = 0;             // what it was fitted on
    int max_decode_batch = 0;               // the range the runs covered
    double max_context_tokens = 0, max_prompt_tokens = 0;
  };
  struct Metadata {
    std::string model;         // id of scenarios/catalog/models/<id>.json
    std::string architecture;  // config.json model_type (architecture_name)
    std::string gpu;           // cudaDeviceProp::name
    int gpu_count = 1, sm_count = 0;
    double gpu_memory_gib = 0;
    std::string driver = "unknown", cuda_runtime, date, command, engine_version;
    std::string precision = "bf16", kv_precision = "bf16";
    int tp = 1;                // tensor-parallel degree the times belong to
    std::string weights;       // "random" or the safetensors path
    int kv_block_tokens = 16;
  };
  struct DevicePeaks {
    double copy_gbps = 0, gemm_bf16_tflops = 0, idle_power_w = 0;
    double gemm_fp8_tflops = 0;  // 0: not measured (profiles written before it was recorded)
  };
  struct ModelShape {
    int layers = 0, dense_layers = 0, moe_layers = 0, hidden = 0, heads = 0, kv_heads = 0, head_dim = 0;
    int intermediate = 0, vocab = 0;
    double weight_bytes = 0, active_weight_bytes = 0, kv_bytes_per_token = 0, flops_per_token = 0;
  };
  // An operator timed over a token grid: linear layers carry their GEMM shape.
  struct Operator {
    std::string name;
    int in_features = 0, out_features = 0;  // linear layers only
    int per_layer = 1;                      // 0: once per step
    std::vector<double> time_us, power_w;   // one per grid point; power_w may be empty
  };
  struct OperatorList {
    std::vector<double> tokens;
    std::vector<Operator> ops;
  };
  // A 2-D grid: value[i][j] belongs to rows[i], cols[j].
  struct Grid {
    std::vector<double> rows, cols;
    std::vector<std::vector<double>> time_us, power_w;  // power_w may be empty
  };
  struct Moe {
    std::vector<double> tokens, time_us, power_w;
    int n_routed_experts = 0, experts_per_token = 0, n_shared_experts = 0, expert_intermediate = 0;
  };
  struct Curve {
    std::vector<double> x, y;
  };
  struct EndToEnd {
    int decode_context_tokens = 0;
    std::vector<double> decode_batch, decode_step_ms, decode_tokens_per_s, decode_power_w;
    std::vector<double> prefill_tokens, prefill_time_ms, prefill_tokens_per_s, prefill_power_w;
  };
  // One power reading with the rates its operator achieved (bytes and FLOPs over its time).
  struct PowerPoint {
    std::string op, label;
    double gbps = 0, tflops = 0, power_w = 0;
  };

  std::string file;  // where it was read from; empty when built in memory
  std::string source = "engine_profile";  // `source:` engine_profile (operator grids below) | fit (`fit` only)
  std::optional<StepFit> fit;             // source: fit
  Metadata metadata;
  DevicePeaks device_peaks;
  double power_window_ms = 0;
  ModelShape model_shape;
  OperatorList linear;
  Grid prefill_attention;  // rows: chunk_tokens, cols: context_tokens
  Grid decode_attention;   // rows: batch, cols: kv_tokens_per_seq
  std::optional<Moe> moe;  // MoE models only
  OperatorList elementwise;
  Curve step_overhead;     // x: batch, y: cpu_us
  std::optional<EndToEnd> end_to_end;
  double power_idle_w = 0;
  std::vector<PowerPoint> power_points;  // empty without NVML
};

}  // namespace aidc
