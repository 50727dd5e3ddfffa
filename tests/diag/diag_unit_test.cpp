// Unit tests of the diagnostics layer that need no model: statistics, the dump format, the
// llama-eval-callback reader, the comparison and the log-probability arithmetic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "diag/compare.h"
#include "diag/dump_io.h"
#include "diag/eval_callback.h"
#include "diag/kl_divergence.h"
#include "diag/perplexity.h"
#include "diag/stats.h"

namespace ember {
namespace {

TEST(DiagStats, ComputesMeanStdMinMaxSumExactly) {
  const float v[] = {1.0f, 2.0f, 3.0f, 4.0f, NAN};
  const TensorStats s = ComputeStats(v, 5);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.n_nonfinite, 1);
  EXPECT_DOUBLE_EQ(s.sum, 10.0);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 4.0);
  EXPECT_DOUBLE_EQ(s.sum_abs, 10.0);
}

// A dump of `layers` layers of two tensors each, (rows, cols), values i * 0.01 + layer.
Dump MakeDump(int layers, int64_t rows, int64_t cols) {
  DumpRecorder rec("", true);
  auto cb = rec.Callback();
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.01f;
  cb("embd", -1, x.data(), rows, cols);
  for (int l = 0; l < layers; ++l) {
    for (auto& v : x) v += 1.0f;
    cb("attn_norm", l, x.data(), rows, cols);
    cb("l_out", l, x.data(), rows, cols);
  }
  return rec.dump();
}

TEST(DiagDump, UsesLlamaCppTensorNames) {
  const Dump d = MakeDump(2, 3, 4);
  ASSERT_EQ(d.tensors.size(), 5u);
  EXPECT_EQ(d.tensors[0].FullName(), "embd");
  EXPECT_EQ(d.tensors[1].FullName(), "attn_norm-0");
  EXPECT_EQ(d.tensors[4].FullName(), "l_out-1");
  EXPECT_EQ(LlamaTraceName("q"), "Qcur");
  EXPECT_EQ(LlamaTraceName("kqv"), "kqv_out");
}

TEST(DiagDump, PatternSelectsTensorsByFullName) {
  DumpRecorder rec("^l_out-1$", false);
  auto cb = rec.Callback();
  const float x[2] = {1, 2};
  cb("embd", -1, x, 1, 2);
  cb("l_out", 0, x, 1, 2);
  cb("l_out", 1, x, 1, 2);
  ASSERT_EQ(rec.dump().tensors.size(), 1u);
  EXPECT_EQ(rec.dump().tensors[0].FullName(), "l_out-1");
  EXPECT_THROW(DumpRecorder("(", false), Error);
}

TEST(DiagDump, RoundTripsStatsAndValuesThroughJsonAndSidecar) {
  const Dump d = MakeDump(3, 5, 7);
  const auto dir = std::filesystem::temp_directory_path() / "ember-diag-unit-dump";
  std::filesystem::create_directories(dir);
  const std::string json = (dir / "d.json").string(), bin = (dir / "d.bin").string();
  WriteDump(d, json, bin);
  const Dump r = ReadDump(json);
  ASSERT_EQ(r.tensors.size(), d.tensors.size());
  for (size_t i = 0; i < d.tensors.size(); ++i) {
    EXPECT_EQ(r.tensors[i].FullName(), d.tensors[i].FullName());
    EXPECT_EQ(r.tensors[i].rows, 5);
    EXPECT_EQ(r.tensors[i].cols, 7);
    EXPECT_EQ(r.tensors[i].values, d.tensors[i].values);  // bit-exact
    EXPECT_DOUBLE_EQ(r.tensors[i].stats.sum, d.tensors[i].stats.sum);
    ASSERT_EQ(r.tensors[i].row_stats.size(), 5u);
  }
  // Sidecar header as documented.
  std::ifstream in(bin, std::ios::binary);
  char magic[8];
  uint32_t header[2];
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(header), 8);
  EXPECT_EQ(std::string(magic, 8), "EMBERDMP");
  EXPECT_EQ(header[0], 1u);
  EXPECT_EQ(header[1], d.tensors.size());
  std::filesystem::remove_all(dir);
}

