// `aidc-engine serve --backend cpu` as clients see it: the real binary on a free loopback port, driven
// over HTTP. Outputs are checked against independent paths: `aidc-engine generate` (no server, no
// batching), the tokenizer (itself checked against Python `tokenizers`), the chat template's text,
// promtool, and the clients' own counts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine_test_support.h"
#include "server_process.h"
#include "tokenizer/tokenizer.h"
// Last: httplib.h pulls in <resolv.h>, whose `_res` macro clashes with other headers.
#include <httplib.h>

namespace aidc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kVocab = 1500;  // the test tokenizer's vocabulary: the model directory's config matches it

using test::ChildRun;
using test::read_all;
using test::run_command;
using test::ServerProcess;

// A temp directory holding the model directory the text tests serve: tiny-llama's config with the
// test tokenizer's vocabulary, tokenizer.json and tokenizer_config.json (bos/eos, a DeepSeek chat template).
class Workspace {
 public:
  Workspace() {
    root_ = fs::temp_directory_path() / ("aidc-server-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(model_dir());
    json config = json::parse(read_all(test::data("tiny-llama.json")));
    config["vocab_size"] = kVocab;
    std::ofstream(model_dir() / "config.json") << config.dump();
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
      fs::copy_file(test::data(std::string("tokenizer/") + f), model_dir() / f);
  }
  ~Workspace() { fs::remove_all(root_); }
  fs::path root() const { return root_; }
  fs::path model_dir() const { return root_ / "model"; }

 private:
  static inline int counter_ = 0;
  fs::path root_;
};

struct Answer {
  int status = 0;
  json body;
};

std::unique_ptr<httplib::Client> client(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_connection_timeout(10);
  c->set_read_timeout(60);
  c->set_write_timeout(10);
  return c;
}

Answer post(int port, const std::string& path, const std::string& body) {
  auto r = client(port)->Post(path.c_str(), body, "application/json");
  if (!r) return {};
  Answer a{r->status, json::parse(r->body, nullptr, false)};
  return a;
}
Answer post(int port, const std::string& path, const json& body) { return post(port, path, body.dump()); }

// A streamed answer: every event's JSON, in order, and whether the stream ended with [DONE].
struct Streamed {
  int status = 0;
  std::vector<json> events;
  bool done = false;
  std::vector<Clock::time_point> arrivals;  // when each event arrived
};

// `on_event` may return false to hang up (the client going away).
Streamed post_stream(int port, const std::string& path, const json& body,
                     const std::function<bool(const json&)>& on_event = nullptr) {
  Streamed s;
  std::string buffer;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    buffer.append(data, size);
    for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) continue;
      const std::string data_text = event.substr(6);
      if (data_text == "[DONE]") {
        s.done = true;
        continue;
      }
      s.events.push_back(json::parse(data_text, nullptr, false));
      s.arrivals.push_back(Clock::now());
      if (on_event && !on_event(s.events.back())) return false;
    }
    return true;
  };
  auto r = client(port)->send(req);
  if (r) s.status = r->status;
  return s;
}

std::vector<int> ids(const json& choice) { return choice.at("token_ids").get<std::vector<int>>(); }

// The /metrics samples without labels' order mattering: "name{labels}" -> value.
std::map<std::string, double> scrape(int port) {
  std::map<std::string, double> values;
  auto r = client(port)->Get("/metrics");
  if (!r) return values;
  std::istringstream lines(r->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return values;
}

// Scrapes /metrics until `reached` holds (at most 10 s): gauges and abort counts follow the engine's
// steps, a moment after the HTTP answers. Returns the last scrape.
std::map<std::string, double> scrape_until(int port, const std::function<bool(std::map<std::string, double>&)>& reached) {
  std::map<std::string, double> m = scrape(port);
  for (auto until = Clock::now() + std::chrono::seconds(10); Clock::now() < until && !reached(m); m = scrape(port))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return m;
}

class Server : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}, std::string model = "") {
    server_ = std::make_unique<ServerProcess>(model.empty() ? workspace_.model_dir().string() : model, extra,
                                              workspace_.root() / ("server-" + std::to_string(servers_++) + ".log"));
    ASSERT_GT(server_->port(), 0) << "the server did not start:\n" << server_->log();
    port_ = server_->port();
  }
  const Tokenizer& tokenizer() {
    static const Tokenizer t = Tokenizer::load(test::data("tokenizer/tokenizer.json"));
    return t;
  }
  std::string metric(const std::string& name, const std::string& extra_labels = "") const {
    return name + "{model_name=\"model\"" + extra_labels + "}";
  }

  Workspace workspace_;
  std::unique_ptr<ServerProcess> server_;
  int servers_ = 0;
  int port_ = 0;
};

