#include "server/server.h"

#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "common/error.h"
#include "core/model/config.hpp"
#include "cpu/cpu_model.h"
#include "runtime/engine.h"
#include "server/chat_template.h"
#include "server/engine_loop.h"
#include "server/metrics.h"
#include "server/openai_api.h"
#include "server/request_deadline.h"
#include "tokenizer/tokenizer.h"
#ifdef AIDC_HAVE_CUDA
#include "gpu/gpu_model.h"
#endif
// Last: httplib.h pulls in <resolv.h>, whose `_res` macro breaks Eigen's headers (cpu_model.h).
#include <httplib.h>

namespace aidc {
namespace {

namespace fs = std::filesystem;

constexpr int kBlockTokens = 16;
// How long a connection may take to deliver one request (headers and body), or idle before the next
// (RequestDeadline). A client on a datacenter network sends a request in milliseconds.
constexpr auto kRequestReadLimit = std::chrono::seconds(10);
constexpr long long kCpuDefaultKvTokens = 16384;

// httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's library): a
// burst of connections beyond it waits for SYN retransmits (1 s), which a load test would measure as
// time to first token. Listening again on the bound socket raises the backlog (Linux).
class HttpServer : public httplib::Server {
 public:
  void raise_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

struct ModelFiles {
  std::string config, tokenizer, name;
};

ModelFiles locate(const ServeOptions& o) {
  ModelFiles f;
  const fs::path model = fs::path(o.model).lexically_normal();
  if (fs::is_directory(model)) {
    const fs::path dir = model.filename().empty() ? model.parent_path() : model;
    f.config = (dir / "config.json").string();
    f.name = dir.filename().string();
    if (fs::exists(dir / "tokenizer.json")) f.tokenizer = (dir / "tokenizer.json").string();
  } else {
    require(fs::exists(model), "--model: '" + o.model + "' does not exist (give a config.json or a directory holding one)");
    f.config = model.string();
    f.name = model.stem().string();
  }
  if (!o.tokenizer.empty()) f.tokenizer = o.tokenizer;
  if (!o.served_model_name.empty()) f.name = o.served_model_name;
  return f;
}

long long blocks_for(long long tokens) { return (tokens + kBlockTokens - 1) / kBlockTokens; }

std::unique_ptr<Backend> make_backend(const ServeOptions& o, const ModelConfig& c, const WeightSource& w, int max_context) {
  if (o.backend == "cpu")
    return std::make_unique<CpuModel>(c, w, static_cast<int>(blocks_for(o.kv_tokens ? o.kv_tokens : kCpuDefaultKvTokens)),
                                      kBlockTokens);
  require(o.backend == "gpu", "option --backend must be cpu or gpu, got '" + o.backend + "'");
#ifdef AIDC_HAVE_CUDA
  GpuOptions g;
  g.kv_blocks = static_cast<int>(blocks_for(o.kv_tokens));  // 0: fill the free memory
  g.block_tokens = kBlockTokens;
  g.max_batch_tokens = o.max_batch_tokens;
  g.max_seqs = o.max_seqs;
  g.max_logit_rows = o.max_seqs;  // one row per sampling sequence
  g.max_context = max_context;
  return std::make_unique<GpuModel>(c, w, g);
#else
  (void)max_context;
  fail("this build has no CUDA backend (use --backend cpu)");
#endif
}

// Counts requests being answered, for the drain on SIGTERM.
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& count) : count_(count) { ++count_; }
  ~InFlight() { --count_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int>& count_;
};

// A streamed answer between calls of httplib's content provider.
struct StreamState {
  std::shared_ptr<RequestChannel> channel;
  std::uint64_t id = 0;
  Completion completion;
  OutputText text;
  std::vector<int> pending;  // tokens taken before streaming began
  bool first = true;
  bool ended = false;
  bool include_usage = false;
  Clock::time_point deadline;
  std::shared_ptr<InFlight> in_flight;
};

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Service {
 public:
  Service(const ServeOptions& o, ServedModel model, std::optional<int> eos, EngineLoop& loop, ServingMetrics& metrics,
          RequestDeadline& deadline)
      : options_(o), model_(std::move(model)), eos_(eos), loop_(loop), metrics_(metrics), deadline_(deadline),
        timeout_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.request_timeout_s))) {}

  void route(httplib::Server& http) {
    http.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) {
      answer(q, r, [&] { generate(Api::Completions, q, r); });
    });
    http.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) {
      answer(q, r, [&] { generate(Api::Chat, q, r); });
    });
    http.Get("/v1/models", [this](const httplib::Request& q, httplib::Response& r) {
      deadline_.request_read(q.remote_addr, q.remote_port);
      const nlohmann::json card = {{"id", model_.name},     {"object", "model"},       {"created", unix_seconds()},
                                   {"owned_by", "aidc"},    {"root", model_.name},     {"max_model_len", model_.max_context}};
      r.set_content(to_text({{"object", "list"}, {"data", nlohmann::json::array({card})}}), "application/json");
    });
    http.Get("/health", [this](const httplib::Request& q, httplib::Response& r) {
      deadline_.request_read(q.remote_addr, q.remote_port);
      if (draining_) fill_error(r, ApiError(503, "service_unavailable", "the server is shutting down"));
    });
    http.Get("/metrics", [this](const httplib::Request& q, httplib::Response& r) {
      deadline_.request_read(q.remote_addr, q.remote_port);
      r.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    // Unknown paths and httplib's own refusals (malformed HTTP) get a JSON error body too.
    const httplib::Server::HandlerWithResponse json_error = [](const httplib::Request& q, httplib::Response& r) {
      if (!r.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      const std::string message = r.status == 404 ? "no route " + q.method + " " + q.path : "bad HTTP request";
      fill_error(r, ApiError(r.status, r.status == 404 ? "not_found_error" : "invalid_request_error", message));
      return httplib::Server::HandlerResponse::Handled;
    };
    http.set_error_handler(json_error);
    http.set_exception_handler([](const httplib::Request&, httplib::Response& r, std::exception_ptr) {
      fill_error(r, ApiError(500, "server_error", "internal error"));
    });
  }

  void drain() { draining_ = true; }
  int in_flight() const { return in_flight_; }

 private:
  static void fill_error(httplib::Response& r, const ApiError& e) {
    r.status = e.status;
    r.set_content(to_text(error_body(e)), "application/json");
  }

  template <typename F>
  void answer(const httplib::Request& q, httplib::Response& r, F&& f) {
    deadline_.request_read(q.remote_addr, q.remote_port);
    try {
      f();
    } catch (const ApiError& e) {
      fill_error(r, e);
    } catch (const EngineError& e) {  // the tokenizer refusing the text (invalid UTF-8)
      fill_error(r, bad_request(e.what()));
    }
  }

  void generate(Api api, const httplib::Request& q, httplib::Response& r) {
    const Clock::time_point arrival = Clock::now();
    if (draining_) throw ApiError(503, "service_unavailable", "the server is shutting down");
    const ApiRequest request = parse_request(api, q.body, model_);
    Job job;
    job.generation.prompt = request.prompt;
    job.generation.max_new_tokens = request.max_tokens;
    job.generation.sampling = request.sampling;
    if (!request.has_seed)  // unseeded requests sample differently, as OpenAI's and vLLM's do
      job.generation.sampling.seed = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    job.generation.stop_tokens = request.stop_token_ids;
    if (eos_ && !request.ignore_eos) job.generation.stop_tokens.push_back(*eos_);
    job.stop = request.stop;
    job.arrival = arrival;
    auto in_flight = std::make_shared<InFlight>(in_flight_);
    std::uint64_t id = 0;
    std::shared_ptr<RequestChannel> channel = loop_.submit(std::move(job), id);
    if (!channel)
      throw ApiError(503, "service_unavailable",
                     "the queue is full (" + std::to_string(options_.max_queue) + " requests waiting, --max-queue)");
    const Clock::time_point deadline = arrival + timeout_;
    Completion c{api, std::string(api == Api::Completions ? "cmpl-" : "chatcmpl-") + std::to_string(id), unix_seconds(),
                 model_.name, static_cast<int>(request.prompt.size()), 0};
    std::vector<int> tokens;
    RequestChannel::Taken t = channel->take(tokens, deadline, true);
    if (t.ending == Ending::Rejected) throw bad_request(t.rejection);
    if (!request.stream) {
      while (t.ending == Ending::Running) {
        const std::size_t before = tokens.size();
        t = channel->take(tokens, deadline);
        if (t.ending == Ending::Running && tokens.size() == before) timed_out(id);
      }
      if (t.ending == Ending::Aborted) throw stopped_error();
      OutputText text(model_.tokenizer, request.stop);
      for (int token : tokens) text.add(token);
      c.completion_tokens = static_cast<int>(tokens.size());
      r.set_content(to_text(response_body(c, text.take(true), tokens, t.ending)), "application/json");
      return;
    }
    auto state = std::make_shared<StreamState>(StreamState{channel, id, c, OutputText(model_.tokenizer, request.stop),
                                                           std::move(tokens), true, false, request.include_usage,
                                                           deadline, std::move(in_flight)});
    r.set_chunked_content_provider(
        "text/event-stream", [this, state](std::size_t, httplib::DataSink& sink) { return stream_some(*state, sink); },
        [this, state](bool) {
          if (!state->ended) loop_.abort(state->id);  // the client went away (or the write timed out)
        });
  }

  [[noreturn]] void timed_out(std::uint64_t id) {
    loop_.abort(id);
    throw timeout_error();
  }
  ApiError timeout_error() const {
    return ApiError(504, "timeout", "the request took longer than --request-timeout " +
                                        std::to_string(options_.request_timeout_s) + " s");
  }
  static ApiError stopped_error() { return ApiError(503, "service_unavailable", "the server stopped the request"); }

  // Sends what came since the last call as one event (several tokens when this thread fell behind
  // the engine: the engine never waits for it). False when the client is gone.
  bool stream_some(StreamState& s, httplib::DataSink& sink) {
    std::vector<int> fresh = std::move(s.pending);
    s.pending.clear();
    RequestChannel::Taken t;
    if (fresh.empty()) t = s.channel->take(fresh, s.deadline);
    std::string out;
    if (t.ending == Ending::Running && fresh.empty()) {  // timed out
      loop_.abort(s.id);
      out = server_sent_event(error_body(timeout_error()));
    } else if (t.ending == Ending::Aborted) {
      out = server_sent_event(error_body(stopped_error()));
    } else {
      for (int token : fresh) s.text.add(token);
      s.completion.completion_tokens += static_cast<int>(fresh.size());
      const bool final = t.ending != Ending::Running;
      out = server_sent_event(stream_chunk(s.completion, s.text.take(final), fresh, t.ending, s.first));
      s.first = false;
      if (!final) return sink.write(out.data(), out.size());
      if (s.include_usage) out += server_sent_event(usage_chunk(s.completion));
    }
    out += "data: [DONE]\n\n";
    s.ended = true;
    if (!sink.write(out.data(), out.size())) return false;
    sink.done();
    return true;
  }

  const ServeOptions& options_;
  const ServedModel model_;
  const std::optional<int> eos_;
  EngineLoop& loop_;
  ServingMetrics& metrics_;
  RequestDeadline& deadline_;
  const Clock::duration timeout_;
  std::atomic<bool> draining_{false};
  std::atomic<int> in_flight_{0};
};

void log(const std::string& line) { std::fprintf(stderr, "aidc-engine serve: %s\n", line.c_str()); }

}  // namespace

