#pragma once
// The mirrored cluster: the scenario's replicas as the simulator schedules them (sim/serving's
// ReplicaScheduler over core/serving's scheduler, the scenario's balancer policy), fed with the
// measured arrivals and lengths and taken up and down as HAProxy sees them, advanced in step with
// wall time. It runs in the twin's own process without SimGrid: each replica is its own clock and
// the balancer routes at arrival, which is all the event loop of a run adds for one deployment (the
// network and facility models are left to the forecasts, which run `aidc run` in child processes).
// Its state is a snapshot a simulation can start from (StartState).
#include <deque>
#include <memory>
#include <vector>

#include "catalog/catalog.hpp"
#include "run/simulate.hpp"
#include "scenario/scenario.hpp"
#include "serving/load_balancer.hpp"
#include "serving/replica_scheduler.hpp"

namespace aidc::twin {

struct MirrorFigures {
  struct Replica {
    bool up = true;
    int running = 0, waiting = 0;
    double kv_usage = 0;  // blocks in use / all blocks
  };
  std::vector<Replica> replicas;
  int in_flight = 0;
  // Over the requests whose first token (TTFT) or last token (the rest) came in the window; NaN when none.
  double ttft_p99_s, tpot_p99_s, ttft_mean_s, itl_mean_s;
  long long failed = 0;  // dropped by a replica going down, or with none up
};

class Mirror {
 public:
  // `performance` must outlive the mirror; its step times may change between calls (recalibration).
  Mirror(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance);
  ~Mirror();

  // `count` requests arriving evenly spread over (from_s, to_s] with these lengths. Times are the
  // twin's clock (seconds since it started) and never go back.
  void arrive(double from_s, double to_s, int count, int prompt_tokens, int output_tokens);
  // HAProxy's view at `t_s`: going down drops what the replica holds, as a crash does.
  void set_up(int replica, bool up, double t_s);
  // Runs every replica's iterations that end by `t_s`.
  void advance_to(double t_s);

  MirrorFigures figures(double now_s, double window_s) const;
  // What the deployment holds now, times relative to `now_s`; down replicas stay down until
  // `down_until_s` from now (the forecast's horizon: their repair time is unknown).
  StartState snapshot(double now_s, double down_until_s) const;
  int replicas() const { return static_cast<int>(replicas_.size()); }

 private:
  struct Replica;
  struct Tracked {
    double arrival_s = 0, first_token_s = -1, finish_s = -1;
    int output_tokens = 0;
  };
  void on_first_token(std::uint64_t id, double t);
  void on_finished(std::uint64_t id, double t);
  void route(double t, int prompt_tokens, int output_tokens);

  const PerformanceModel& performance_;
  LoadBalancer balancer_;
  int fall_, rise_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::map<std::uint64_t, Tracked> in_flight_;
  std::deque<Tracked> done_;  // finished, in finish order; kept for the longest window asked
  std::uint64_t next_id_ = 0;
  long long failed_ = 0;
  double clock_s_ = 0;
};

}  // namespace aidc::twin
