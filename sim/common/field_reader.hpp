#pragma once
// Typed, validated access to one mapping of a ConfigNode. Every key read is remembered, so
// `finish()` can report the keys nobody asked for (typos) with a did-you-mean suggestion.
// Problems go to an ErrorList and a fallback is returned, so one run reports every error.
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_tree.hpp"

namespace aidc {

class FieldReader {
 public:
  FieldReader(const ConfigNode* node, std::string path, ErrorList& errors);

  bool has(std::string_view key) const;
  double number(std::string_view key, double fallback, double min = -std::numeric_limits<double>::infinity(),
                double max = std::numeric_limits<double>::infinity());
  std::optional<double> optional_number(std::string_view key, double min = -std::numeric_limits<double>::infinity(),
                                        double max = std::numeric_limits<double>::infinity());
  long long integer(std::string_view key, long long fallback, long long min = std::numeric_limits<long long>::min(),
                    long long max = std::numeric_limits<long long>::max());
  bool flag(std::string_view key, bool fallback);
  std::string text(std::string_view key, std::string fallback);
  std::string choice(std::string_view key, std::string fallback, const std::vector<std::string>& options);
  std::vector<double> numbers(std::string_view key);
  std::vector<std::string> strings(std::string_view key);
  // A nested mapping; reading an absent section yields an empty reader (all defaults).
  FieldReader section(std::string_view key);

  // Records that `key` is understood, for values read directly from node().
  void mark_known(std::string_view key) { known_.emplace(key); }
  // Reports unknown keys. Call once every key has been read.
  void finish();

  // An error about `key` in this mapping, located at the key's value when present.
  void error(std::string_view key, std::string message);
  // An error inside the file `key` names (a trace, lengths, weather CSV, a calibration profile), at
  // `where` in that file; one with no line there (the file cannot be opened, or is not such a file) is
  // located at the key instead, naming the file. `key_path` empty: the key's own path.
  void error_in_file(std::string_view key, const SourceLocation& where, const std::string& key_path, const std::string& message);
  SourceLocation where(std::string_view key) const;
  std::string path_of(std::string_view key) const;
  const ConfigNode* node() const { return node_; }
  ErrorList& errors() { return errors_; }

 private:
  const ConfigNode* scalar_or_error(std::string_view key, const char* expected);

  const ConfigNode* node_;
  std::string path_;
  ErrorList& errors_;
  std::set<std::string, std::less<>> known_;
};

// Edit distance, for did-you-mean suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace aidc