int run_serve(const ServeOptions& o, const WeightSource& weights) {
  // SIGTERM/SIGINT are taken by sigwait below: blocked here, before any thread starts, so every
  // thread inherits the mask. A client closing its socket must not kill the server (SIGPIPE).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  require(o.max_seqs > 0 && o.max_batch_tokens > 0 && o.max_queue > 0 && o.kv_tokens >= 0 && o.max_model_len >= 0 &&
              o.request_timeout_s > 0,
          "serve: --max-seqs, --max-batch-tokens, --max-queue and --request-timeout must be positive, --kv-tokens and "
          "--max-model-len non-negative");
  // Every running or waiting request holds an HTTP thread while it streams or waits for its answer.
  constexpr int kMaxRequestThreads = 4096;
  require(o.max_seqs + o.max_queue <= kMaxRequestThreads,
          "serve: --max-seqs + --max-queue is " + std::to_string(o.max_seqs + o.max_queue) + ", at most " +
              std::to_string(kMaxRequestThreads) + " (each waiting or running request holds a connection thread)");
  const ModelFiles files = locate(o);
  const ModelConfig config = load_model_config(files.config);
  std::optional<Tokenizer> tokenizer;
  if (!files.tokenizer.empty()) {
    tokenizer = Tokenizer::load(files.tokenizer);
    require(tokenizer->vocab_size() <= config.vocab, files.tokenizer + ": " + std::to_string(tokenizer->vocab_size()) +
                                                         " tokens, more than the model's vocabulary of " +
                                                         std::to_string(config.vocab));
  } else {
    log("no tokenizer.json: requests must give prompts as token ids (text prompts and chat answer 400)");
  }
  const int max_context = std::min(o.max_model_len > 0 ? o.max_model_len : config.max_position, config.max_position);

  const Clock::time_point load_start = Clock::now();
  std::unique_ptr<Backend> backend = make_backend(o, config, weights, max_context);
  const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
  log("model " + files.name + " loaded in " + std::to_string(load_seconds) + " s (" + o.backend + " backend)");

  SchedulerLimits limits;
  limits.max_batch_sequences = o.max_seqs;
  limits.max_batch_tokens = o.max_batch_tokens;
  limits.chunked_prefill_tokens = std::min(limits.chunked_prefill_tokens, o.max_batch_tokens);
  limits.max_context = max_context;
  Engine engine(*backend, limits);

  std::optional<ChatTemplate> chat;
  std::optional<int> eos;
  if (tokenizer) {
    const auto special_text = [&](std::optional<int> id) { return id ? tokenizer->decode({*id}, false) : std::string(); };
    chat.emplace(tokenizer->chat_template(), special_text(tokenizer->bos_id()), special_text(tokenizer->eos_id()));
    eos = tokenizer->eos_id();
  }
  ServedModel served{files.name, tokenizer ? &*tokenizer : nullptr, chat ? &*chat : nullptr,
                     engine.scheduler().limits().max_context};

  ServingMetrics metrics(files.name, load_seconds);
  EngineLoop loop(engine, metrics, served.tokenizer, static_cast<std::size_t>(o.max_queue), o.step_log);
  RequestDeadline deadline(kRequestReadLimit);
  Service service(o, served, eos, loop, metrics, deadline);
  HttpServer http;
  http.set_logger([&](const httplib::Request& q, const httplib::Response&) { deadline.answered(q.remote_addr, q.remote_port); });
  // A thread per connection: every request that may wait in the engine, plus room for /health and /metrics.
  const std::size_t threads = static_cast<std::size_t>(o.max_seqs) + static_cast<std::size_t>(o.max_queue) + 16;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_max_count(100000);
  http.set_payload_max_length(64u << 20);
  // Each streamed token is a small write. With Nagle's algorithm on, a write waits for the ACK of the
  // previous one, which a client on a reused keep-alive connection delays (Linux: up to 40 ms), so the
  // first token of a request arrived ~30 ms late (docs/fidelity.md). Servers that stream (uvicorn via
  // asyncio, which vLLM and SGLang run on) set TCP_NODELAY for the same reason.
  http.set_tcp_nodelay(true);
  service.route(http);
  int port = o.port;
  if (port == 0) port = http.bind_to_any_port(o.host);
  else if (!http.bind_to_port(o.host, port)) port = -1;
  require(port > 0, "serve: cannot listen on " + o.host + ":" + std::to_string(o.port));
  http.raise_backlog();
  deadline.watch(port);
  std::thread listener([&] { http.listen_after_bind(); });
  log("listening on http://" + o.host + ":" + std::to_string(port));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log(std::string("got ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") + ": draining " +
      std::to_string(service.in_flight()) + " in-flight requests");
  service.drain();
  while (service.in_flight() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http.stop();
  listener.join();
  log("stopped (" + std::to_string(deadline.shut()) + " connections cut for taking longer than " +
      std::to_string(kRequestReadLimit.count()) + " s to send a request)");
  return 0;
}

}  // namespace aidc
