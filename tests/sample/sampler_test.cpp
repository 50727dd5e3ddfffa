// Sampler chain behaviour: greedy, seeds, each stage's cut, penalties, grammar constraint.
#include "sample/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "sample/samplers.h"

namespace ember {
namespace {

std::vector<float> RandomLogits(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

TEST(Sampler, TemperatureZeroPicksTheArgmax) {
  SamplerParams p;
  p.temp = 0.0f;
  p.seed = 1;
  const auto logits = RandomLogits(1000, 7);
  Sampler s(p, 1000, {}, {});
  const auto argmax = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.Sample(logits), argmax);
}

TEST(Sampler, SameSeedReproducesTheSameTokens) {
  SamplerParams p;
  p.seed = 1234;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  std::vector<int32_t> a, b;
  for (auto* out : {&a, &b}) {
    Sampler s(p, 500, {}, {});
    for (int i = 0; i < 200; ++i) {
      const int32_t t = s.Sample(RandomLogits(500, static_cast<uint32_t>(i)));
      s.Accept(t);
      out->push_back(t);
    }
  }
  EXPECT_EQ(a, b);
  std::set<int32_t> distinct(a.begin(), a.end());
  EXPECT_GT(distinct.size(), 20u);  // really sampling, not greedy
}

TEST(Sampler, ResetRestartsTheSeededStream) {
  SamplerParams p;
  p.seed = 99;
  Sampler s(p, 300, {}, {});
  const auto logits = RandomLogits(300, 3);
  std::vector<int32_t> first, second;
  for (int i = 0; i < 50; ++i) first.push_back(s.Sample(logits));
  s.Reset();
  for (int i = 0; i < 50; ++i) second.push_back(s.Sample(logits));
  EXPECT_EQ(first, second);
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplerParams p;
  p.top_k = 1;
  p.seed = 5;
  const auto logits = RandomLogits(2000, 11);
  const auto argmax = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  Sampler s(p, 2000, {}, {});
  for (int i = 0; i < 30; ++i) EXPECT_EQ(s.Sample(logits), argmax);
}

TEST(Sampler, IgnoreEosNeverPicksEndOfGeneration) {
  SamplerParams p;
  p.ignore_eos = true;
  p.seed = 2;
  std::vector<float> logits(10, 0.0f);
  logits[3] = 20.0f;  // EOS is by far the likeliest
  Sampler s(p, 10, {}, {3});
  for (int i = 0; i < 100; ++i) EXPECT_NE(s.Sample(logits), 3);
}

TEST(Sampler, LogitBiasOutsideVocabularyIsAnError) {
  SamplerParams p;
  p.logit_bias.push_back({50, 1.0f});
  EXPECT_THROW(Sampler(p, 10, {}, {}), Error);
}

TEST(Sampler, WrongLogitCountIsAnError) {
  SamplerParams p;
  Sampler s(p, 10, {}, {});
  std::vector<float> logits(9, 0.0f);
  EXPECT_THROW(s.Sample(logits), Error);
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  PenaltyState pen(64, 2.0f, 0.5f, 0.25f);
  pen.Accept(1);
  pen.Accept(1);
  pen.Accept(2);
  std::vector<TokenData> d = {{0, 1.0f, 0}, {1, 4.0f, 0}, {2, -2.0f, 0}};
  CandidateArray cur{d.data(), d.size(), -1, true};
  pen.Apply(cur);
  EXPECT_FLOAT_EQ(d[0].logit, 1.0f);
  EXPECT_FLOAT_EQ(d[1].logit, 4.0f / 2.0f - 2 * 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(d[2].logit, -2.0f * 2.0f - 0.5f - 0.25f);
  EXPECT_FALSE(cur.sorted);
}

TEST(Sampler, RepeatPenaltyForgetsTokensOlderThanLastN) {
  PenaltyState pen(2, 2.0f, 0.0f, 0.0f);
  pen.Accept(7);
  pen.Accept(8);
  pen.Accept(9);  // 7 falls out of the window
  std::vector<TokenData> d = {{7, 4.0f, 0}, {8, 4.0f, 0}, {9, 4.0f, 0}};
  CandidateArray cur{d.data(), d.size(), -1, false};
  pen.Apply(cur);
  EXPECT_FLOAT_EQ(d[0].logit, 4.0f);
  EXPECT_FLOAT_EQ(d[1].logit, 2.0f);
  EXPECT_FLOAT_EQ(d[2].logit, 2.0f);
}

TEST(Sampler, GrammarConstrainsTheOutputToDigits) {
  // Vocabulary: single letters a..z plus digits 0..9 and "12".
  std::vector<std::string> pieces;
  for (char c = 'a'; c <= 'z'; ++c) pieces.emplace_back(1, c);
  for (char c = '0'; c <= '9'; ++c) pieces.emplace_back(1, c);
  pieces.push_back("12");
  pieces.push_back("</s>");
  const auto n = static_cast<int32_t>(pieces.size());
  SamplerParams p;
  p.seed = 42;
  p.temp = 1.5f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Sampler s(p, n, pieces, {n - 1});
  s.SetGrammar("root ::= [0-9]{3}\n");
  std::string out;
  for (int step = 0; step < 10; ++step) {
    auto logits = RandomLogits(n, static_cast<uint32_t>(step + 100));
    logits[0] = 10.0f;  // 'a' is the favourite, but never allowed
    const int32_t t = s.Sample(logits);
    s.Accept(t);
    if (t == n - 1) break;
    out += pieces[static_cast<size_t>(t)];
  }
  ASSERT_EQ(out.size(), 3u) << out;
  for (char c : out) EXPECT_TRUE(c >= '0' && c <= '9') << out;
}

}  // namespace
}  // namespace ember