TEST_F(Server, GreedyTokenCompletionEqualsGenerateAndCountsUsage) {
  start();
  const Answer a = post(port_, "/v1/completions",
                        json{{"model", "model"}, {"prompt", {3, 14, 15, 92, 65}}, {"max_tokens", 12}, {"temperature", 0},
                             {"ignore_eos", true}});
  ASSERT_EQ(a.status, 200) << a.body;
  const json& choice = a.body["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "length");
  EXPECT_EQ(a.body["object"], "text_completion");
  EXPECT_EQ(a.body["usage"], (json{{"prompt_tokens", 5}, {"completion_tokens", 12}, {"total_tokens", 17}}));
  // The same prompt through `aidc-engine generate`: no server, no scheduler sharing.
  const ChildRun g = run_command(std::string(AIDC_ENGINE_BINARY) + " generate --model " +
                                 (workspace_.model_dir() / "config.json").string() +
                                 " --random-weights --backend cpu --prompt 3,14,15,92,65 --max-new 12");
  ASSERT_EQ(g.exit_code, 0) << g.output;
  std::vector<int> expected;
  std::istringstream tokens(g.output);
  for (int t; tokens >> t;) expected.push_back(t);
  EXPECT_EQ(ids(choice), expected);
  EXPECT_EQ(choice["text"], tokenizer().decode(expected));
}

TEST_F(Server, StreamedChunksConcatenateToTheWholeAnswer) {
  start();
  const json request = {{"prompt", "Hello world, streaming"}, {"max_tokens", 20}, {"ignore_eos", true}, {"seed", 7},
                        {"temperature", 0.8}};
  const Answer whole = post(port_, "/v1/completions", request);
  ASSERT_EQ(whole.status, 200) << whole.body;
  json streamed_request = request;
  streamed_request["stream"] = true;
  streamed_request["stream_options"] = {{"include_usage", true}};
  const Streamed s = post_stream(port_, "/v1/completions", streamed_request);
  ASSERT_EQ(s.status, 200);
  EXPECT_TRUE(s.done) << "the stream ends with data: [DONE]";
  ASSERT_GE(s.events.size(), 2u);
  std::string text;
  std::vector<int> tokens;
  for (std::size_t i = 0; i + 1 < s.events.size(); ++i) {
    const json& choice = s.events[i]["choices"][0];
    text += choice["text"].get<std::string>();
    for (int t : ids(choice)) tokens.push_back(t);
    EXPECT_EQ(choice["finish_reason"].is_null(), i + 2 < s.events.size()) << "only the last chunk has a finish_reason";
  }
  EXPECT_EQ(text, whole.body["choices"][0]["text"].get<std::string>());
  EXPECT_EQ(tokens, ids(whole.body["choices"][0]));
  EXPECT_EQ(s.events.back()["usage"], whole.body["usage"]) << "stream_options.include_usage: a last chunk with the usage";
  EXPECT_TRUE(s.events.back()["choices"].empty());
}

TEST_F(Server, ConcurrentRequestsRunInOneBatch) {
  start({"--max-seqs", "8"});
  constexpr int kRequests = 4;
  std::vector<Streamed> results(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i)
    threads.emplace_back([&, i] {
      results[i] = post_stream(port_, "/v1/completions",
                               json{{"prompt", test::prompt(6, kVocab, i)}, {"max_tokens", 300}, {"ignore_eos", true},
                                    {"stream", true}});
    });
  for (std::thread& t : threads) t.join();
  // One engine thread runs one step at a time: requests whose token streams overlap in time were
  // in the running batch together. Sequential service would give disjoint intervals.
  Clock::time_point latest_first = Clock::time_point::min(), earliest_last = Clock::time_point::max();
  for (const Streamed& s : results) {
    ASSERT_EQ(s.status, 200);
    ASSERT_TRUE(s.done);
    latest_first = std::max(latest_first, s.arrivals.front());
    earliest_last = std::min(earliest_last, s.arrivals.back());
  }
  EXPECT_LT(latest_first, earliest_last) << "every request had its first token before any had its last";
  // Batching changes nothing in the answers: each equals the request served alone.
  for (int i = 0; i < kRequests; ++i) {
    const Answer alone = post(port_, "/v1/completions",
                              json{{"prompt", test::prompt(6, kVocab, i)}, {"max_tokens", 300}, {"ignore_eos", true}});
    std::vector<int> streamed;
    for (const json& e : results[i].events)
      for (int t : ids(e["choices"][0])) streamed.push_back(t);
    EXPECT_EQ(streamed, ids(alone.body["choices"][0])) << "request " << i;
  }
}

TEST_F(Server, StopStringsAndStopTokensEndTheAnswer) {
  start();
  const json base = {{"prompt", "Stop here"}, {"max_tokens", 40}, {"ignore_eos", true}};
  const Answer full = post(port_, "/v1/completions", base);
  ASSERT_EQ(full.status, 200) << full.body;
  const std::vector<int> all = ids(full.body["choices"][0]);
  const std::string text = full.body["choices"][0]["text"];
  // A stop string taken from the middle of the answer: the first printable ASCII pair after a few tokens.
  const std::string head = tokenizer().decode({all.begin(), all.begin() + 4});
  std::string stop;
  for (std::size_t i = head.size(); i + 1 < text.size() && stop.empty(); ++i)
    if (std::isalnum(static_cast<unsigned char>(text[i])) && std::isalnum(static_cast<unsigned char>(text[i + 1])))
      stop = text.substr(i, 2);
  ASSERT_FALSE(stop.empty()) << "no ASCII pair in " << text;
  // Expected: the tokens up to the one whose text completes the stop string; the text before it.
  std::size_t k = 1;
  while (tokenizer().decode({all.begin(), all.begin() + k}).find(stop) == std::string::npos) ++k;
  json with_stop = base;
  with_stop["stop"] = {"never-appears", stop};
  const Answer stopped = post(port_, "/v1/completions", with_stop);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(stopped.body["choices"][0]["text"], text.substr(0, text.find(stop)));
  EXPECT_EQ(ids(stopped.body["choices"][0]), std::vector<int>(all.begin(), all.begin() + k));
  EXPECT_EQ(stopped.body["usage"]["completion_tokens"], k);
  // Streamed, the text held back for a possible stop string still adds up to the same.
  json streamed = with_stop;
  streamed["stream"] = true;
  const Streamed s = post_stream(port_, "/v1/completions", streamed);
  std::string streamed_text;
  for (const json& e : s.events) streamed_text += e["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(streamed_text, stopped.body["choices"][0]["text"].get<std::string>());

  json with_token = base;
  with_token["stop_token_ids"] = {all[5]};
  const Answer token_stopped = post(port_, "/v1/completions", with_token);
  const auto first = std::find(all.begin(), all.end(), all[5]);
  EXPECT_EQ(ids(token_stopped.body["choices"][0]), std::vector<int>(all.begin(), first + 1));
  EXPECT_EQ(token_stopped.body["choices"][0]["finish_reason"], "stop");
}

TEST_F(Server, ChatRendersTheModelsTemplate) {
  start();
  const Answer chat = post(port_, "/v1/chat/completions",
                           json{{"messages", {{{"role", "user"}, {"content", "Hello there"}}}}, {"max_tokens", 8},
                                {"ignore_eos", true}});
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.body["object"], "chat.completion");
  EXPECT_EQ(chat.body["choices"][0]["message"]["role"], "assistant");
  // The test tokenizer's template, evaluated by hand for one user message with the generation prompt.
  const std::vector<int> prompt = tokenizer().encode("<｜begin▁of▁sentence｜><｜User｜>Hello there<｜Assistant｜>");
  EXPECT_EQ(prompt.front(), 0) << "the bos token";
  EXPECT_EQ(chat.body["usage"]["prompt_tokens"], prompt.size());
  const Answer same = post(port_, "/v1/completions", json{{"prompt", prompt}, {"max_tokens", 8}, {"ignore_eos", true}});
  EXPECT_EQ(ids(chat.body["choices"][0]), ids(same.body["choices"][0]));
  EXPECT_EQ(chat.body["choices"][0]["message"]["content"], same.body["choices"][0]["text"]);

  const Streamed s = post_stream(port_, "/v1/chat/completions",
                                 json{{"messages", {{{"role", "user"}, {"content", "Hello there"}}}}, {"max_tokens", 8},
                                      {"ignore_eos", true}, {"stream", true}});
  ASSERT_TRUE(s.done);
  std::string content;
  for (const json& e : s.events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    content += e["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(s.events.front()["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(content, same.body["choices"][0]["text"].get<std::string>());
}

TEST_F(Server, TextPromptsGoThroughTheTokenizer) {
  start();
  const std::string text = "The quick brown fox 跳过 the lazy dog 🙂";
  const Answer a = post(port_, "/v1/completions", json{{"prompt", text}, {"max_tokens", 6}, {"ignore_eos", true}});
  ASSERT_EQ(a.status, 200) << a.body;
  const std::vector<int> encoded = tokenizer().encode(text, true);
  EXPECT_EQ(a.body["usage"]["prompt_tokens"], encoded.size()) << "the prompt's tokens, bos first";
  const Answer by_ids = post(port_, "/v1/completions", json{{"prompt", encoded}, {"max_tokens", 6}, {"ignore_eos", true}});
  EXPECT_EQ(ids(a.body["choices"][0]), ids(by_ids.body["choices"][0]));
  EXPECT_EQ(a.body["choices"][0]["text"], tokenizer().decode(ids(a.body["choices"][0])));
  const Answer models = [&] {
    auto r = client(port_)->Get("/v1/models");
    return Answer{r ? r->status : 0, r ? json::parse(r->body, nullptr, false) : json()};
  }();
  EXPECT_EQ(models.body["data"][0]["id"], "model");
}

void expect_error(const Answer& a, int status, const std::string& says) {
  EXPECT_EQ(a.status, status) << a.body;
  ASSERT_TRUE(a.body.contains("error")) << a.body;
  const json& e = a.body["error"];
  EXPECT_EQ(e["code"], status);
  EXPECT_TRUE(e["type"].is_string());
  EXPECT_NE(e["message"].get<std::string>().find(says), std::string::npos) << e["message"] << " should say " << says;
}

TEST_F(Server, BadRequestsGetJsonErrorsAndTheServerKeepsServing) {
  start();
  expect_error(post(port_, "/v1/completions", std::string("{\"prompt\": [1, 2")), 400, "malformed JSON");
  expect_error(post(port_, "/v1/completions", std::string("{\"prompt\": [1e400, 2]}")), 400, "malformed JSON");
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, 2}}, {"max_tokens", "ten"}}), 400, "max_tokens");
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, 2}}, {"max_tokens", 0}}), 400, "max_tokens");
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, 2}}, {"stream", "yes"}}), 400, "stream");
  // Found against fuzz_http's rule that an accepted temperature is a finite float: 1e300 became infinity.
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, 2}}, {"temperature", 1e300}}), 400, "temperature");
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, 2}}, {"temperature", -0.5}}), 400, "temperature");
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, kVocab + 5}}}), 400, "outside the vocabulary");
  expect_error(post(port_, "/v1/completions", json{{"prompt", test::prompt(2100, kVocab)}}), 400, "context");
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, 2}}, {"model", "gpt-4"}}), 404, "gpt-4");
  expect_error(post(port_, "/v1/chat/completions", json{{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}), 400,
               "role");
  expect_error(post(port_, "/v1/completions", std::string("[1, 2]")), 400, "JSON object");
  // Nesting a million deep: refused before parsing (kMaxJsonNesting; a recursion through it would end the server).
  const std::string nested = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  expect_error(post(port_, "/v1/completions", "{\"prompt\": " + nested + "}"), 400, "nested deeper than 64 levels");
  expect_error(post(port_, "/v1/completions", "{\"model\": " + nested + "}"), 400, "nested deeper than 64 levels");
  // Malformed HTTP on a raw socket: an error answer, and the server lives on.
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string garbage = "NOT HTTP AT ALL\r\n\xff\xfe\r\n\r\n";
  ASSERT_EQ(send(sock, garbage.data(), garbage.size(), 0), static_cast<ssize_t>(garbage.size()));
  char reply[512] = {};
  timeval wait{5, 0};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const ssize_t n = recv(sock, reply, sizeof reply - 1, 0);
  close(sock);
  EXPECT_GT(n, 0);
  EXPECT_EQ(std::string(reply).rfind("HTTP/1.1 400", 0), 0u) << reply;
  auto health = client(port_)->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(post(port_, "/v1/completions", json{{"prompt", {1, 2}}, {"max_tokens", 2}}).status, 200);
}

