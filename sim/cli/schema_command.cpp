// `aidc schema`: the scenario keys (sim/scenario/schema.cpp) for tools and the doc.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "common/atomic_file.hpp"
#include "scenario/schema.hpp"

namespace aidc::cli {

int schema(const SchemaOptions& options) {
  return guarded([&] {
    if (!options.update_doc.empty()) {
      std::ifstream in(options.update_doc);
      if (!in) {
        std::fprintf(stderr, "%s: error: cannot read the file\n", options.update_doc.c_str());
        return kExitBadInput;
      }
      std::ostringstream text;
      text << in.rdbuf();
      const std::string updated = update_schema_blocks(text.str());
      if (updated != text.str()) write_file_atomically(options.update_doc, updated);
      return kExitDone;
    }
    const std::string out = options.format == "json" ? schema_json() : update_schema_blocks("<!-- schema: . -->\n<!-- /schema -->\n");
    std::fputs(out.c_str(), stdout);
    return kExitDone;
  });
}

}  // namespace aidc::cli