TEST(DiagDump, RejectsMalformedFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "ember-diag-unit-bad";
  std::filesystem::create_directories(dir);
  const std::string p = (dir / "bad.json").string();
  std::ofstream(p) << "{\"format\": \"ember-dump\", \"tensors\": [{\"name\": 3}]}";
  EXPECT_THROW(ReadDump(p), Error);
  std::ofstream(p) << "{ not json";
  EXPECT_THROW(ReadDump(p), Error);
  std::ofstream(p) << "hello\nworld\n";
  EXPECT_THROW(ReadDump(p), Error);  // neither JSON nor eval-callback text
  EXPECT_THROW(ReadDump((dir / "missing.json").string()), Error);
  std::filesystem::remove_all(dir);
}

TEST(DiagCompare, FindsNoDivergenceBetweenIdenticalDumps) {
  const Dump a = MakeDump(4, 3, 8);
  const CompareResult r = CompareDumps(a, a, 1e-6);
  EXPECT_FALSE(r.diverged());
  EXPECT_EQ(r.diffs.size(), a.tensors.size());
  EXPECT_EQ(r.layers.size(), 5u);  // -1 and 0..3
}

TEST(DiagCompare, NamesFirstDivergingTensorLayerAndPosition) {
  const Dump a = MakeDump(4, 3, 8);
  Dump b = a;
  // Position 2 of l_out-1 and everything after it drifts.
  for (auto& t : b.tensors) {
    const bool later = t.layer >= 2 || (t.layer == 1 && t.name == "l_out");
    if (!later) continue;
    for (int64_t i = 2 * t.cols; i < t.rows * t.cols; ++i) t.values[static_cast<size_t>(i)] *= 1.5f;
  }
  for (const bool with_values : {true, false}) {
    Dump x = a, y = b;
    if (!with_values) {
      // Recompute per-position stats from the changed values, then drop the values.
      for (auto& t : y.tensors) {
        for (int64_t r = 0; r < t.rows; ++r) t.row_stats[r] = ComputeStats(t.values.data() + r * t.cols, t.cols);
      }
      for (auto& t : x.tensors) t.values.clear();
      for (auto& t : y.tensors) t.values.clear();
    }
    const CompareResult r = CompareDumps(x, y, 1e-3);
    ASSERT_TRUE(r.diverged());
    const TensorDiff& d = r.diffs[static_cast<size_t>(r.first_divergence)];
    EXPECT_EQ(d.full_name, "l_out-1") << with_values;
    EXPECT_EQ(d.first_bad_pos, 2);
    EXPECT_EQ(d.method, with_values ? "values" : "stats");
    const std::string text = FormatCompare(r, "a", "b");
    EXPECT_NE(text.find("FIRST DIVERGENCE: l_out-1 (layer 1) at position 2"), std::string::npos) << text;
  }
}

// What llama-eval-callback prints for a (4, 7) tensor (ne0 = 4 values per row, 7 rows): the rows
// 0..2 and 4..6, each row complete because ne0 <= 6.
std::string EvalCallbackText(const std::vector<float>& x, const char* name) {
  std::string s = std::string("common_debug_cb_eval:  ") + name +
                  " = (f32)        MUL(norm-0{4, 7, 1, 1}, blk.0.attn_norm.weight{4, 1, 1, 1}}) = {4, 7, 1, 1}\n";
  s += "    [\n        [\n";
  double sum = 0;
  for (float v : x) sum += v;
  for (int r = 0; r < 7; ++r) {
    if (r == 3) {
      s += "            ..., \n";
      continue;
    }
    s += "            [";
    for (int c = 0; c < 4; ++c) s += fmt::format("{:12.4f}{}", x[r * 4 + c], c < 3 ? ", " : "");
    s += "  ],\n";
  }
  s += fmt::format("        ],\n    ]\n    sum = {:f}\n", sum);
  return s;
}

