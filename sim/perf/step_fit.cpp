#include "perf/step_fit.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace aidc {
namespace {

constexpr int kTerms = 4;  // base, decode sequences, KV tokens, prefill tokens
using Terms = std::array<double, kTerms>;

// A request's decode span as a sum of step terms (step_fit.hpp says why each is identifiable).
struct SpanFeatures {
  Terms x{};
  double span_s = 0;
};

double kv_at(const CompletedRequestRow& r, double t) {
  const double span = r.finish_s - r.first_token_s;
  const double made = span > 0 ? r.output_tokens * std::clamp((t - r.first_token_s) / span, 0.0, 1.0) : r.output_tokens;
  return r.prompt_tokens + made;
}

SpanFeatures span_features(const MeasuredRun& run, std::size_t i) {
  const CompletedRequestRow& me = run[i];
  SpanFeatures f;
  f.span_s = me.finish_s - me.first_token_s;
  const double steps = me.output_tokens - 1;
  double sequences = 0, kv = 0, prefill = 0;
  for (std::size_t j = 0; j < run.size(); ++j) {
    const CompletedRequestRow& other = run[j];
    const double from = std::max(me.first_token_s, other.first_token_s), to = std::min(me.finish_s, other.finish_s);
    if (to > from) {
      const double share = (to - from) / f.span_s;
      sequences += share;
      kv += share * kv_at(other, 0.5 * (from + to));
    }
    if (j != i && other.first_token_s > me.first_token_s && other.first_token_s <= me.finish_s) prefill += other.prompt_tokens;
  }
  f.x = {steps, steps * sequences, steps * kv, prefill};
  return f;
}

// The step in which request i's prompt ran: the sequences decoding when its first token came, its prompt.
Terms prefill_step_terms(const MeasuredRun& run, std::size_t i) {
  const double t = run[i].first_token_s;
  double sequences = 0, kv = 0;
  for (std::size_t j = 0; j < run.size(); ++j)
    if (j != i && run[j].first_token_s < t && t < run[j].finish_s) sequences += 1, kv += kv_at(run[j], t);
  return {1, sequences, kv, double(run[i].prompt_tokens)};
}

Terms coefficients(const CalibrationProfile::StepFit& f) {
  return {f.base_s, f.per_decode_sequence_s, f.per_kv_token_s, f.per_prefill_token_s};
}

double dot(const Terms& a, const Terms& b) {
  double s = 0;
  for (int k = 0; k < kTerms; ++k) s += a[k] * b[k];
  return s;
}

// Least squares of y on the columns not excluded, each column scaled to unit norm (the terms differ by
// orders of magnitude), by Gaussian elimination with partial pivoting on the normal equations.
Terms least_squares(const std::vector<Terms>& x, const std::vector<double>& y, const std::array<bool, kTerms>& used) {
  Terms scale{};
  for (const auto& row : x)
    for (int k = 0; k < kTerms; ++k) scale[k] += row[k] * row[k];
  std::vector<int> cols;
  for (int k = 0; k < kTerms; ++k)
    if (used[k] && scale[k] > 0) cols.push_back(k), scale[k] = std::sqrt(scale[k]);
  const std::size_t n = cols.size();
  std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0));
  for (std::size_t r = 0; r < x.size(); ++r)
    for (std::size_t p = 0; p < n; ++p) {
      const double xp = x[r][cols[p]] / scale[cols[p]];
      for (std::size_t q = 0; q < n; ++q) a[p][q] += xp * x[r][cols[q]] / scale[cols[q]];
      a[p][n] += xp * y[r];
    }
  for (std::size_t p = 0; p < n; ++p) a[p][p] *= 1 + 1e-12;  // keeps a column that repeats another solvable
  for (std::size_t p = 0; p < n; ++p) {
    std::size_t pivot = p;
    for (std::size_t r = p + 1; r < n; ++r)
      if (std::fabs(a[r][p]) > std::fabs(a[pivot][p])) pivot = r;
    std::swap(a[p], a[pivot]);
    if (std::fabs(a[p][p]) < 1e-300) continue;
    for (std::size_t r = 0; r < n; ++r) {
      if (r == p) continue;
      const double k = a[r][p] / a[p][p];
      for (std::size_t c = p; c <= n; ++c) a[r][c] -= k * a[p][c];
    }
  }
  Terms out{};
  for (std::size_t p = 0; p < n; ++p) out[cols[p]] = std::fabs(a[p][p]) < 1e-300 ? 0 : a[p][n] / a[p][p] / scale[cols[p]];
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

