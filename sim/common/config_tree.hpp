#pragma once
// A YAML document as a tree that remembers where each value came from (file, line, column),
// so that `extends:` merges and `--set` overrides still point errors at the right place.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/input_error.hpp"

namespace aidc {

class ConfigNode {
 public:
  enum class Kind { Null, Scalar, Map, Sequence };
  struct Entry;

  ConfigNode() = default;
  static ConfigNode scalar(std::string value, SourceLocation where);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_scalar() const { return kind_ == Kind::Scalar; }
  bool is_map() const { return kind_ == Kind::Map; }
  bool is_sequence() const { return kind_ == Kind::Sequence; }
  const std::string& text() const { return scalar_; }
  const SourceLocation& where() const { return where_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::vector<ConfigNode>& items() const { return items_; }

  const ConfigNode* find(std::string_view key) const;
  const Entry* find_entry(std::string_view key) const;
  // Returns the child, creating an empty map there (replacing a scalar) when needed.
  ConfigNode& child_map(std::string_view key, const SourceLocation& where);
  void set(std::string_view key, ConfigNode value, SourceLocation key_where);
  void erase(std::string_view key);

  friend class YamlConverter;

 private:
  Kind kind_ = Kind::Null;
  std::string scalar_;
  std::vector<Entry> entries_;  // insertion order is kept so saved files read like the input
  std::vector<ConfigNode> items_;
  SourceLocation where_;
};

struct ConfigNode::Entry {
  std::string key;
  SourceLocation key_where;
  ConfigNode value;
};

// The most values a document may expand to (aliases included): a bound on memory and time far above
// any scenario, which holds a few hundred.
inline constexpr std::size_t kMaxConfigNodes = 100000;

// Parses a YAML file or text; a syntax error, text that is not UTF-8, or a document over
// kMaxConfigNodes becomes an InputErrors with the position.
ConfigNode load_yaml_file(const std::string& path);
ConfigNode parse_yaml_text(const std::string& text, const std::string& source_name);

// Overlays `overlay` on `base`: maps merge key by key, anything else replaces.
void merge_config(ConfigNode& base, const ConfigNode& overlay);

// Applies `key.path=value` (value parsed as YAML) at a dotted path.
void apply_override(ConfigNode& root, const std::string& assignment);

// Sets a scalar at a dotted path, keeping the source location of what it replaces.
void set_scalar(ConfigNode& root, const std::string& dotted_path, const std::string& value);

std::string to_yaml(const ConfigNode& node);

}  // namespace aidc
