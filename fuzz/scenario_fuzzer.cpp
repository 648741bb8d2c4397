// The scenario loader on arbitrary text: YAML parsing (aliases, encodings), every key through the
// schema table, cross-field checks, catalogs. A user error (InputErrors) is the expected answer; any
// other exception, a crash, a sanitizer report or a hang is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "catalog/catalog.hpp"
#include "common/config_tree.hpp"
#include "scenario/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const aidc::Catalog catalog = aidc::Catalog::load(AIDC_FUZZ_SCENARIOS_DIR);
  // Named as if beside the examples, so their relative files (traces, lengths, profiles) resolve.
  static const std::string source = std::string(AIDC_FUZZ_SCENARIOS_DIR) + "/examples/fuzz-input.yaml";
  try {
    const aidc::ConfigNode tree = aidc::parse_yaml_text(std::string(reinterpret_cast<const char*>(data), size), source);
    aidc::read_scenario(tree, source, catalog);
  } catch (const aidc::InputErrors&) {
  }
  return 0;
}
