#include "profiler/report.h"

#include <ctime>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace aidc {

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void write_text_file(const std::string& path, const std::string& text) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) fail("cannot write '" + path + "'");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace aidc
