#pragma once
// Reader for .safetensors files (one file or a folder of shards), tensors by Hugging Face name.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace aidc {

enum class DType { BF16, F16, F32, F8_E4M3 };
const char* dtype_name(DType t);  // as the header spells it

struct TensorEntry {
  std::string file;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // absolute, in the file
  uint64_t bytes = 0;
};

class SafetensorsIndex {
 public:
  // `path` is a .safetensors file or a folder holding one or more of them.
  static SafetensorsIndex open(const std::string& path);
  const TensorEntry* find(const std::string& name) const;
  // Reads the tensor converted to float (values exact: bf16/f16/e4m3 widen losslessly; e4m3 unscaled).
  std::vector<float> read_float(const std::string& name) const;
  // The stored bytes as they are (fp8 weights go to the GPU unconverted).
  std::vector<uint8_t> read_bytes(const std::string& name) const;
  size_t size() const { return tensors_.size(); }

 private:
  std::map<std::string, TensorEntry> tensors_;
};

}  // namespace aidc
