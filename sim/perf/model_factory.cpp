#include "perf/model_factory.hpp"

#include "perf/calibrated_model.hpp"
#include "perf/roofline_model.hpp"

namespace aidc {

std::unique_ptr<PerformanceModel> make_performance_model(const Scenario& s, const Catalog& catalog) {
  if (s.performance.model == "calibrated")
    return std::make_unique<CalibratedModel>(*s.performance.profile, *catalog.model(s.deployment.model),
                                             *catalog.gpu(s.datacenter.gpu), *catalog.server(s.datacenter.server_type),
                                             s.deployment);
  return std::make_unique<RooflineModel>(*catalog.model(s.deployment.model), *catalog.gpu(s.datacenter.gpu),
                                         *catalog.server(s.datacenter.server_type), s.deployment,
                                         s.performance.step_overhead_ms * 1e-3);
}

}  // namespace aidc
