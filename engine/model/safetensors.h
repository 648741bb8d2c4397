#pragma once
// Reader for .safetensors files (one file or a folder of shards), tensors by Hugging Face name.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace aidc {

enum class DType { BF16, F16, F32 };

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
  // Reads the tensor converted to float (values exact: bf16/f16 widen losslessly).
  std::vector<float> read_float(const std::string& name) const;
  size_t size() const { return tensors_.size(); }

 private:
  std::map<std::string, TensorEntry> tensors_;
};

}  // namespace aidc
