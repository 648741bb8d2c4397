#pragma once
// NVML loaded at run time (dlopen libnvidia-ml.so.1): the build machines have no nvml.h, and a
// machine without a driver must still run the CPU paths. Without NVML every reading is "unavailable".
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace aidc {

class Nvml {
 public:
  static Nvml& instance();
  bool available() const { return device_ != nullptr; }
  const std::string& why_unavailable() const { return why_; }
  std::string driver_version() const;
  // Instantaneous board power (NVML_FI_DEV_POWER_INSTANT), falling back to the averaged reading.
  std::optional<double> power_watts() const;
  // The GPU gauges the server exports under DCGM names (nullopt when NVML or the reading is absent).
  std::optional<double> temperature_celsius() const;
  std::optional<double> utilization_percent() const;  // share of the last sample period a kernel ran
  std::optional<double> memory_used_mib() const;
  std::optional<double> sm_clock_mhz() const;

 private:
  Nvml();
  void* lib_ = nullptr;
  void* device_ = nullptr;
  std::string why_;
};

// Samples power on a background thread (every ~5 ms) between start() and stop().
class PowerSampler {
 public:
  void start();
  // Mean watts over the window; nullopt when NVML is unavailable or nothing was read.
  std::optional<double> stop();
  ~PowerSampler();

 private:
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::vector<double> samples_;
};

}  // namespace aidc
