#pragma once
// The GPU, server and model catalogs under scenarios/catalog/ (models: core/model reads their config.json). Every part of aidc that needs a
// hardware or model fact reads it from here, so each fact lives in exactly one data file.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/input_error.hpp"
#include "core/model/config.hpp"

namespace aidc {

struct GpuSpec {
  std::string id, name, vendor, form_factor;
  std::vector<std::string> device_names;  // what the driver reports (cudaDeviceProp::name), to match profiles
  double memory_gb = 0;
  double memory_bandwidth_gb_s = 0;  // GB/s
  double bf16_tflops = 0;
  std::optional<double> fp8_tflops, int8_tops;
  double tdp_w = 0, idle_w = 0, price_usd = 0;
  std::string interconnect_kind;
  double interconnect_gb_s = 0;  // GB/s per direction, GPU to GPU inside a server
  double compute_efficiency = 0.7, memory_efficiency = 0.8;  // large bf16 GEMM; streaming copy (microbenchmarks)
  double attention_efficiency = 0.7;  // attention kernels' FLOPs, as a fraction of the peak of their precision
  // What the linear layers of a real serving step reach (docs/fidelity.md, "Default model and its validation"):
  // large-batch GEMMs at each precision, as a fraction of that precision's peak, and the weight read of
  // small-batch (decode) GEMVs, as a fraction of memory_bandwidth_gb_s.
  double linear_bf16_efficiency = 0, linear_fp8_efficiency = 0, linear_int8_efficiency = 0, weight_read_efficiency = 0;
};

struct HostPower {
  int cpu_sockets = 2;
  double cpu_idle_w = 0, cpu_max_w = 0, memory_w = 0, nic_w = 0, nvme_w = 0, fans_idle_w = 0, fans_max_w = 0;
  int nvme_drives = 0;
};

struct ServerSpec {
  std::string id, description;
  int gpus_per_server = 8;
  std::vector<std::string> gpu_form_factors;
  // The parts a GPU baseboard takes (HGX H100/H200, HGX H20, Atlas 800T A2, ...); empty for a chassis
  // of standard slots, which takes any GPU of its form factors.
  std::vector<std::string> gpus;
  bool gpu_link_native = true;  // false: GPUs talk through the PCIe switch
  double pcie_gb_s = 0;         // GB/s per GPU per direction
  int nics = 1, rack_units = 4;
  double max_power_w = 0, price_usd = 0;
  HostPower host_power;
  bool accepts(const GpuSpec& gpu) const { return refusal(gpu).empty(); }
  // Why this server does not take `gpu` (for an error or a planner's skip line); empty when it does.
  std::string refusal(const GpuSpec& gpu) const;
  // GB/s per direction between two GPUs of this server.
  double gpu_to_gpu_gb_s(const GpuSpec& gpu) const { return gpu_link_native ? gpu.interconnect_gb_s : std::min(pcie_gb_s, gpu.interconnect_gb_s); }
};

class Catalog {
 public:
  // Reads scenarios/catalog/{gpus.yaml,servers.yaml,models.yaml} from `dir`.
  static Catalog load(const std::string& dir);

  const GpuSpec* gpu(const std::string& id) const;
  const ServerSpec* server(const std::string& id) const;
  // Loads models/<id>.json on first use; throws InputErrors when the file is malformed.
  const ModelConfig* model(const std::string& id) const;
  std::vector<std::string> gpu_ids() const;
  std::vector<std::string> server_ids() const;
  std::vector<std::string> model_ids() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, GpuSpec> gpus_;
  std::map<std::string, ServerSpec> servers_;
  std::map<std::string, std::string> model_files_;  // id -> config.json path
  mutable std::map<std::string, ModelConfig> models_;
};

}  // namespace aidc
