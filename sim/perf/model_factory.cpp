#include "perf/model_factory.hpp"

#include "perf/calibrated_model.hpp"
#include "perf/fitted_model.hpp"
#include "perf/parallel_layout_model.hpp"
#include "perf/roofline_model.hpp"
#include "perf/speculation_and_cache.hpp"

namespace aidc {

namespace {

std::unique_ptr<PerformanceModel> make_model(const Scenario& s, const Catalog& catalog, const GpuSpec& gpu, const ServerSpec& server,
                                             const DeploymentSpec& d) {
  const ModelConfig& model = *catalog.model(d.model);
  std::unique_ptr<PerformanceModel> single;
  if (s.performance.model == "calibrated" && s.performance.profile->fit)
    single = std::make_unique<FittedModel>(*s.performance.profile, gpu, d);
  else if (s.performance.model == "calibrated")
    single = std::make_unique<CalibratedModel>(*s.performance.profile, model, gpu, server, d);
  else
    single = std::make_unique<RooflineModel>(model, gpu, server, d, s.performance.step_overhead_ms * 1e-3);
  if (d.pipeline_parallel > 1 || d.data_parallel_attention)
    single = std::make_unique<ParallelLayoutModel>(std::move(single), model, gpu, server, s.datacenter, d,
                                                   s.performance.step_overhead_ms * 1e-3);
  return with_speculation_and_cache(std::move(single), d, model.layers);
}

}  // namespace

std::unique_ptr<PerformanceModel> make_performance_model(const Scenario& s, const Catalog& catalog) {
  if (s.disaggregation) return make_pool_performance_model(s, catalog, s.disaggregation->prefill);
  return make_model(s, catalog, *catalog.gpu(s.datacenter.gpu), *catalog.server(s.datacenter.server_type), s.deployment);
}

std::unique_ptr<PerformanceModel> make_pool_performance_model(const Scenario& s, const Catalog& catalog, const PoolSpec& pool) {
  return make_model(s, catalog, *catalog.gpu(pool.gpu), *catalog.server(pool.server_type), pool.deployment);
}

}  // namespace aidc