std::vector<RequestPrediction> predict_requests(const CalibrationProfile::StepFit& fit, const MeasuredRun& run) {
  const Terms c = coefficients(fit);
  std::vector<RequestPrediction> out(run.size());
  for (std::size_t i = 0; i < run.size(); ++i) {
    if (run[i].output_tokens >= 2) out[i].decode_span_s = dot(c, span_features(run, i).x);
    // Its own prefill step, half a step in flight when it arrived, and the frontend.
    out[i].ttft_s = fit.frontend_s + 1.5 * dot(c, prefill_step_terms(run, i));
  }
  return out;
}

CalibrationProfile::StepFit fit_step_model(const std::vector<MeasuredRun>& runs) {
  std::vector<Terms> x;
  std::vector<double> y;
  CalibrationProfile::StepFit fit;
  for (const MeasuredRun& run : runs) {
    fit.requests += static_cast<int>(run.size());
    for (std::size_t i = 0; i < run.size(); ++i) {
      const CompletedRequestRow& r = run[i];
      fit.max_context_tokens = std::max(fit.max_context_tokens, double(r.prompt_tokens + r.output_tokens));
      fit.max_prompt_tokens = std::max(fit.max_prompt_tokens, double(r.prompt_tokens));
      fit.max_decode_batch = std::max(fit.max_decode_batch, 1 + static_cast<int>(prefill_step_terms(run, i)[1]));
      if (r.output_tokens < 2 || !(r.finish_s > r.first_token_s)) continue;
      const SpanFeatures f = span_features(run, i);
      // Each request enters as its TPOT (span and features over its steps), so long answers do not dominate.
      const double w = 1 / f.x[0];
      Terms scaled;
      for (int k = 0; k < kTerms; ++k) scaled[k] = f.x[k] * w;
      x.push_back(scaled);
      y.push_back(f.span_s * w);
    }
    if (!run.empty()) ++fit.runs;
  }
  if (x.size() < kTerms) throw std::invalid_argument("too few completed requests with two or more output tokens to fit a step model");
  // Non-negative least squares, exactly: with four terms, every subset of them fitted and the best fit
  // whose coefficients are all non-negative kept (a term the data cannot support drops out).
  Terms c{};
  double best = -1;
  for (unsigned subset = 1; subset < (1u << kTerms); ++subset) {
    std::array<bool, kTerms> used{};
    for (int k = 0; k < kTerms; ++k) used[k] = (subset >> k) & 1u;
    const Terms trial = least_squares(x, y, used);
    if (std::any_of(trial.begin(), trial.end(), [](double v) { return v < 0; })) continue;
    double residual = 0;
    for (std::size_t r = 0; r < x.size(); ++r) residual += std::pow(dot(trial, x[r]) - y[r], 2);
    if (best < 0 || residual < best) best = residual, c = trial;
  }
  fit.base_s = c[0], fit.per_decode_sequence_s = c[1], fit.per_kv_token_s = c[2], fit.per_prefill_token_s = c[3];
  // Frontend: the median of what the prefill step and half a step of waiting leave of the TTFT.
  std::vector<double> rest;
  for (const MeasuredRun& run : runs)
    for (std::size_t i = 0; i < run.size(); ++i)
      rest.push_back(run[i].first_token_s - run[i].arrival_s - 1.5 * dot(c, prefill_step_terms(run, i)));
  fit.frontend_s = std::max(0.0, median(rest));
  // The errors a planner meets: each run's mean TPOT and mean TTFT, predicted against measured, averaged
  // over the runs (single requests of a busy server scatter far more than their mean).
  double tpot_error = 0, ttft_error = 0;
  for (const MeasuredRun& run : runs) {
    const auto predicted = predict_requests(fit, run);
    double tpot_measured = 0, tpot_predicted = 0, ttft_measured = 0, ttft_predicted = 0;
    int decoded = 0;
    for (std::size_t i = 0; i < run.size(); ++i) {
      ttft_measured += run[i].first_token_s - run[i].arrival_s, ttft_predicted += predicted[i].ttft_s;
      const double steps = run[i].output_tokens - 1, span = run[i].finish_s - run[i].first_token_s;
      if (steps < 1 || !(span > 0)) continue;
      tpot_measured += span / steps, tpot_predicted += predicted[i].decode_span_s / steps, ++decoded;
    }
    if (decoded > 0) tpot_error += std::fabs(tpot_predicted / tpot_measured - 1);
    if (ttft_measured > 0) ttft_error += std::fabs(ttft_predicted / ttft_measured - 1);
  }
  fit.tpot_error = tpot_error / fit.runs;
  fit.ttft_error = ttft_error / fit.runs;
  return fit;
}

}  // namespace aidc
