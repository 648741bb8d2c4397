#include "catalog/catalog.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/field_reader.hpp"
#include "common/error.h"
#include "model/config.h"

namespace aidc {

bool ServerSpec::accepts(const GpuSpec& gpu) const {
  return std::find(gpu_form_factors.begin(), gpu_form_factors.end(), gpu.form_factor) != gpu_form_factors.end();
}

double ModelSpec::attention_params_per_layer() const {
  if (attention == AttentionKind::MultiLatent) {
    const double q_head = qk_nope_dim + qk_rope_dim;
    const double q = q_lora_rank > 0 ? 1.0 * hidden * q_lora_rank + 1.0 * q_lora_rank * heads * q_head
                                     : 1.0 * hidden * heads * q_head;
    const double kv_down = 1.0 * hidden * (kv_lora_rank + qk_rope_dim);
    const double kv_up = 1.0 * kv_lora_rank * heads * (qk_nope_dim + v_head_dim);
    const double out = 1.0 * heads * v_head_dim * hidden;
    return q + kv_down + kv_up + out;
  }
  const double q_and_o = 2.0 * hidden * heads * head_dim;
  const double k_and_v = 2.0 * hidden * kv_heads * head_dim;
  return q_and_o + k_and_v + (qkv_bias ? (heads + 2.0 * kv_heads) * head_dim : 0.0);
}

double ModelSpec::total_params() const {
  const double moe_mlp = (routed_experts + shared_experts) * expert_params() + 1.0 * hidden * routed_experts;
  return embedding_params() + layers * attention_params_per_layer() + dense_layers() * dense_mlp_params_per_layer() +
         moe_layers() * moe_mlp;
}

double ModelSpec::active_params() const {
  const double moe_mlp = (experts_per_token + shared_experts) * expert_params() + 1.0 * hidden * routed_experts;
  return embedding_params() + layers * attention_params_per_layer() + dense_layers() * dense_mlp_params_per_layer() +
         moe_layers() * moe_mlp;
}

double ModelSpec::kv_values_per_token_per_layer() const {
  if (attention == AttentionKind::MultiLatent) return kv_lora_rank + qk_rope_dim;
  return 2.0 * kv_heads * head_dim;
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
  efficiency.finish();
  r.section("sources");  // documentation only
  r.finish();
  return g;
}

ServerSpec read_server(const std::string& id, FieldReader r) {
  ServerSpec s;
  s.id = id;
  s.description = r.text("description", "");
  s.gpus_per_server = static_cast<int>(r.integer("gpus_per_server", 8, 1, 64));
  s.gpu_form_factors = r.strings("gpu_form_factors");
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
  c.servers_ = read_entries<ServerSpec>(catalog_dir + "/servers.yaml", "servers", read_server);
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

const ModelSpec* Catalog::model(const std::string& id) const {
  if (auto it = models_.find(id); it != models_.end()) return &it->second;
  auto file = model_files_.find(id);
  if (file == model_files_.end()) return nullptr;
  return &models_.emplace(id, load_model_config(file->second, id)).first->second;
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

// The engine's reader (engine/model/config.h) parses the file, so engine and simulator agree on every
// model; its messages already name the file and field, and become input errors here.
ModelSpec load_model_config(const std::string& path, const std::string& id) {
  ModelConfig c;
  try {
    c = load_model_config(path);
  } catch (const EngineError& e) {
    throw_input_error({path, 0, 0}, "", e.what());
  }
  ModelSpec m;
  m.id = id;
  m.architecture = c.arch == Arch::Llama    ? "llama"
                   : c.arch == Arch::Qwen2  ? "qwen2"
                   : c.arch == Arch::DeepseekMoE ? "deepseek"
                   : c.arch == Arch::DeepseekV2  ? "deepseek_v2"
                                                 : "deepseek_v3";
  m.hidden = c.hidden;
  m.layers = c.layers;
  m.heads = c.heads;
  m.kv_heads = c.kv_heads;
  m.head_dim = c.head_dim;
  m.intermediate = c.intermediate;
  m.vocab = c.vocab;
  m.max_context = c.max_position;
  m.tied_embeddings = c.tie_embeddings;
  m.qkv_bias = c.qkv_bias;
  m.routed_experts = c.moe.n_routed_experts;
  m.shared_experts = c.moe.n_shared_experts;
  m.experts_per_token = c.moe.experts_per_token;
  m.expert_intermediate = c.moe.expert_intermediate;
  m.moe_layer_count = c.moe_layer_count();
  if (c.mla.enabled) {
    m.attention = AttentionKind::MultiLatent;
    m.q_lora_rank = c.mla.q_lora_rank;
    m.kv_lora_rank = c.mla.kv_lora_rank;
    m.qk_nope_dim = c.mla.qk_nope_dim;
    m.qk_rope_dim = c.mla.qk_rope_dim;
    m.v_head_dim = c.mla.v_dim;
  }
  return m;
}

}  // namespace aidc
