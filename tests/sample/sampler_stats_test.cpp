// Statistical tests: over many seeded draws, token frequencies match the distribution each
// sampler should leave (chi-square goodness of fit, significance 0.001; the seed is fixed, so
// the tests are deterministic), and tokens the sampler removes are never drawn.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sample/sampler.h"

namespace ember {
namespace {

// Upper 0.1% points of the chi-square distribution, by degrees of freedom 1..9.
constexpr double kChi2Critical001[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88};

const std::vector<float> kLogits = {2.0f, 1.6f, 1.1f, 0.9f, 0.3f, -0.2f, -0.8f, -1.5f};

std::vector<double> Softmax(const std::vector<float>& logits, double temp, const std::vector<bool>& keep) {
  double mx = -1e30;
  for (size_t i = 0; i < logits.size(); ++i) if (keep[i]) mx = std::max(mx, logits[i] / temp);
  std::vector<double> p(logits.size(), 0.0);
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (keep[i]) {
      p[i] = std::exp(logits[i] / temp - mx);
      sum += p[i];
    }
  }
  for (double& x : p) x /= sum;
  return p;
}

void ExpectDistribution(const SamplerParams& params, const std::vector<double>& expected, int draws) {
  Sampler s(params, static_cast<int32_t>(kLogits.size()), {}, {});
  std::vector<int> counts(kLogits.size(), 0);
  for (int i = 0; i < draws; ++i) counts[static_cast<size_t>(s.Sample(kLogits))]++;
  double chi2 = 0;
  int df = -1;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " should have been removed";
      continue;
    }
    const double e = expected[i] * draws;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
    df++;
  }
  ASSERT_GE(df, 1);
  EXPECT_LT(chi2, kChi2Critical001[df]) << "df " << df;
}

SamplerParams NoFilters(uint32_t seed) {
  SamplerParams p;
  p.seed = seed;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.temp = 1.0f;
  return p;
}

TEST(SamplerStats, TemperatureScalesTheSoftmax) {
  for (float t : {0.5f, 1.0f, 1.7f}) {
    SamplerParams p = NoFilters(11);
    p.temp = t;
    ExpectDistribution(p, Softmax(kLogits, t, std::vector<bool>(kLogits.size(), true)), 40000);
  }
}

TEST(SamplerStats, TopKKeepsTheKLikeliest) {
  SamplerParams p = NoFilters(12);
  p.top_k = 3;
  std::vector<bool> keep(kLogits.size(), false);
  keep[0] = keep[1] = keep[2] = true;
  ExpectDistribution(p, Softmax(kLogits, 1.0, keep), 40000);
}

TEST(SamplerStats, TopPKeepsTheSmallestSetReachingP) {
  SamplerParams p = NoFilters(13);
  p.top_p = 0.8f;
  const auto full = Softmax(kLogits, 1.0, std::vector<bool>(kLogits.size(), true));
  std::vector<bool> keep(kLogits.size(), false);
  double cum = 0;
  for (size_t i = 0; i < full.size() && cum < 0.8; ++i) {  // logits are already descending
    keep[i] = true;
    cum += full[i];
  }
  ExpectDistribution(p, Softmax(kLogits, 1.0, keep), 40000);
}

TEST(SamplerStats, MinPKeepsTokensAboveAFractionOfTheTop) {
  SamplerParams p = NoFilters(14);
  p.min_p = 0.2f;
  const auto full = Softmax(kLogits, 1.0, std::vector<bool>(kLogits.size(), true));
  std::vector<bool> keep(kLogits.size(), false);
  for (size_t i = 0; i < full.size(); ++i) keep[i] = full[i] >= 0.2 * full[0];
  ExpectDistribution(p, Softmax(kLogits, 1.0, keep), 40000);
}

TEST(SamplerStats, DefaultChainMatchesTopKTopPMinPThenTemperature) {
  SamplerParams p;  // llama.cpp defaults: top-k 40, top-p 0.95, min-p 0.05, temp 0.8
  p.seed = 15;
  const auto full = Softmax(kLogits, 1.0, std::vector<bool>(kLogits.size(), true));
  std::vector<bool> keep(kLogits.size(), false);
  double cum = 0;
  for (size_t i = 0; i < full.size() && cum < 0.95; ++i) {
    keep[i] = true;
    cum += full[i];
  }
  for (size_t i = 0; i < full.size(); ++i) keep[i] = keep[i] && full[i] >= 0.05 * full[0];
  ExpectDistribution(p, Softmax(kLogits, 0.8, keep), 40000);
}

}  // namespace
}  // namespace ember
