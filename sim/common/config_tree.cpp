#include "common/config_tree.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/common/utf8.hpp"

namespace aidc {

ConfigNode ConfigNode::scalar(std::string value, SourceLocation where) {
  ConfigNode node;
  node.kind_ = Kind::Scalar;
  node.scalar_ = std::move(value);
  node.where_ = std::move(where);
  return node;
}

const ConfigNode::Entry* ConfigNode::find_entry(std::string_view key) const {
  for (const auto& entry : entries_)
    if (entry.key == key) return &entry;
  return nullptr;
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  const Entry* entry = find_entry(key);
  return entry ? &entry->value : nullptr;
}

ConfigNode& ConfigNode::child_map(std::string_view key, const SourceLocation& where) {
  for (auto& entry : entries_)
    if (entry.key == key) {
      if (!entry.value.is_map()) {
        entry.value = ConfigNode();
        entry.value.kind_ = Kind::Map;
        entry.value.where_ = where;
      }
      return entry.value;
    }
  ConfigNode map;
  map.kind_ = Kind::Map;
  map.where_ = where;
  entries_.push_back({std::string(key), where, std::move(map)});
  return entries_.back().value;
}

void ConfigNode::set(std::string_view key, ConfigNode value, SourceLocation key_where) {
  if (kind_ != Kind::Map) {
    *this = ConfigNode();
    kind_ = Kind::Map;
  }
  for (auto& entry : entries_)
    if (entry.key == key) {
      entry.value = std::move(value);
      entry.key_where = std::move(key_where);
      return;
    }
  entries_.push_back({std::string(key), std::move(key_where), std::move(value)});
}

void ConfigNode::erase(std::string_view key) {
  std::erase_if(entries_, [&](const Entry& e) { return e.key == key; });
}

class YamlConverter {
 public:
  explicit YamlConverter(std::string file) : file_(std::move(file)) {}

  ConfigNode convert(const YAML::Node& yaml) {
    // An alias repeats the node it names, so a few lines of nested aliases expand exponentially.
    if (++nodes_ > kMaxConfigNodes)
      throw_input_error(location(yaml.Mark()), "",
                        "the document expands to more than " + std::to_string(kMaxConfigNodes) +
                            " values (YAML aliases repeat what they name); refused");
    ConfigNode node;
    node.where_ = location(yaml.Mark());
    switch (yaml.Type()) {
      case YAML::NodeType::Scalar:
        node.kind_ = ConfigNode::Kind::Scalar;
        node.scalar_ = yaml.Scalar();
        break;
      case YAML::NodeType::Sequence:
        node.kind_ = ConfigNode::Kind::Sequence;
        for (const auto& item : yaml) node.items_.push_back(convert(item));
        break;
      case YAML::NodeType::Map:
        node.kind_ = ConfigNode::Kind::Map;
        for (const auto& kv : yaml) {
          const std::string key = kv.first.Scalar();
          if (node.find(key))
            throw_input_error(location(kv.first.Mark()), key, "key appears twice in the same mapping");
          node.entries_.push_back({key, location(kv.first.Mark()), convert(kv.second)});
        }
        break;
      default:
        break;
    }
    return node;
  }

  SourceLocation location(const YAML::Mark& mark) const {
    if (mark.is_null()) return {file_, 0, 0};
    return {file_, mark.line + 1, mark.column + 1};
  }

 private:
  std::string file_;
  std::size_t nodes_ = 0;
};

namespace {

// 1-based line and column of byte `offset` of `text` (columns count bytes, as yaml-cpp's do).
SourceLocation location_of(const std::string& text, std::size_t offset, const std::string& file) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') line += 1, column = 1;
    else column += 1;
  }
  return {file, line, column};
}

}  // namespace

ConfigNode parse_yaml_text(const std::string& text, const std::string& source_name) {
  if (const auto bad = first_invalid_utf8(text))
    throw_input_error(location_of(text, *bad, source_name), "", "not UTF-8 text: save the file as UTF-8");
  YamlConverter converter(source_name);
  try {
    return converter.convert(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw_input_error(converter.location(e.mark), "", "invalid YAML: " + e.msg);
  }
}

ConfigNode load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_input_error({path, 0, 0}, "", "cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_yaml_text(buffer.str(), path);
}

void merge_config(ConfigNode& base, const ConfigNode& overlay) {
  if (!base.is_map() || !overlay.is_map()) {
    base = overlay;
    return;
  }
  for (const auto& entry : overlay.entries()) {
    const ConfigNode* existing = base.find(entry.key);
    if (existing && existing->is_map() && entry.value.is_map()) {
      ConfigNode merged = *existing;
      merge_config(merged, entry.value);
      base.set(entry.key, std::move(merged), entry.key_where);
    } else {
      base.set(entry.key, entry.value, entry.key_where);
    }
  }
}

void apply_override(ConfigNode& root, const std::string& assignment) {
  // The override is its own one-line source: errors point at the column of `key.path=value` at fault.
  const SourceLocation where{"--set " + assignment, 1, 1};
  const auto at_column = [&](std::string::size_type index) {
    return SourceLocation{where.file, 1, static_cast<int>(index) + 1};
  };
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw_input_error(at_column(eq == std::string::npos ? assignment.size() : 0), "", "expected key.path=value");
  const std::string path = assignment.substr(0, eq);
  if (eq + 1 == assignment.size())
    throw_input_error(at_column(eq + 1), path, "expected a value after '=' (use null to clear a key)");
  ConfigNode value = parse_yaml_text(assignment.substr(eq + 1), where.file);
  ConfigNode* node = &root;
  std::string::size_type start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw_input_error(at_column(start), path, "empty key in the dotted path");
    if (dot == std::string::npos) {
      node->set(key, std::move(value), where);
      return;
    }
    node = &node->child_map(key, where);
    start = dot + 1;
  }
}

static void emit(YAML::Emitter& out, const ConfigNode& node) {
  switch (node.kind()) {
    case ConfigNode::Kind::Null:
      out << YAML::Null;
      break;
    case ConfigNode::Kind::Scalar:
      out << node.text();
      break;
    case ConfigNode::Kind::Sequence:
      out << YAML::BeginSeq;
      for (const auto& item : node.items()) emit(out, item);
      out << YAML::EndSeq;
      break;
    case ConfigNode::Kind::Map:
      out << YAML::BeginMap;
      for (const auto& entry : node.entries()) {
        out << YAML::Key << entry.key << YAML::Value;
        emit(out, entry.value);
      }
      out << YAML::EndMap;
      break;
  }
}

void set_scalar(ConfigNode& root, const std::string& dotted_path, const std::string& value) {
  ConfigNode* node = &root;
  std::string::size_type start = 0;
  while (true) {
    const auto dot = dotted_path.find('.', start);
    const std::string key = dotted_path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      const ConfigNode::Entry* entry = node->find_entry(key);
      const SourceLocation where = entry ? entry->value.where() : SourceLocation{};
      node->set(key, ConfigNode::scalar(value, where), entry ? entry->key_where : where);
      return;
    }
    node = &node->child_map(key, node->where());
    start = dot + 1;
  }
}

std::string to_yaml(const ConfigNode& node) {
  YAML::Emitter out;
  emit(out, node);
  return std::string(out.c_str()) + "\n";
}

}  // namespace aidc