TEST_F(Server, WithoutTokenizerTextIsRefusedAndTokensServed) {
  start({}, (workspace_.model_dir() / "config.json").string());
  expect_error(post(port_, "/v1/completions", json{{"prompt", "hello"}}), 400, "token ids");
  expect_error(post(port_, "/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", "x"}}}}}), 400,
               "tokenizer");
  const Answer a = post(port_, "/v1/completions", json{{"prompt", {5, 6, 7}}, {"max_tokens", 3}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(ids(a.body["choices"][0]).size(), 3u);
}

TEST_F(Server, FullQueueAnswers503AndAHangUpAbortsTheRequest) {
  start({"--max-seqs", "1", "--max-queue", "1"});
  std::atomic<bool> hang_up{false};
  Answer queued;
  std::thread waiting_request;
  int refused_status = 0;
  // A long streamed request occupies the only running slot; inside its stream, a second one queues
  // and a third finds the queue full; then the client of the first hangs up.
  const Streamed first = post_stream(
      port_, "/v1/completions", json{{"prompt", {1, 2, 3}}, {"max_tokens", 2000}, {"ignore_eos", true}, {"stream", true}},
      [&](const json&) {
        if (waiting_request.joinable()) return !hang_up.load();
        waiting_request = std::thread(
            [&] { queued = post(port_, "/v1/completions", json{{"prompt", {4, 5}}, {"max_tokens", 4}}); });
        scrape_until(port_, [&](auto& m) { return m[metric("vllm:num_requests_waiting")] >= 1; });
        refused_status = post(port_, "/v1/completions", json{{"prompt", {6, 7}}, {"max_tokens", 4}}).status;
        hang_up = true;
        return false;
      });
  waiting_request.join();
  EXPECT_EQ(refused_status, 503);
  EXPECT_FALSE(first.done) << "the first request was still generating when its client hung up";
  EXPECT_EQ(queued.status, 200) << "the queued request ran once the first was aborted";
  std::map<std::string, double> m = scrape_until(port_, [&](auto& m) {
    return m[metric("vllm:request_success_total", ",finished_reason=\"abort\"")] >= 1 &&
           m[metric("vllm:num_requests_running")] == 0;
  });
  EXPECT_EQ(m[metric("vllm:request_success_total", ",finished_reason=\"abort\"")], 1);
  EXPECT_EQ(m[metric("vllm:num_requests_running")], 0);
}

TEST_F(Server, RequestTimeoutAnswers504AndAbortsInTheEngine) {
  start({"--request-timeout", "0.05", "--max-seqs", "1"});
  const auto started = Clock::now();
  expect_error(post(port_, "/v1/completions", json{{"prompt", {1, 2, 3}}, {"max_tokens", 2000}, {"ignore_eos", true}}),
               504, "--request-timeout");
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  std::map<std::string, double> m = scrape_until(
      port_, [&](auto& m) { return m[metric("vllm:request_success_total", ",finished_reason=\"abort\"")] >= 1; });
  EXPECT_EQ(m[metric("vllm:request_success_total", ",finished_reason=\"abort\"")], 1);
  EXPECT_LT(m[metric("vllm:generation_tokens_total")], 2000) << "the engine stopped generating for it";
}

TEST_F(Server, SigtermFinishesInFlightRequestsAndExitsZero) {
  start();
  constexpr int kRequests = 3;
  std::vector<Answer> answers(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i)
    threads.emplace_back([&, i] {
      answers[i] = post(port_, "/v1/completions",
                        json{{"prompt", test::prompt(4, kVocab, i)}, {"max_tokens", 1500}, {"ignore_eos", true}});
    });
  scrape_until(port_, [&](auto& m) { return m[metric("vllm:num_requests_running")] >= kRequests; });
  server_->signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto health = client(port_)->Get("/health");
  ASSERT_TRUE(health) << "still answering while it drains";
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(post(port_, "/v1/completions", json{{"prompt", {1, 2}}}).status, 503) << "no new work while draining";
  for (std::thread& t : threads) t.join();
  for (const Answer& a : answers) {
    EXPECT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.body["usage"]["completion_tokens"], 1500);
  }
  EXPECT_EQ(server_->wait_exit(std::chrono::seconds(30)), 0) << server_->log();
}

