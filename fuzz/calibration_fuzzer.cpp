// The calibration profile reader on arbitrary text, then the calibrated model built from what it
// accepts: an accepted profile must give finite, non-negative step costs. A FileErrors is the expected
// answer to bad input; anything else is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "catalog/catalog.hpp"
#include "core/calibration/reader.hpp"
#include "core/common/error.hpp"
#include "fuzz_input.hpp"
#include "perf/calibrated_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const aidc::Catalog catalog = aidc::Catalog::load(AIDC_FUZZ_SCENARIOS_DIR);
  aidc::CalibrationProfile profile;
  try {
    profile = aidc::read_calibration_profile(aidc::fuzz::as_file(data, size, "-profile.yaml"));
  } catch (const aidc::FileErrors&) {
    return 0;
  }
  aidc::DeploymentSpec deployment;
  deployment.model = "deepseek-llm-7b";
  const aidc::CalibratedModel model(profile, *catalog.model(deployment.model), *catalog.gpu("H100-SXM"),
                                    *catalog.server("hgx-8"), deployment);
  aidc::BatchShape batch;
  batch.prefills.push_back({512, 1024});
  batch.decode_sequences = 8;
  batch.decode_context_tokens = 8 * 700;
  for (const aidc::StepCost& cost : {model.token_cost(520, 9, 9), model.attention_cost(batch)})
    for (double part : {cost.compute_bound_s, cost.memory_bound_s, cost.overhead_s, cost.communication_s})
      if (!std::isfinite(part) || part < 0) std::abort();  // an accepted profile that times nonsense
  return 0;
}
