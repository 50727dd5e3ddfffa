// Shared helpers of the forward-pass golden tests: locating models and golden files, and
// comparing ember's logit rows with llama.cpp's recorded top-K.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "cpu/gemm.h"

namespace ember::test {

// Exact prompt kernels (cpu/gemm.h) for a scope: llama.cpp's bits are expected only from those;
// the default fast tile of Q4_0/Q5_0/Q8_0 prompt matrices differs from them in the last bits.
class ExactGemmScope {
 public:
  explicit ExactGemmScope(bool exact) : before_(cpu::ExactGemm()) { cpu::SetExactGemm(exact); }
  ~ExactGemmScope() { cpu::SetExactGemm(before_); }
  ExactGemmScope(const ExactGemmScope&) = delete;
  ExactGemmScope& operator=(const ExactGemmScope&) = delete;

 private:
  bool before_;
};

inline std::string ModelsDir() {
  if (const char* env = std::getenv("EMBER_MODELS"); env != nullptr && *env != '\0') return env;
  return std::string(EMBER_SOURCE_DIR) + "/models";
}

inline nlohmann::json LoadGolden(const std::string& name) {
  const std::string path = std::string(EMBER_SOURCE_DIR) + "/tests/data/model/" + name;
  std::ifstream in(path);
  if (!in) return nullptr;
  return nlohmann::json::parse(in);
}

// Differences between one of ember's logit rows and llama.cpp's record of the same position.
struct RowComparison {
  double max_abs = 0.0;   // over llama.cpp's top-K ids
  double sum_abs = 0.0;
  int n = 0;
  bool exact = true;      // every top-K logit bit-identical
  bool top1_same = true;
  double ref_gap = 0.0;   // llama.cpp's top-1 minus top-2 logit
  double row_sum_diff = 0.0;  // |sum of all logits - llama.cpp's|
};

inline RowComparison CompareRow(std::span<const float> ours, const nlohmann::json& ref) {
  RowComparison c;
  const auto& ids = ref["top_ids"];
  const auto& logits = ref["top_logits"];
  for (size_t i = 0; i < ids.size(); ++i) {
    const float r = logits[i].get<float>();
    const float o = ours[ids[i].get<size_t>()];
    const double d = std::fabs(static_cast<double>(o) - r);
    c.max_abs = std::max(c.max_abs, d);
    c.sum_abs += d;
    ++c.n;
    if (o != r) c.exact = false;
  }
  int32_t best = 0;
  for (size_t i = 1; i < ours.size(); ++i) {
    if (ours[i] > ours[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  }
  c.top1_same = best == ids[0].get<int32_t>();
  c.ref_gap = logits[0].get<double>() - logits[1].get<double>();
  double sum = 0.0;
  for (float v : ours) sum += v;
  c.row_sum_diff = std::fabs(sum - ref["sum"].get<double>());
  return c;
}

}  // namespace ember::test
