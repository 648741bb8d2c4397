#include "catalog/catalog.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/field_reader.hpp"
#include "core/common/error.hpp"

namespace aidc {

std::string ServerSpec::refusal(const GpuSpec& gpu) const {
  if (std::find(gpu_form_factors.begin(), gpu_form_factors.end(), gpu.form_factor) == gpu_form_factors.end())
    return "a " + gpu.form_factor + " GPU does not fit server type '" + id + "'";
  if (gpus.empty() || std::find(gpus.begin(), gpus.end(), gpu.id) != gpus.end()) return "";
  std::string taken;
  for (const std::string& g : gpus) taken += (taken.empty() ? "" : ", ") + g;
  return "server type '" + id + "' takes " + taken + ", not " + gpu.id + " (its baseboard's parts, scenarios/catalog/servers.yaml)";
}

namespace {

GpuSpec read_gpu(const std::string& id, FieldReader r) {
  GpuSpec g;
  g.id = id;
  g.name = r.text("name", id);
  g.device_names = r.strings("device_names");
  g.vendor = r.text("vendor", "");
  g.form_factor = r.choice("form_factor", "sxm", {"sxm", "pcie", "oam"});
  g.memory_gb = r.number("memory_gb", 0, 1);
  g.memory_bandwidth_gb_s = r.number("memory_bandwidth_gb_s", 0, 1);
  g.bf16_tflops = r.number("bf16_tflops", 0, 0.1);
  g.fp8_tflops = r.optional_number("fp8_tflops", 0.1);
  g.int8_tops = r.optional_number("int8_tops", 0.1);
  g.tdp_w = r.number("tdp_w", 0, 1);
  g.idle_w = r.number("idle_w", 0, 0);
  g.price_usd = r.number("price_usd", 0, 0);
  auto link = r.section("interconnect");
  g.interconnect_kind = link.text("kind", "pcie4");
  g.interconnect_gb_s = link.number("bandwidth_gb_s", 32, 1);
  link.finish();
  auto efficiency = r.section("efficiency");
  g.compute_efficiency = efficiency.number("compute", 0.7, 0.05, 1.0);
  g.memory_efficiency = efficiency.number("memory", 0.8, 0.05, 1.0);
  g.attention_efficiency = efficiency.number("attention", g.compute_efficiency, 0.05, 1.0);
  // Unmeasured parts: the ratios this project measured on H100 and H200 between the linear layers of a
  // real step and the microbenchmarks (scenarios/catalog/gpus.yaml, H100-SXM / H200-SXM sources):
  // large GEMMs of the model's shapes reach 0.72 of the 4096^3 GEMM, decode GEMVs 0.78 of the copy rate.
  constexpr double kLinearOfGemm = 0.72, kWeightReadOfCopy = 0.78;
  g.linear_bf16_efficiency = efficiency.number("linear_bf16", kLinearOfGemm * g.compute_efficiency, 0.05, 1.0);
  // No measurement of fp8 or int8 GEMMs in a serving step: the same fraction of their own peak as bf16.
  g.linear_fp8_efficiency = efficiency.number("linear_fp8", g.linear_bf16_efficiency, 0.05, 1.0);
  g.linear_int8_efficiency = efficiency.number("linear_int8", g.linear_bf16_efficiency, 0.05, 1.0);
  g.weight_read_efficiency = efficiency.number("weight_read", kWeightReadOfCopy * g.memory_efficiency, 0.05, 1.0);
  efficiency.finish();
  r.section("sources");  // documentation only
  r.finish();
  return g;
}

ServerSpec read_server(const std::string& id, FieldReader r, const std::map<std::string, GpuSpec>& gpus) {
  ServerSpec s;
  s.id = id;
  s.description = r.text("description", "");
  s.gpus_per_server = static_cast<int>(r.integer("gpus_per_server", 8, 1, 64));
  s.gpu_form_factors = r.strings("gpu_form_factors");
  s.gpus = r.strings("gpus");
  for (const std::string& g : s.gpus) {
    const auto gpu = gpus.find(g);
    if (gpu == gpus.end())
      r.error("gpus", "unknown GPU '" + g + "': expected an id of gpus.yaml");
    else if (std::find(s.gpu_form_factors.begin(), s.gpu_form_factors.end(), gpu->second.form_factor) == s.gpu_form_factors.end())
      r.error("gpus", g + " is a " + gpu->second.form_factor + " part, a form factor gpu_form_factors does not list");
  }
  s.gpu_link_native = r.choice("gpu_link", "native", {"native", "pcie"}) == "native";
  s.pcie_gb_s = r.number("pcie_gb_s", 32, 1);
  s.nics = static_cast<int>(r.integer("nics", 1, 0));
  s.rack_units = static_cast<int>(r.integer("rack_units", 4, 1));
  s.max_power_w = r.number("max_power_w", 0, 0);
  s.price_usd = r.number("price_usd", 0, 0);
  auto p = r.section("host_power");
  s.host_power.cpu_sockets = static_cast<int>(p.integer("cpu_sockets", 2, 0));
  s.host_power.cpu_idle_w = p.number("cpu_idle_w", 0, 0);
  s.host_power.cpu_max_w = p.number("cpu_max_w", 0, 0);
  s.host_power.memory_w = p.number("memory_w", 0, 0);
  s.host_power.nic_w = p.number("nic_w", 0, 0);
  s.host_power.nvme_drives = static_cast<int>(p.integer("nvme_drives", 0, 0));
  s.host_power.nvme_w = p.number("nvme_w", 0, 0);
  s.host_power.fans_idle_w = p.number("fans_idle_w", 0, 0);
  s.host_power.fans_max_w = p.number("fans_max_w", 0, 0);
  p.finish();
  r.section("sources");
  r.finish();
  return s;
}

template <typename Spec, typename ReadFn>
std::map<std::string, Spec> read_entries(const std::string& path, const char* top_key, ReadFn read) {
  const ConfigNode root = load_yaml_file(path);
  ErrorList errors;
  std::map<std::string, Spec> out;
  FieldReader top(&root, "", errors);
  FieldReader list = top.section(top_key);
  if (!list.node()) errors.add({path, 1, 1}, top_key, "missing: expected a mapping of entries keyed by id");
  for (const auto& entry : list.node() ? list.node()->entries() : std::vector<ConfigNode::Entry>{})
    out.emplace(entry.key, read(entry.key, FieldReader(&entry.value, std::string(top_key) + "." + entry.key, errors)));
  top.finish();
  errors.throw_if_any();
  return out;
}

}  // namespace

Catalog Catalog::load(const std::string& dir) {
  Catalog c;
  c.dir_ = dir;
  const std::string catalog_dir = dir + "/catalog";
  c.gpus_ = read_entries<GpuSpec>(catalog_dir + "/gpus.yaml", "gpus", read_gpu);
  c.servers_ = read_entries<ServerSpec>(catalog_dir + "/servers.yaml", "servers",
                                        [&c](const std::string& id, FieldReader r) { return read_server(id, std::move(r), c.gpus_); });
  for (const auto& file : std::filesystem::directory_iterator(catalog_dir + "/models"))
    if (file.path().extension() == ".json") c.model_files_[file.path().stem().string()] = file.path().string();
  return c;
}

const GpuSpec* Catalog::gpu(const std::string& id) const {
  auto it = gpus_.find(id);
  return it == gpus_.end() ? nullptr : &it->second;
}

const ServerSpec* Catalog::server(const std::string& id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : &it->second;
}

const ModelConfig* Catalog::model(const std::string& id) const {
  if (auto it = models_.find(id); it != models_.end()) return &it->second;
  auto file = model_files_.find(id);
  if (file == model_files_.end()) return nullptr;
  // core's reader names the file and the field; here that becomes an input error (exit 2).
  try {
    return &models_.emplace(id, load_model_config(file->second)).first->second;
  } catch (const UserError& e) {
    throw_input_error({file->second, 0, 0}, "", e.what());
  }
}

template <typename Map>
static std::vector<std::string> keys_of(const Map& map) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : map) keys.push_back(key);
  return keys;
}

std::vector<std::string> Catalog::gpu_ids() const { return keys_of(gpus_); }
std::vector<std::string> Catalog::server_ids() const { return keys_of(servers_); }
std::vector<std::string> Catalog::model_ids() const { return keys_of(model_files_); }

}  // namespace aidc
