#pragma once
// Errors a user can fix (a bad config.json, a malformed calibration profile, a missing tensor): the
// engine's CLI prints them and exits 2; the simulator turns FileErrors into its own input errors.
// Anything else thrown is a bug.
#include <stdexcept>
#include <string>
#include <vector>

namespace aidc {

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& message) { throw UserError(message); }

inline void require(bool ok, const std::string& message) {
  if (!ok) fail(message);
}

// FILE:LINE:COL: error: KEY: MESSAGE, the form of every input error (line and column left out when
// unknown, the key when empty); the simulator's input errors print through it too.
inline std::string located_error(const std::string& file, int line, int column, const std::string& key,
                                 const std::string& message) {
  std::string text = file;
  if (line > 0) {
    text += ':';
    text += std::to_string(line);
    text += ':';
    text += std::to_string(column);
  }
  text += ": error: ";
  if (!key.empty()) {
    text += key;
    text += ": ";
  }
  text += message;
  return text;
}

// One problem at a place in a file: line and column are 1-based, 0 when unknown.
struct FileProblem {
  int line = 0, column = 0;
  std::string key;      // dotted path of the field, e.g. operators.linear.ops[0].time_us
  std::string message;  // what was expected
};

// Every problem found in one file, one located_error line each.
class FileErrors : public UserError {
 public:
  FileErrors(std::string file, std::vector<FileProblem> problems)
      : UserError(describe(file, problems)), file_(std::move(file)), problems_(std::move(problems)) {}
  const std::string& file() const { return file_; }
  const std::vector<FileProblem>& problems() const { return problems_; }

 private:
  static std::string describe(const std::string& file, const std::vector<FileProblem>& problems) {
    std::string text;
    for (const FileProblem& p : problems) {
      if (!text.empty()) text += '\n';
      text += located_error(file, p.line, p.column, p.key, p.message);
    }
    return text;
  }
  std::string file_;
  std::vector<FileProblem> problems_;
};

}  // namespace aidc
