#include "twin/prometheus.hpp"

#include <httplib.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/common/json_parse.hpp"

namespace aidc::twin {
namespace {

// Prometheus writes sample values as strings: numbers, "NaN", "+Inf", "-Inf".
double sample_value(const nlohmann::json& v) {
  const std::string text = v.get<std::string>();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  std::size_t used = 0;
  const double value = std::stod(text, &used);
  if (used != text.size()) throw PrometheusError("sample value '" + text + "' is not a number");
  return value;
}

Point point(const nlohmann::json& pair) {
  if (!pair.is_array() || pair.size() != 2) throw PrometheusError("a sample is not a [time, \"value\"] pair");
  return {pair[0].get<double>(), sample_value(pair[1])};
}

Series series(const nlohmann::json& item) {
  Series s;
  for (const auto& [name, value] : item.at("metric").items()) s.labels[name] = value.get<std::string>();
  if (item.contains("value")) s.points.push_back(point(item["value"]));
  if (item.contains("values"))
    for (const auto& p : item["values"]) s.points.push_back(point(p));
  return s;
}

}  // namespace

const std::string& Series::label(const std::string& name) const {
  static const std::string none;
  const auto it = labels.find(name);
  return it == labels.end() ? none : it->second;
}

std::vector<Series> parse_query_response(const std::string& body) {
  nlohmann::json doc;
  try {
    doc = parse_json(body);
  } catch (const nlohmann::json::exception&) {
    throw PrometheusError("the answer is not JSON: " + body.substr(0, 120));
  }
  try {
    if (doc.value("status", "") != "success")
      throw PrometheusError("Prometheus refused the query (" + doc.value("errorType", std::string("no errorType")) +
                            "): " + doc.value("error", std::string("no message")));
    const auto& data = doc.at("data");
    const std::string type = data.at("resultType").get<std::string>();
    std::vector<Series> result;
    if (type == "scalar") {
      result.push_back(Series{{}, {point(data.at("result"))}});
    } else if (type == "vector" || type == "matrix") {
      for (const auto& item : data.at("result")) result.push_back(series(item));
    } else {
      throw PrometheusError("unexpected resultType '" + type + "'");
    }
    return result;
  } catch (const nlohmann::json::exception& e) {
    throw PrometheusError(std::string("the answer is not the query API's: ") + e.what());
  } catch (const std::logic_error& e) {  // std::stod
    throw PrometheusError(std::string("a sample value is not a number: ") + e.what());
  }
}

struct PrometheusClient::Http {
  explicit Http(const std::string& scheme_host_port) : client(scheme_host_port) {}
  httplib::Client client;
};

PrometheusClient::PrometheusClient(const std::string& url, double timeout_s) : url_(url) {
  const auto scheme = url.find("://");
  if (url.rfind("http://", 0) != 0 || scheme == std::string::npos)
    throw std::invalid_argument("--prometheus: expected http://host:port[/prefix], got '" + url + "'");
  const auto path = url.find('/', scheme + 3);
  prefix_ = path == std::string::npos ? "" : url.substr(path);
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  http_ = std::make_unique<Http>(url.substr(0, path));
  const auto whole = static_cast<time_t>(timeout_s);
  const auto micros = static_cast<time_t>((timeout_s - static_cast<double>(whole)) * 1e6);
  http_->client.set_connection_timeout(whole, micros);
  http_->client.set_read_timeout(whole, micros);
}

PrometheusClient::~PrometheusClient() = default;

std::vector<Series> PrometheusClient::get(const std::string& path, const std::multimap<std::string, std::string>& params) {
  const std::string& expr = params.find("query")->second;
  auto answer = http_->client.Get(prefix_ + path, params, httplib::Headers{});
  if (!answer) throw PrometheusError(url_ + " unreachable (" + httplib::to_string(answer.error()) + ")");
  try {
    return parse_query_response(answer->body);
  } catch (const PrometheusError& e) {
    throw PrometheusError("query '" + expr + "': " + e.what());
  }
}

std::vector<Series> PrometheusClient::query(const std::string& expr) { return get("/api/v1/query", {{"query", expr}}); }

std::vector<Series> PrometheusClient::query_range(const std::string& expr, double start, double end, double step_s) {
  return get("/api/v1/query_range",
             {{"query", expr}, {"start", std::to_string(start)}, {"end", std::to_string(end)}, {"step", std::to_string(step_s)}});
}

}  // namespace aidc::twin
