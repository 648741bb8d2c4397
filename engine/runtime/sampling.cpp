#include "runtime/sampling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/numeric.h"

namespace aidc {

int sample_token(const float* logits, int vocab, const SamplingParams& params, uint64_t draw) {
  return sample_with_uniform(logits, vocab, params.temperature, params.top_p, hash_unit(params.seed, draw));
}

int sample_with_uniform(const float* logits, int vocab, float temperature, float top_p, float u) {
  int best = 0;
  for (int i = 1; i < vocab; ++i)
    if (logits[i] > logits[best]) best = i;
  if (temperature <= 0.0f) return best;
  std::vector<double> p(vocab);
  double total = 0;
  for (int i = 0; i < vocab; ++i) total += p[i] = std::exp((logits[i] - logits[best]) / temperature);
  for (double& x : p) x /= total;
  double threshold = 0;
  if (top_p < 1.0f) {
    std::vector<double> sorted(p);
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    double mass = 0;
    for (double x : sorted) {
      mass += x;
      threshold = x;
      if (mass >= top_p) break;
    }
  }
  double kept = 0;
  for (double x : p) kept += x >= threshold ? x : 0;
  const double target = u * kept;
  double running = 0;
  int last_kept = best;
  for (int i = 0; i < vocab; ++i) {
    if (p[i] < threshold) continue;
    running += p[i];
    last_kept = i;
    if (running > target) return i;
  }
  return last_kept;
}

}  // namespace aidc
