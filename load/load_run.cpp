#include "load/load_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/input_error.hpp"
#include "common/paths.hpp"
#include "common/statistics.hpp"
#include "load/completion_stream.hpp"
#include "workload/generators.hpp"
#include "workload/source.hpp"
#include "perf/model_factory.hpp"
#include "report/summary.hpp"
#include "scenario/loader.hpp"

namespace aidc::load {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Threads are started as requests need them, up to the most that can be in flight at once.
constexpr std::size_t kMaxThreads = 4096;

// What `aidc load` sends and when: a request the scenario's workload source (sim/workload, the very
// source `aidc run` uses, seeded with simulation.seed) yields, stamped with the time it was due. The same
// scenario and seed give the same arrival times and lengths as `aidc run` (tests/serving/load_test.cpp);
// in a closed loop that holds until completions, which the real server decides, interleave with draws.
struct PlannedRequest {
  double arrival_s = 0;
  SourceRequest request;
};

struct Row {
  PlannedRequest plan;
  StreamResult result;
  double sent_s = std::numeric_limits<double>::quiet_NaN();  // when a thread began sending it; NaN: never sent
  bool done = false, timed_out = false;
};

// One thread and its keep-alive connection.
struct Slot {
  explicit Slot(const std::string& url, CompletionStream::Clock clock) : stream(url, std::move(clock)) {}
  CompletionStream stream;
  std::thread thread;
  long long request = -1;  // in flight on it; guarded by the run's mutex
};

// Most requests in flight when each ends by its deadline: the most arrivals within any `timeout_s`.
std::size_t max_in_flight(const std::vector<PlannedRequest>& plan, double timeout_s) {
  std::size_t most = 0, first = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    while (plan[i].arrival_s - plan[first].arrival_s >= timeout_s) ++first;
    most = std::max(most, i - first + 1);
  }
  return most;
}

std::string csv_quoted(const std::string& text) {
  if (text.empty()) return text;
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '\n' || ch == '\r') ch = ' ';
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

RequestStatus status_of(const Row& row) {
  if (row.result.finished) return RequestStatus::Completed;
  if (row.timed_out) return RequestStatus::InFlight;  // no answer within the bound: "unfinished"
  const int http = row.result.http_status;
  if (http >= 400 && http < 500 && http != 408 && http != 429) return RequestStatus::Rejected;  // as the server refused it
  return RequestStatus::Failed;
}

class LoadRun {
 public:
  LoadRun(const Scenario& scenario, const LoadOptions& options, std::string model, int vocab)
      : s_(scenario),
        o_(options),
        model_(std::move(model)),
        vocab_(vocab),
        end_(scenario.simulation.duration_s),
        source_(make_workload_source(scenario.workload, scenario.simulation.seed, scenario.simulation.duration_s)),
        series_(scenario.simulation.timeseries_interval_s, scenario.simulation.duration_s, scenario.deployment.replicas) {}

