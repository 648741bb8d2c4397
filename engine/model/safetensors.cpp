#include "model/safetensors.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/fp8.h"
#include "common/numeric.h"
#include "core/model/json.hpp"

namespace aidc {
namespace {

size_t dtype_bytes(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F8_E4M3: return 1;
    default: return 2;
  }
}

// The format caps the JSON header at 100 MB; a larger claim is a damaged file, not a reason to allocate it.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
// Beyond any tensor (2^48 elements is 512 TiB in bf16); keeps element and byte counts exact in 64 bits.
constexpr double kMaxElements = 281474976710656.0;

// A header number that must be a whole count in [0, max]: a shape of [64.5] or a negative offset is a damaged file.
uint64_t whole_count(const Json& value, double max, const std::string& file, const std::string& name, const char* what) {
  const double v = value.is_number() ? value.as_number() : -1;
  if (!(v >= 0 && v <= max) || v != std::floor(v))
    fail(file + ": tensor '" + name + "' has a " + what + " that is not a whole number from 0 to " +
         std::to_string(static_cast<uint64_t>(max)));
  return static_cast<uint64_t>(v);
}

void index_file(const std::string& file, std::map<std::string, TensorEntry>& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot open weights file '" + file + "'");
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  const uint64_t file_size = std::filesystem::file_size(file);
  if (!in || file_size < 8 || header_len == 0 || header_len > file_size - 8 || header_len > kMaxHeaderBytes)
    fail(file + ": not a safetensors file (bad header length)");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  Json root = Json::parse(header, file + " header");
  if (!root.is_object()) fail(file + ": safetensors header is not an object");
  const uint64_t data_start = 8 + header_len;
  for (const auto& [name, t] : root.members()) {
    if (name == "__metadata__") continue;
    const Json* dtype = t.find("dtype");
    const Json* shape = t.find("shape");
    const Json* offsets = t.find("data_offsets");
    if (!dtype || !dtype->is_string() || !shape || !shape->is_array() || !offsets || !offsets->is_array() ||
        offsets->items().size() != 2)
      fail(file + ": tensor '" + name + "' has a malformed header entry");
    TensorEntry e;
    e.file = file;
    const std::string& d = dtype->as_string();
    if (d == "BF16") e.dtype = DType::BF16;
    else if (d == "F16") e.dtype = DType::F16;
    else if (d == "F32") e.dtype = DType::F32;
    else if (d == "F8_E4M3") e.dtype = DType::F8_E4M3;
    else fail(file + ": tensor '" + name + "' has dtype " + d + " (supported: BF16, F16, F32, F8_E4M3)");
    double numel_bound = 1;  // in floating point first: a product of large dimensions must not wrap
    uint64_t numel = 1;
    for (const Json& s : shape->items()) {
      const uint64_t dim = whole_count(s, kMaxElements, file, name, "dimension");
      numel_bound *= static_cast<double>(dim);
      if (numel_bound > kMaxElements) fail(file + ": tensor '" + name + "' has more elements than any model holds");
      e.shape.push_back(static_cast<int64_t>(dim));
      numel *= dim;
    }
    const uint64_t begin = whole_count(offsets->items()[0], static_cast<double>(file_size), file, name, "data offset");
    const uint64_t end = whole_count(offsets->items()[1], static_cast<double>(file_size), file, name, "data offset");
    e.offset = data_start + begin;
    e.bytes = end - begin;
    if (end < begin || e.bytes != numel * dtype_bytes(e.dtype) || e.offset + e.bytes > file_size)
      fail(file + ": tensor '" + name + "' data offsets do not match its shape and dtype");
    out[name] = e;
  }
}

}  // namespace

const char* dtype_name(DType t) {
  switch (t) {
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
    case DType::F32: return "F32";
    case DType::F8_E4M3: return "F8_E4M3";
  }
  return "?";
}

SafetensorsIndex SafetensorsIndex::open(const std::string& path) {
  namespace fs = std::filesystem;
  SafetensorsIndex index;
  if (fs::is_directory(path)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
    if (files.empty()) fail("no .safetensors files in '" + path + "'");
    std::sort(files.begin(), files.end());
    for (const auto& f : files) index_file(f, index.tensors_);
  } else {
    index_file(path, index.tensors_);
  }
  return index;
}

const TensorEntry* SafetensorsIndex::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<uint8_t> SafetensorsIndex::read_bytes(const std::string& name) const {
  const TensorEntry* e = find(name);
  if (!e) fail("weights: missing tensor '" + name + "'");
  std::ifstream in(e->file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(e->offset));
  std::vector<uint8_t> raw(e->bytes);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(e->bytes));
  if (!in) fail(e->file + ": short read of tensor '" + name + "'");
  return raw;
}

std::vector<float> SafetensorsIndex::read_float(const std::string& name) const {
  const std::vector<uint8_t> raw = read_bytes(name);
  const TensorEntry* e = find(name);
  const size_t n = e->bytes / dtype_bytes(e->dtype);
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (e->dtype == DType::F8_E4M3) {
      out[i] = e4m3_to_float(raw[i]);
    } else if (e->dtype == DType::F32) {
      memcpy(&out[i], raw.data() + 4 * i, 4);
    } else {
      uint16_t h;
      memcpy(&h, raw.data() + 2 * i, 2);
      out[i] = e->dtype == DType::BF16 ? bf16_bits_to_float(h) : fp16_bits_to_float(h);
    }
  }
  return out;
}

}  // namespace aidc