TEST_F(Server, MetricsPassPromtoolAndCountWhatWasServed) {
  start();
  long long prompt_tokens = 0, completion_tokens = 0;
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    const Answer a = post(port_, "/v1/completions",
                          json{{"prompt", test::prompt(3 + i, kVocab, i)}, {"max_tokens", 4 + i}, {"ignore_eos", true}});
    ASSERT_EQ(a.status, 200);
    prompt_tokens += a.body["usage"]["prompt_tokens"].get<long long>();
    completion_tokens += a.body["usage"]["completion_tokens"].get<long long>();
  }
  std::map<std::string, double> m = scrape(port_);
  EXPECT_EQ(m[metric("vllm:prompt_tokens_total")], prompt_tokens);
  EXPECT_EQ(m[metric("vllm:generation_tokens_total")], completion_tokens);
  EXPECT_EQ(m[metric("vllm:request_success_total", ",finished_reason=\"length\"")], kRequests);
  EXPECT_EQ(m[metric("vllm:time_to_first_token_seconds_count")], kRequests);
  EXPECT_EQ(m[metric("vllm:e2e_request_latency_seconds_count")], kRequests);
  EXPECT_EQ(m[metric("vllm:inter_token_latency_seconds_count")], completion_tokens - kRequests);
  EXPECT_EQ(m[metric("vllm:time_to_first_token_seconds_bucket", ",le=\"+Inf\"")], kRequests);
  EXPECT_EQ(m[metric("vllm:num_requests_running")], 0);
  EXPECT_EQ(m[metric("vllm:kv_cache_usage_perc")], 0);
  EXPECT_GT(m[metric("aidc_model_load_time_seconds")], 0);

  if (system("command -v promtool > /dev/null 2>&1") != 0) GTEST_SKIP() << "promtool not installed (Debian: prometheus)";
  auto r = client(port_)->Get("/metrics");
  ASSERT_TRUE(r);
  const fs::path exposition = workspace_.root() / "metrics.txt";
  std::ofstream(exposition) << r->body;
  const ChildRun check = run_command("promtool check metrics < " + exposition.string());
  // promtool parses the exposition (exit 1 on a format error) and lints it (exit 3). Its lint
  // reserves ':' for recording rules, which vLLM's own names use: that finding, and only it, is accepted.
  EXPECT_TRUE(check.exit_code == 0 || check.exit_code == 3) << check.output;
  std::istringstream findings(check.output);
  for (std::string line; std::getline(findings, line);)
    EXPECT_TRUE(line.rfind("vllm:", 0) == 0 && line.find("metric names should not contain ':'") != std::string::npos)
        << "promtool: " << line;
}

}  // namespace
}  // namespace aidc