  void run() {
    const bool closed = s_.workload.kind == WorkloadSpec::Kind::ClosedLoop;
    std::vector<PlannedRequest> plan;
    if (closed) {
      thread_limit_ = static_cast<std::size_t>(s_.workload.users);
    } else {  // open loop and trace: the whole schedule is known before the first send
      for (double t = source_->next_due(); t < end_ && room_in(plan); t = source_->next_due()) take_due(t, plan);
      if (o_.max_requests >= 0 && static_cast<long long>(plan.size()) > o_.max_requests)
        plan.resize(static_cast<std::size_t>(o_.max_requests));  // arrivals at one instant come together
      thread_limit_ = max_in_flight(plan, o_.timeout_s);
    }
    thread_limit_ = std::clamp<std::size_t>(thread_limit_, 1, kMaxThreads);
    started_unix_s_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    origin_ = SteadyClock::now();
    std::size_t next_open = 0, next_sample = 0;
    double next_progress = 0;
    std::unique_lock lock(mutex_);
    while (true) {
      const double now = clock();
      // Sends due now.
      if (closed) {
        std::vector<PlannedRequest> due;
        for (double t = source_->next_due(); t <= now && t < end_ && room(); t = source_->next_due()) take_due(t, due);
        for (const PlannedRequest& request : due)
          if (room()) submit(request);
      } else {
        while (next_open < plan.size() && plan[next_open].arrival_s <= now) submit(plan[next_open++]);
      }
      // Answers: a closed-loop user thinks, then sends again.
      while (!finished_.empty()) {
        const Row& row = rows_[static_cast<std::size_t>(finished_.front())];
        finished_.pop_front();
        if (row.plan.request.user >= 0) source_->answered(row.plan.request.user, row.result.finish_s);
      }
      cancel_overdue(now);
      for (; next_sample < series_.bins() && (static_cast<double>(next_sample) + 1) * series_.interval() <= now; ++next_sample)
        series_.set_sample(next_sample, static_cast<double>(in_flight()), 0);
      if (now >= next_progress) {
        report_progress(now);
        next_progress = now + (o_.progress == "json" ? 1.0 : 5.0);
      }
      const double next_send = closed ? (room() ? source_->next_due() : INFINITY)
                                      : (next_open < plan.size() ? plan[next_open].arrival_s : INFINITY);
      if ((next_send >= end_ || !room()) && in_flight() == 0) break;
      // Wake for the next send, and at least every 50 ms for deadlines, samples and progress.
      const double wake = std::min(next_send, now + 0.05);
      answered_.wait_until(lock, origin_ + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(wake)));
    }
    elapsed_s_ = clock();
    for (; next_sample < series_.bins(); ++next_sample) series_.set_sample(next_sample, 0, 0);
    stopping_ = true;
    work_.notify_all();
    lock.unlock();
    for (auto& slot : slots_) slot->thread.join();
    if (o_.progress == "bar") std::fprintf(stderr, "aidc load: done in %.1f s\n", elapsed_s_);
  }

  void write(const Catalog& catalog, const std::string& out) {
    RunRecord record(series_);
    std::vector<double> inter_token;
    std::vector<double> send_lag;  // how late each request went out: the generator's own delay, inside its TTFT
    long long timed_out = 0, events = 0, prompt_total = 0, output_total = 0;
    std::map<std::string, long long> statuses;
    ExtraRequestColumns extra{{"http_status", "error"}, {}};
    for (const Row& row : rows_) {
      const StreamResult& r = row.result;
      RequestRecord rec;
      rec.arrival_s = row.plan.arrival_s;
      rec.first_token_s = r.first_token_s;
      rec.status = status_of(row);
      rec.finish_s = rec.status == RequestStatus::InFlight ? std::numeric_limits<double>::quiet_NaN() : r.finish_s;
      rec.prompt_tokens = row.plan.request.prompt_tokens;
      // A whole answer's length is what the server generated; otherwise what was asked for.
      const int generated = r.completion_tokens >= 0 ? r.completion_tokens : static_cast<int>(r.token_times.size());
      rec.output_tokens = rec.status == RequestStatus::Completed ? generated : row.plan.request.output_tokens;
      rec.replica = r.replica;
      record.requests.push_back(rec);
      extra.cells.push_back({r.http_status > 0 ? std::to_string(r.http_status) : "",
                             csv_quoted(row.timed_out && !r.finished ? "timed out after " + std::to_string(o_.timeout_s) + " s" : r.error)});
      ++statuses[r.http_status > 0 ? std::to_string(r.http_status) : "none"];
      timed_out += rec.status == RequestStatus::InFlight;
      events += r.events;
      if (!std::isnan(row.sent_s)) send_lag.push_back(row.sent_s - row.plan.arrival_s);
      if (rec.status == RequestStatus::Completed) prompt_total += rec.prompt_tokens, output_total += rec.output_tokens;
      // The series covers the scenario's duration; what the drain measured after it is in requests.csv.
      if (!std::isnan(r.first_token_s) && r.first_token_s < end_) record.series.add_tokens(r.first_token_s, rec.prompt_tokens, 0);
      for (std::size_t k = 0; k < r.token_times.size(); ++k) {
        if (r.token_times[k] < end_) record.series.add_tokens(r.token_times[k], 0, 1);
        if (k > 0) inter_token.push_back(r.token_times[k] - r.token_times[k - 1]);
      }
      if (rec.status == RequestStatus::Completed && generated > static_cast<int>(r.token_times.size()) && r.finish_s < end_)
        record.series.add_tokens(r.finish_s, 0, generated - static_cast<int>(r.token_times.size()));  // several per event
    }
    for (const Row& row : rows_) record.series.add_arrival(row.plan.arrival_s);
    record.simulated_s = end_;
    record.wall_s = elapsed_s_;
    record.events = events;
    record.performance_model = "measured by aidc load at " + o_.url + " (model " + model_ + ")";
    const auto simulated = summarize_run(s_, catalog, record, *make_performance_model(s_, catalog));
    nlohmann::ordered_json summary;
    summary["scenario"] = simulated["scenario"];
    summary["source"] = "measured";
    for (const auto& [key, value] : simulated.items())
      if (key != "scenario") summary[key] = value;
    const Summary itl = summarize(inter_token), lag = summarize(send_lag);
    nlohmann::ordered_json http = nlohmann::ordered_json::object();
    for (const auto& [code, count] : statuses) http[code] = count;
    summary["load"] = {{"url", o_.url},
                       {"model", model_},
                       {"started_unix_s", started_unix_s_},
                       {"elapsed_s", elapsed_s_},
                       {"timeout_s", o_.timeout_s},
                       {"timed_out", timed_out},
                       {"http_status", http},
                       {"prompt_tokens_completed", prompt_total},
                       {"output_tokens_completed", output_total},
                       {"inter_token_s", {{"mean", itl.mean}, {"p50", itl.p50}, {"p90", itl.p90}, {"p99", itl.p99}}},
                       {"threads", slots_.size()},
                       {"send_lag_s", {{"mean", lag.mean}, {"p50", lag.p50}, {"p99", lag.p99}, {"max", send_lag.empty() ? 0.0 : *std::max_element(send_lag.begin(), send_lag.end())}}}};
    write_run_outputs(out, s_, summary, record, &extra);
    if (!o_.quiet) std::fputs(text_report(s_, summary).c_str(), stdout);
    if (!o_.quiet) std::printf("Outputs: %s/\n", out.c_str());
  }

 private:
  double clock() const { return std::chrono::duration<double>(SteadyClock::now() - origin_).count(); }
  bool room() const { return room_in(rows_); }
  template <typename Sent>
  bool room_in(const Sent& sent) const { return o_.max_requests < 0 || static_cast<long long>(sent.size()) < o_.max_requests; }
  // The source's requests due at `t`, each stamped with it.
  void take_due(double t, std::vector<PlannedRequest>& plan) {
    due_.clear();
    source_->take_due(t, due_);
    for (const SourceRequest& request : due_) plan.push_back({t, request});
  }
  long long in_flight() const { return static_cast<long long>(rows_.size()) - done_; }

  // Called with the mutex held.
  void submit(const PlannedRequest& request) {
    rows_.push_back({request, {}, std::numeric_limits<double>::quiet_NaN(), false, false});
    queue_.push_back(static_cast<long long>(rows_.size()) - 1);
    // Idle threads are counted until they wake: one more than they can take needs a new thread.
    if (queue_.size() > idle_ && slots_.size() < thread_limit_) {
      slots_.push_back(std::make_unique<Slot>(o_.url, [this] { return clock(); }));
      Slot* slot = slots_.back().get();
      slot->thread = std::thread([this, slot] { serve(*slot); });
    }
    work_.notify_one();
  }

  void serve(Slot& slot) {
    std::unique_lock lock(mutex_);
    while (true) {
      ++idle_;
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (queue_.empty()) return;
      const long long id = queue_.front();
      queue_.pop_front();
      slot.request = id;
      Row& row = rows_[static_cast<std::size_t>(id)];
      row.sent_s = clock();
      const std::string body = request_body(row.plan, id);
      lock.unlock();
      StreamResult result = slot.stream.post(body, row.plan.request.session);
      lock.lock();
      slot.request = -1;
      row.result = std::move(result);
      row.done = true;
      ++done_;
      finished_.push_back(id);
      answered_.notify_one();
    }
  }

  // vLLM's completions API: token ids below the vocabulary, exactly max_tokens generated (ignore_eos).
  std::string request_body(const PlannedRequest& request, long long id) const {
    Rng rng(s_.simulation.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(id + 1)));
    std::uniform_int_distribution<int> token(0, vocab_ - 1);
    std::vector<int> prompt(static_cast<std::size_t>(request.request.prompt_tokens));
    for (int& t : prompt) t = token(rng);
    return nlohmann::json{{"model", model_},
                          {"prompt", prompt},
                          {"max_tokens", request.request.output_tokens},
                          {"stream", true},
                          {"stream_options", {{"include_usage", true}}},
                          {"ignore_eos", true}}
        .dump();
  }

  void cancel_overdue(double now) {
    for (auto& slot : slots_) {
      if (slot->request < 0) continue;
      Row& row = rows_[static_cast<std::size_t>(slot->request)];
      // Repeated until the thread is free: a cancel that lands before its request starts is lost.
      if (now >= row.plan.arrival_s + o_.timeout_s) {
        row.timed_out = true;
        slot->stream.cancel();
      }
    }
    // Requests still waiting for a thread past their deadline are never sent.
    for (auto it = queue_.begin(); it != queue_.end();) {
      Row& row = rows_[static_cast<std::size_t>(*it)];
      if (now < row.plan.arrival_s + o_.timeout_s) {
        ++it;
        continue;
      }
      row.timed_out = row.done = true;
      row.result.error = "never sent: every thread was busy";
      row.result.finish_s = now;
      ++done_;
      finished_.push_back(*it);
      it = queue_.erase(it);
    }
  }

  void report_progress(double now) {
    if (o_.progress == "none") return;
    long long completed = 0, failed = 0;
    for (const Row& row : rows_)
      if (row.done) (row.result.finished ? completed : failed) += 1;
    if (o_.progress == "json")
      std::fprintf(stderr,
                   "{\"event\":\"progress\",\"fraction\":%.4f,\"simulated_s\":%.3f,\"wall_s\":%.3f,\"sent\":%zu,"
                   "\"completed\":%lld,\"not_completed\":%lld,\"in_flight\":%lld}\n",
                   std::min(1.0, now / end_), std::min(now, end_), now, rows_.size(), completed, failed, in_flight());
    else
      std::fprintf(stderr, "aidc load: %.0f/%.0f s, %zu sent, %lld completed, %lld failed or timed out, %lld in flight\n", now,
                   end_, rows_.size(), completed, failed, in_flight());
    std::fflush(stderr);
  }

  const Scenario& s_;
  const LoadOptions& o_;
  const std::string model_;
  const int vocab_;
  const double end_;
  std::unique_ptr<WorkloadSource> source_;
  TimeSeries series_;
  SteadyClock::time_point origin_;
  double started_unix_s_ = 0, elapsed_s_ = 0;

  std::mutex mutex_;
  std::condition_variable work_, answered_;
  std::deque<Row> rows_;            // by request id; a deque keeps references valid as it grows
  std::deque<long long> queue_;     // sent by the schedule, waiting for a thread
  std::deque<long long> finished_;  // answered, not yet seen by the scheduling loop
  std::vector<std::unique_ptr<Slot>> slots_;
  std::size_t thread_limit_ = 1, idle_ = 0;
  long long done_ = 0;
  bool stopping_ = false;
  std::vector<SourceRequest> due_;  // scratch for take_due
};

}  // namespace

int run_load(const LoadOptions& options) {
  const Catalog catalog = Catalog::load(scenarios_dir());
  const Scenario scenario = load_scenario(options.scenario_file, options.overrides, catalog);
  require_one_pool(scenario, "aidc load",
                   "it measures one endpoint, which reports no per-pool busy time, KV caches moved or pool of each request, "
                   "so the summary's pools block (utilization, KV transfers) would be zeros, not measurements. "
                   "Measure the endpoint with a co-located scenario (remove deployment.prefill and deployment.decode)");
  const SourceLocation where{"aidc load", 0, 0};
  if (options.timeout_s <= 0) throw_input_error(where, "--timeout", "expected a positive number of seconds");
  const int vocab = options.vocab > 0 ? options.vocab : catalog.model(scenario.deployment.model)->vocab;
  std::string model = options.model;
  if (model.empty()) {
    try {
      model = served_model(options.url);
    } catch (const std::exception& e) {
      throw_input_error(where, "--model", std::string(e.what()) + "; pass --model NAME");
    }
  }
  LoadRun run(scenario, options, model, vocab);
  run.run();
  run.write(catalog, options.out_dir.empty() ? default_run_dir(scenario.name + "-load") : options.out_dir);
  return 0;
}

}  // namespace aidc::load
