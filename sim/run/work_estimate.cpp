#include "run/work_estimate.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "perf/capacity.hpp"

namespace aidc {
namespace {

// Per unit, measured with `aidc run` (wall time at ~5·10⁵ events/s, peak resident memory): a request
// is ~12 events (arrival, balancer, replica steps, first token, completion) and its record; a server a
// SimGrid host with its links and routes; a replica its scheduler and KV block table; a time-series
// cell one replica's value in one sample.
constexpr double kEventsPerRequest = 12, kBytesPerRequest = 200;
constexpr double kEventsPerUser = 1, kBytesPerUser = 64;
constexpr double kEventsPerServer = 50, kBytesPerServer = 12 * 1024;
constexpr double kEventsPerReplica = 350, kBytesPerReplica = 64 * 1024;
constexpr double kEventsPerCell = 1, kBytesPerCell = 56;
constexpr int kSeriesColumnsBesideReplicas = 4;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2g", value);
  return text;
}

// Requests a run is sent: a trace's rows; open loop the schedule's rate integrated over the run (a
// steps schedule exactly, others at their peak); closed loop each user once per think time.
WorkTerm requests(const Scenario& s) {
  const WorkloadSpec& w = s.workload;
  const double duration = s.simulation.duration_s;
  WorkTerm term;
  double count = 0;
  if (w.kind == WorkloadSpec::Kind::Trace) {
    count = static_cast<double>(w.trace ? w.trace->size() : 0);
    term.what = number(count) + " requests (the trace's rows)";
    term.key_paths = {"workload.trace_file"};
  } else if (w.kind == WorkloadSpec::Kind::OpenLoop && w.schedule.kind == RateSchedule::Kind::Steps) {
    const auto& steps = w.schedule.steps;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const double end = std::min(duration, i + 1 < steps.size() ? steps[i + 1].at_s : duration);
      count += steps[i].rate_per_s * std::max(0.0, end - steps[i].at_s);
    }
    term.what = number(count) + " requests (the rate steps over duration_s " + number(duration) + " s)";
    term.key_paths = {"workload.schedule.steps", "duration_s"};
  } else {
    const double rate = peak_offered_rate(w);
    count = rate * duration;
    if (w.kind == WorkloadSpec::Kind::OpenLoop) {
      term.what = number(count) + " requests (peak " + number(rate) + "/s × duration_s " + number(duration) + " s)";
      term.key_paths = {"workload.schedule.rate_per_s", "duration_s"};
    } else {
      term.what = number(count) + " requests (workload.users " + number(w.users) + " / think_time_s × duration_s " +
                  number(duration) + " s)";
      term.key_paths = {"workload.users", "workload.think_time_s", "duration_s"};
    }
  }
  term.events = count * kEventsPerRequest;
  term.bytes = count * kBytesPerRequest;
  return term;
}

const ConfigNode* node_at(const ConfigNode& root, std::string_view dotted) {
  const ConfigNode* node = &root;
  while (node && !dotted.empty()) {
    const auto dot = dotted.find('.');
    node = node->find(dotted.substr(0, dot));
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return node;
}

}  // namespace

double WorkEstimate::events() const {
  double sum = 0;
  for (const auto& t : terms) sum += t.events;
  return sum;
}

double WorkEstimate::bytes() const {
  double sum = 0;
  for (const auto& t : terms) sum += t.bytes;
  return sum;
}

WorkEstimate estimate_work(const Scenario& s) {
  WorkEstimate estimate;
  estimate.terms.push_back(requests(s));
  const double duration = s.simulation.duration_s;
  if (s.workload.kind == WorkloadSpec::Kind::ClosedLoop)
    estimate.terms.push_back({number(s.workload.users) + " users", {"workload.users"}, s.workload.users * kEventsPerUser,
                              s.workload.users * kBytesPerUser});
  const double servers = static_cast<double>(s.datacenter.halls) * s.datacenter.rows_per_hall * s.datacenter.racks_per_row *
                         s.datacenter.servers_per_rack;
  estimate.terms.push_back({number(servers) + " servers (halls × rows_per_hall × racks_per_row × servers_per_rack)",
                            {"datacenter.servers_per_rack", "datacenter.racks_per_row", "datacenter.rows_per_hall", "datacenter.halls"},
                            servers * kEventsPerServer, servers * kBytesPerServer});
  const double replicas = s.disaggregation ? s.disaggregation->prefill.deployment.replicas + s.disaggregation->decode.deployment.replicas
                                            : s.deployment.replicas;
  const double checks = replicas * duration / s.load_balancer.health_check.interval_s;
  estimate.terms.push_back({number(replicas) + " replicas and " + number(checks) + " health checks",
                            {s.disaggregation ? "deployment.decode.replicas" : "deployment.replicas", "load_balancer.health_check.interval_s"},
                            replicas * kEventsPerReplica + checks, replicas * kBytesPerReplica});
  const double samples = duration / s.simulation.timeseries_interval_s;
  const double cells = samples * (replicas + kSeriesColumnsBesideReplicas);
  estimate.terms.push_back({number(samples) + " time-series samples (duration_s " + number(duration) +
                                " s / output.timeseries_interval_s " + number(s.simulation.timeseries_interval_s) +
                                " s) × " + number(replicas) + " replicas",
                            {"output.timeseries_interval_s", "duration_s"}, cells * kEventsPerCell, cells * kBytesPerCell});
  return estimate;
}

void check_run_size(const Scenario& scenario) {
  const WorkEstimate estimate = estimate_work(scenario);
  const bool too_long = estimate.events() > kMaxRunEvents, too_big = estimate.bytes() > kMaxRunBytes;
  if (!too_long && !too_big) return;
  const auto share = [&](const WorkTerm& t) { return too_long ? t.events : t.bytes; };
  const WorkTerm& largest =
      *std::max_element(estimate.terms.begin(), estimate.terms.end(), [&](const auto& a, const auto& b) { return share(a) < share(b); });
  std::string message = too_long ? "the run would take about " + number(estimate.events()) + " events (limit " +
                                       number(kMaxRunEvents) + ", about half an hour)"
                                 : "the run would need about " + number(estimate.bytes() / (1 << 30)) + " GiB of memory (limit " +
                                       number(kMaxRunBytes / (1 << 30)) + " GiB)";
  message += ", mostly for " + largest.what + "; driven by";
  for (const auto& key : largest.key_paths) message += " " + key;
  message += ". Make it smaller, or pass --allow-long to run it anyway";
  SourceLocation where{scenario.source_file, 0, 0};
  for (const auto& key : largest.key_paths)
    if (const ConfigNode* node = node_at(scenario.resolved, key); node && !node->where().file.empty()) {
      where = node->where();
      break;
    }
  throw_input_error(where, largest.key_paths.front(), message);
}

}  // namespace aidc
