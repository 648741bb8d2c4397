#include "cli/errors.hpp"

#include <cstdio>
#include <exception>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"

namespace aidc::cli {

int guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputErrors& e) {
    for (const auto& error : e.errors()) std::fprintf(stderr, "%s\n", error.to_string().c_str());
    return kExitBadInput;
  } catch (const OutputError& e) {  // the disk, not aidc: no "internal"
    std::fprintf(stderr, "aidc: error: %s\n", e.what());
    return kExitInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aidc: internal error: %s\n", e.what());
    return kExitInternal;
  }
}

}  // namespace aidc::cli