TEST(DiagEvalCallback, ParsesHeaderSamplesAndSum) {
  std::vector<float> x(28);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.5f - 3.0f;
  const std::string text = "llama_model_loader: noise\n" + EvalCallbackText(x, "attn_norm-0") +
                           "\nllama_perf_context_print: load time = 1 ms\n";
  const Dump d = ParseEvalCallback(text, "t");
  ASSERT_EQ(d.tensors.size(), 1u);
  const DumpTensor& t = d.tensors[0];
  EXPECT_EQ(t.name, "attn_norm");
  EXPECT_EQ(t.layer, 0);
  EXPECT_EQ(t.stats.count, 28);
  EXPECT_NEAR(t.stats.sum, 105.0, 1e-6);  // sum of i / 2 - 3, i < 28
  ASSERT_EQ(t.samples.size(), 24u);  // 6 rows shown of 4
  EXPECT_EQ(t.samples[0].first, 0);
  EXPECT_FLOAT_EQ(t.samples[0].second, -3.0f);
  EXPECT_EQ(t.samples[12].first, 16);  // row 4 after the "..."
  EXPECT_FLOAT_EQ(t.samples[12].second, 5.0f);
}

TEST(DiagEvalCallback, ComparesAgainstFullValuesAndFlagsChangedOnes) {
  std::vector<float> x(28);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  DumpRecorder rec("", true);
  rec.Callback()("embd", -1, x.data(), 7, 4);
  rec.Callback()("attn_norm", 0, x.data(), 7, 4);
  const Dump ours = rec.dump();
  const Dump same = ParseEvalCallback(EvalCallbackText(x, "attn_norm-0"), "t");
  EXPECT_FALSE(CompareDumps(ours, same, 1e-3).diverged());
  std::vector<float> y = x;
  y[5 * 4 + 1] += 0.5f;  // row 5, shown in the print
  const CompareResult r = CompareDumps(ours, ParseEvalCallback(EvalCallbackText(y, "attn_norm-0"), "t"), 1e-3);
  ASSERT_TRUE(r.diverged());
  EXPECT_EQ(r.diffs[static_cast<size_t>(r.first_divergence)].first_bad_pos, 5);
  EXPECT_EQ(r.only_in_a, std::vector<std::string>{"embd"});
}

TEST(DiagEvalCallback, AlignsOnTheLastRowsWhenTheReferenceKeptOnlyThem) {
  std::vector<float> x(28);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  DumpRecorder rec("", true);
  rec.Callback()("embd", -1, x.data(), 7, 4);
  rec.Callback()("l_out", 3, x.data(), 7, 4);
  std::string text =
      "common_debug_cb_eval:  l_out-3 = (f32)  ADD(ffn_out-3{4, 1, 1, 1}, ffn_inp-3{4, 1, 1, 1}}) = {4, 1, 1, 1}\n"
      "    [\n        [\n            [     24.0000,      25.0000,      26.0000,      27.0000  ],\n"
      "        ],\n    ]\n    sum = 102.000000\n";
  const CompareResult r = CompareDumps(rec.dump(), ParseEvalCallback(text, "t"), 1e-4);
  EXPECT_FALSE(r.diverged()) << FormatCompare(r, "a", "b");
}

TEST(DiagPerplexity, TokenNllOfUniformLogitsIsLogVocab) {
  std::vector<float> logits(1000, 0.25f);
  EXPECT_NEAR(TokenNll(logits.data(), 1000, 17), std::log(1000.0), 1e-6);
  logits[17] = 100.0f;
  EXPECT_NEAR(TokenNll(logits.data(), 1000, 17), 0.0, 1e-6);
}

TEST(DiagKl, QuantizedLogProbsReproduceTheNllWithinTheirStep) {
  const int64_t n = 301;
  std::vector<float> logits(n);
  for (int64_t i = 0; i < n; ++i) logits[i] = std::sin(static_cast<float>(i) * 0.37f) * 6.0f;
  std::vector<uint16_t> q(static_cast<size_t>(2 * ((n + 1) / 2) + 4));
  const double nll = QuantizeLogProbs(logits.data(), n, 42, q.data());
  EXPECT_NEAR(nll, TokenNll(logits.data(), n, 42), 1e-5);
  float header[2];
  std::memcpy(header, q.data(), 8);
  const double step = header[0];
  const auto [lo, hi] = std::minmax_element(logits.begin(), logits.end());
  EXPECT_FLOAT_EQ(header[0], (*hi - *lo) / 65535.f);  // the range is under 16, so nothing is clamped
  const double lp = header[0] * q[4 + 42] + header[1];
  EXPECT_NEAR(-lp, nll, step);
}

}  // namespace
}  // namespace ember
