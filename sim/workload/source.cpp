#include "workload/source.hpp"

#include "workload/generated_sources.hpp"
#include "workload/trace_source.hpp"

namespace aidc {

std::unique_ptr<WorkloadSource> make_workload_source(const WorkloadSpec& workload, unsigned long long seed, double end_s) {
  switch (workload.kind) {
    case WorkloadSpec::Kind::ClosedLoop: return std::make_unique<ClosedLoopSource>(workload, seed);
    case WorkloadSpec::Kind::OpenLoop: return std::make_unique<OpenLoopSource>(workload, seed, end_s);
    case WorkloadSpec::Kind::Trace: return std::make_unique<TraceSource>(workload.trace);
  }
  return nullptr;
}

}  // namespace aidc
