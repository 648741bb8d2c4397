#include "common/field_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace aidc {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

static std::string quoted_list(const std::vector<std::string>& options) {
  std::string out;
  for (const auto& o : options) out += (out.empty() ? "" : ", ") + o;
  return out;
}

static std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

FieldReader::FieldReader(const ConfigNode* node, std::string path, ErrorList& errors)
    : node_(node), path_(std::move(path)), errors_(errors) {
  if (node_ && !node_->is_map() && !node_->is_null()) {
    errors_.add(node_->where(), path_, "expected a mapping of keys");
    node_ = nullptr;
  }
}

std::string FieldReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

SourceLocation FieldReader::where(std::string_view key) const {
  if (node_) {
    if (const auto* entry = node_->find_entry(key)) return entry->value.where();
    return node_->where();
  }
  return {};
}

void FieldReader::error(std::string_view key, std::string message) {
  errors_.add(where(key), path_of(key), std::move(message));
}

void FieldReader::error_in_file(std::string_view key, const SourceLocation& in_file, const std::string& key_path,
                                const std::string& message) {
  const std::string path = key_path.empty() ? path_of(key) : key_path;
  if (in_file.line > 0)
    errors_.add(in_file, path, message);
  else
    errors_.add(where(key), path, in_file.file + ": " + message);
}

bool FieldReader::has(std::string_view key) const {
  const ConfigNode* value = node_ ? node_->find(key) : nullptr;
  return value && !value->is_null();
}

const ConfigNode* FieldReader::scalar_or_error(std::string_view key, const char* expected) {
  known_.emplace(key);
  if (!has(key)) return nullptr;
  const ConfigNode* value = node_->find(key);
  if (!value->is_scalar()) {
    error(key, std::string("expected ") + expected);
    return nullptr;
  }
  return value;
}

static std::optional<double> parse_double(const std::string& text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (!text.empty() && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<double> FieldReader::optional_number(std::string_view key, double min, double max) {
  const ConfigNode* value = scalar_or_error(key, "a number");
  if (!value) return std::nullopt;
  const auto parsed = parse_double(value->text());
  if (!parsed) {
    error(key, "expected a number, got '" + value->text() + "'");
    return std::nullopt;
  }
  if (*parsed < min || *parsed > max) {
    std::string range = "expected a number";
    if (std::isfinite(min) && std::isfinite(max))
      range += " in [" + format_number(min) + ", " + format_number(max) + "]";
    else if (std::isfinite(min))
      range += " >= " + format_number(min);
    else
      range += " <= " + format_number(max);
    error(key, range + ", got " + value->text());
    return std::nullopt;
  }
  return parsed;
}

double FieldReader::number(std::string_view key, double fallback, double min, double max) {
  return optional_number(key, min, max).value_or(fallback);
}

long long FieldReader::integer(std::string_view key, long long fallback, long long min, long long max) {
  const ConfigNode* value = scalar_or_error(key, "an integer");
  if (!value) return fallback;
  long long parsed = 0;
  const std::string& text = value->text();
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    error(key, "expected an integer, got '" + text + "'");
    return fallback;
  }
  if (parsed < min || parsed > max) {
    std::string range = "expected an integer";
    if (min != std::numeric_limits<long long>::min() && max != std::numeric_limits<long long>::max())
      range += " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    else if (min != std::numeric_limits<long long>::min())
      range += " >= " + std::to_string(min);
    else
      range += " <= " + std::to_string(max);
    error(key, range + ", got " + text);
    return fallback;
  }
  return parsed;
}

bool FieldReader::flag(std::string_view key, bool fallback) {
  const ConfigNode* value = scalar_or_error(key, "true or false");
  if (!value) return fallback;
  const std::string& t = value->text();
  if (t == "true" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "no" || t == "off") return false;
  error(key, "expected true or false, got '" + t + "'");
  return fallback;
}

std::string FieldReader::text(std::string_view key, std::string fallback) {
  const ConfigNode* value = scalar_or_error(key, "a string");
  return value ? value->text() : fallback;
}

std::string FieldReader::choice(std::string_view key, std::string fallback, const std::vector<std::string>& options) {
  const ConfigNode* value = scalar_or_error(key, "a string");
  if (!value) return fallback;
  if (std::find(options.begin(), options.end(), value->text()) != options.end()) return value->text();
  std::string message = "expected one of " + quoted_list(options) + ", got '" + value->text() + "'";
  const std::string suggestion = closest_match(value->text(), options);
  if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
  error(key, message);
  return fallback;
}

std::vector<double> FieldReader::numbers(std::string_view key) {
  known_.emplace(key);
  std::vector<double> out;
  if (!has(key)) return out;
  const ConfigNode* value = node_->find(key);
  if (!value->is_sequence()) {
    error(key, "expected a list of numbers");
    return out;
  }
  for (const auto& item : value->items()) {
    const auto parsed = item.is_scalar() ? parse_double(item.text()) : std::nullopt;
    if (!parsed) {
      errors_.add(item.where(), path_of(key), "expected a number in the list");
      continue;
    }
    out.push_back(*parsed);
  }
  return out;
}

std::vector<std::string> FieldReader::strings(std::string_view key) {
  known_.emplace(key);
  std::vector<std::string> out;
  if (!has(key)) return out;
  const ConfigNode* value = node_->find(key);
  if (!value->is_sequence()) {
    error(key, "expected a list of strings");
    return out;
  }
  for (const auto& item : value->items()) {
    if (item.is_scalar())
      out.push_back(item.text());
    else
      errors_.add(item.where(), path_of(key), "expected a string in the list");
  }
  return out;
}

FieldReader FieldReader::section(std::string_view key) {
  known_.emplace(key);
  return FieldReader(has(key) ? node_->find(key) : nullptr, path_of(key), errors_);
}

void FieldReader::finish() {
  if (!node_) return;
  std::vector<std::string> known(known_.begin(), known_.end());
  for (const auto& entry : node_->entries()) {
    if (known_.count(entry.key)) continue;
    std::string message = "unknown key";
    const std::string suggestion = closest_match(entry.key, known);
    if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
    errors_.add(entry.key_where, path_of(entry.key), message);
  }
}

}  // namespace aidc
