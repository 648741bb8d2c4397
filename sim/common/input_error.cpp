#include "common/input_error.hpp"

#include "core/common/error.hpp"

namespace aidc {

std::string InputError::to_string() const {
  return located_error(where.file.empty() ? std::string("<input>") : where.file, where.line, where.column, key_path, message);
}

static std::string join_messages(const std::vector<InputError>& errors) {
  std::string all;
  for (const auto& e : errors) {
    if (!all.empty()) all += '\n';
    all += e.to_string();
  }
  return all;
}

InputErrors::InputErrors(std::vector<InputError> errors)
    : std::runtime_error(join_messages(errors)), errors_(std::move(errors)) {}

void ErrorList::add(SourceLocation where, std::string key_path, std::string message) {
  errors_.push_back({std::move(where), std::move(key_path), std::move(message)});
}

void ErrorList::throw_if_any() const {
  if (!errors_.empty()) throw InputErrors(errors_);
}

void throw_input_error(SourceLocation where, std::string key_path, std::string message) {
  throw InputErrors({InputError{std::move(where), std::move(key_path), std::move(message)}});
}

}  // namespace aidc
