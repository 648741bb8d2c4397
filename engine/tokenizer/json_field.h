#pragma once
// A JSON value with its place in its file, so every complaint about tokenizer.json names file and field:
// "…/tokenizer.json: model.merges[12]: expected a string \"a b\" or a pair [a, b]".
#include <cmath>
#include <optional>
#include <string>

#include "common/error.h"
#include "core/model/json.hpp"

namespace aidc {

class JsonField {
 public:
  JsonField(const Json& value, std::string file, std::string path)
      : value_(&value), file_(std::move(file)), path_(std::move(path)) {}

  const Json& value() const { return *value_; }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail_here(const std::string& what) const {
    fail(file_ + ": " + (path_.empty() ? std::string("top level") : path_) + ": " + what);
  }

  // The member `key`, or nullopt when absent or null.
  std::optional<JsonField> find(const std::string& key) const {
    if (!value_->is_object()) fail_here("expected an object");
    const Json* member = value_->find(key);
    if (!member || member->is_null()) return std::nullopt;
    return JsonField(*member, file_, path_.empty() ? key : path_ + "." + key);
  }
  JsonField at(const std::string& key) const {
    auto member = find(key);
    if (!member) fail_here("missing field '" + key + "'");
    return *member;
  }
  size_t size() const {
    if (!value_->is_array()) fail_here("expected an array");
    return value_->items().size();
  }
  JsonField at(size_t index) const {
    if (index >= size()) fail_here("index " + std::to_string(index) + " out of range");
    return JsonField(value_->items()[index], file_, path_ + "[" + std::to_string(index) + "]");
  }

  const std::string& string() const {
    if (!value_->is_string()) fail_here("expected a string");
    return value_->as_string();
  }
  bool boolean() const {
    if (value_->kind() != Json::Kind::Bool) fail_here("expected true or false");
    return value_->as_bool();
  }
  int integer() const {
    const double d = value_->as_number();
    if (!value_->is_number() || d != std::floor(d) || d < 0 || d > 2147483647.0)
      fail_here("expected a non-negative integer");
    return static_cast<int>(d);
  }
  // The boolean member `key`, `fallback` when absent or null (tokenizers' serde defaults).
  bool boolean_or(const std::string& key, bool fallback) const {
    auto member = find(key);
    return member ? member->boolean() : fallback;
  }

 private:
  const Json* value_;
  std::string file_, path_;
};

}  // namespace aidc
