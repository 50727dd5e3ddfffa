#include "runtime/simple_sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ember {

int32_t ArgMax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  }
  return best;
}

int32_t SimpleSampler::Choose(std::span<const float> logits) {
  if (temperature_ <= 0.0f) return ArgMax(logits);
  const float max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp(static_cast<double>((logits[i] - max) / temperature_));
    sum += p[i];
  }
  std::uniform_real_distribution<double> u(0.0, sum);
  double r = u(rng_);
  for (size_t i = 0; i < p.size(); ++i) {
    r -= p[i];
    if (r <= 0.0) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(p.size() - 1);
}

}  // namespace ember
