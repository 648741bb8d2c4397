#pragma once
// Prometheus's HTTP API (https://prometheus.io/docs/prometheus/2.42/querying/api/): instant queries
// (GET /api/v1/query) and range queries (GET /api/v1/query_range), answers parsed into series of
// (time, value) points. Values arrive as strings and may be "NaN", "+Inf" or "-Inf" (a quantile over
// an empty window is NaN); they are kept as such, and the caller decides what a NaN means.
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace aidc::twin {

using Labels = std::map<std::string, std::string>;

struct Point {
  double t = 0;  // Unix seconds
  double value = 0;
};

struct Series {
  Labels labels;
  std::vector<Point> points;  // an instant query: one; a range query: in time order
  const std::string& label(const std::string& name) const;  // "" when absent
};

// What Prometheus could not answer, or an answer that is not its API's: the message says which query and why.
class PrometheusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The `data` of an API answer: a vector, matrix or scalar (as one series with no labels); throws
// PrometheusError on `"status": "error"` (with Prometheus's errorType and error) or on a body that
// is not the API's JSON.
std::vector<Series> parse_query_response(const std::string& body);

class PrometheusClient {
 public:
  // `url`: http://host:port[/prefix]; `timeout_s` bounds each request (connect and read).
  explicit PrometheusClient(const std::string& url, double timeout_s = 2.0);
  ~PrometheusClient();
  PrometheusClient(const PrometheusClient&) = delete;
  PrometheusClient& operator=(const PrometheusClient&) = delete;

  // Throws PrometheusError when Prometheus cannot be reached or refuses the query.
  std::vector<Series> query(const std::string& expr);
  std::vector<Series> query_range(const std::string& expr, double start, double end, double step_s);
  const std::string& url() const { return url_; }

 private:
  std::vector<Series> get(const std::string& path, const std::multimap<std::string, std::string>& params);
  std::string url_, prefix_;
  struct Http;
  std::unique_ptr<Http> http_;
};

}  // namespace aidc::twin
