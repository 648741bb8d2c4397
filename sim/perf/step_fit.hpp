#pragma once
// Black-box calibration (`aidc calibrate`, docs/fidelity.md "Black-box calibration"): the iteration
// time of a serving engine aidc does not own, fitted from the per-request timings of measured runs
// (requests.csv of `aidc load` against any OpenAI-compatible server).
//
// What requests.csv identifies: under continuous batching a request's decode span [first token, finish]
// is (output - 1) steps, and every request decoding at the same time shares those steps. So the span's
// length is the sum of its steps' times, and with the step model of CalibrationProfile::StepFit it is
// linear in four per-request features: its steps; steps x the mean number of sequences decoding beside
// it (itself included); steps x the mean KV tokens those sequences hold (prompt + tokens made so far,
// taken as growing linearly between first token and finish); and the prompt tokens of every request
// whose first token falls inside the span (its prefill ran in one of the span's steps). Least squares
// of every request's TPOT (span and features over its steps, so each request weighs the same) over all
// runs, coefficients kept non-negative (exact NNLS over the subsets of the four terms). The frontend is what remains of the
// time to first token once the request's own prefill step and half a step of waiting are taken off
// (median over requests, so queueing outliers do not move it).
#include <string>
#include <vector>

#include "core/calibration/profile.hpp"
#include "workload/csv_input.hpp"

namespace aidc {

using MeasuredRun = std::vector<CompletedRequestRow>;  // one run's completed requests (load_completed_requests)

// What the step model predicts for one request of a run, from the other requests around it.
struct RequestPrediction {
  double decode_span_s = 0;  // finish - first token
  double ttft_s = 0;
};

// The fit over `runs` (at least one request with two or more output tokens); the errors and range
// are those of the runs themselves. Throws std::invalid_argument when nothing can be fitted.
CalibrationProfile::StepFit fit_step_model(const std::vector<MeasuredRun>& runs);
// `fit` applied to the requests of `run` as they were measured (their neighbours as measured).
std::vector<RequestPrediction> predict_requests(const CalibrationProfile::StepFit& fit, const MeasuredRun& run);

}  // namespace aidc
