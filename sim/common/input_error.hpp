#pragma once
// Errors in user input (scenario files, catalogs, traces, --set overrides), reported as
// FILE:LINE:COL: error: key.path: message, and turned into exit code 2 by the CLI.
#include <stdexcept>
#include <string>
#include <vector>

namespace aidc {

struct SourceLocation {
  std::string file;  // empty for values that come from nowhere in particular (defaults)
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
};

struct InputError {
  SourceLocation where;
  std::string key_path;  // e.g. deployment.tensor_parallel
  std::string message;   // what was expected
  std::string to_string() const;
};

// Thrown once validation has gathered every problem it could find.
class InputErrors : public std::runtime_error {
 public:
  explicit InputErrors(std::vector<InputError> errors);
  const std::vector<InputError>& errors() const { return errors_; }

 private:
  std::vector<InputError> errors_;
};

// Collects errors so a user sees all of them in one run instead of one per attempt.
class ErrorList {
 public:
  void add(SourceLocation where, std::string key_path, std::string message);
  bool empty() const { return errors_.empty(); }
  const std::vector<InputError>& errors() const { return errors_; }
  void throw_if_any() const;  // throws InputErrors

 private:
  std::vector<InputError> errors_;
};

[[noreturn]] void throw_input_error(SourceLocation where, std::string key_path, std::string message);

}  // namespace aidc
