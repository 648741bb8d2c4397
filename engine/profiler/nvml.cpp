#include "profiler/nvml.h"

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <numeric>

namespace aidc {
namespace {

// The few NVML declarations we use, as in nvml.h (ABI-stable since NVML 10).
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr unsigned kFieldPowerInstant = 186;  // NVML_FI_DEV_POWER_INSTANT
union NvmlValue {
  double d;
  unsigned int ui;
  unsigned long ul;
  unsigned long long ull;
  signed long long sll;
  signed int si;
};
struct NvmlFieldValue {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;  // 0 double, 1 uint, 2 ulong, 3 ulonglong, 4 slonglong, 5 sint
  nvmlReturn_t nvmlReturn;
  NvmlValue value;
};

template <typename F>
F symbol(void* lib, const char* name) {
  return reinterpret_cast<F>(dlsym(lib, name));
}

// nvmlDeviceGetTemperature and nvmlDeviceGetClockInfo: (device, which reading, unsigned* value).
std::optional<double> device_reading(void* lib, void* device, const char* function, int which) {
  auto get = device ? symbol<nvmlReturn_t (*)(nvmlDevice_t, int, unsigned*)>(lib, function) : nullptr;
  unsigned value = 0;
  if (get && get(device, which, &value) == 0) return value;
  return std::nullopt;
}

}  // namespace

Nvml& Nvml::instance() {
  static Nvml nvml;
  return nvml;
}

Nvml::Nvml() {
  lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib_) {
    why_ = "NVML unavailable (libnvidia-ml.so.1 not found)";
    return;
  }
  auto init = symbol<nvmlReturn_t (*)()>(lib_, "nvmlInit_v2");
  auto handle = symbol<nvmlReturn_t (*)(unsigned, nvmlDevice_t*)>(lib_, "nvmlDeviceGetHandleByIndex_v2");
  if (!init || !handle || init() != 0) {
    why_ = "NVML unavailable (nvmlInit failed: no GPU or no driver)";
    return;
  }
  nvmlDevice_t dev = nullptr;
  if (handle(0, &dev) != 0) {
    why_ = "NVML: no GPU";
    return;
  }
  device_ = dev;
}

std::string Nvml::driver_version() const {
  if (!lib_ || !device_) return "unknown";
  auto get = symbol<nvmlReturn_t (*)(char*, unsigned)>(lib_, "nvmlSystemGetDriverVersion");
  char buf[96] = {};
  return get && get(buf, sizeof buf) == 0 ? std::string(buf) : "unknown";
}

std::optional<double> Nvml::power_watts() const {
  if (!device_) return std::nullopt;
  auto fields = symbol<nvmlReturn_t (*)(nvmlDevice_t, int, NvmlFieldValue*)>(lib_, "nvmlDeviceGetFieldValues");
  if (fields) {
    NvmlFieldValue v;
    std::memset(&v, 0, sizeof v);
    v.fieldId = kFieldPowerInstant;
    if (fields(device_, 1, &v) == 0 && v.nvmlReturn == 0) {
      switch (v.valueType) {
        case 0: return v.value.d / 1000.0;
        case 1: return v.value.ui / 1000.0;
        case 2: return v.value.ul / 1000.0;
        case 3: return v.value.ull / 1000.0;
        case 4: return v.value.sll / 1000.0;
        default: return v.value.si / 1000.0;
      }
    }
  }
  auto usage = symbol<nvmlReturn_t (*)(nvmlDevice_t, unsigned*)>(lib_, "nvmlDeviceGetPowerUsage");
  unsigned mw = 0;
  if (usage && usage(device_, &mw) == 0) return mw / 1000.0;
  return std::nullopt;
}

std::optional<double> Nvml::temperature_celsius() const {
  constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
  return device_reading(lib_, device_, "nvmlDeviceGetTemperature", kTemperatureGpu);
}

std::optional<double> Nvml::utilization_percent() const {
  struct Utilization {  // nvmlUtilization_t
    unsigned gpu, memory;
  };
  auto get = device_ ? symbol<nvmlReturn_t (*)(nvmlDevice_t, Utilization*)>(lib_, "nvmlDeviceGetUtilizationRates") : nullptr;
  Utilization u{};
  if (get && get(device_, &u) == 0) return u.gpu;
  return std::nullopt;
}

std::optional<double> Nvml::memory_used_mib() const {
  struct Memory {  // nvmlMemory_t
    unsigned long long total, free, used;
  };
  auto get = device_ ? symbol<nvmlReturn_t (*)(nvmlDevice_t, Memory*)>(lib_, "nvmlDeviceGetMemoryInfo") : nullptr;
  Memory m{};
  if (get && get(device_, &m) == 0) return m.used / (1024.0 * 1024.0);
  return std::nullopt;
}

std::optional<double> Nvml::sm_clock_mhz() const {
  constexpr int kClockSm = 1;  // NVML_CLOCK_SM
  return device_reading(lib_, device_, "nvmlDeviceGetClockInfo", kClockSm);
}

void PowerSampler::start() {
  samples_.clear();
  if (!Nvml::instance().available()) return;
  running_ = true;
  thread_ = std::thread([this] {
    while (running_) {
      if (auto w = Nvml::instance().power_watts()) samples_.push_back(*w);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
}

std::optional<double> PowerSampler::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
  if (samples_.empty()) return std::nullopt;
  return std::accumulate(samples_.begin(), samples_.end(), 0.0) / samples_.size();
}

PowerSampler::~PowerSampler() { stop(); }

}  // namespace aidc
