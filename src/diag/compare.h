// Comparing two dumps: which tensor, layer and position first differ beyond a tolerance, and how
// far each layer has drifted. Works on whatever both sides have:
//   values on both sides     normalised RMS error per position, sqrt(sum (a-b)^2 / sum b^2)
//   statistics on both sides per position, max(|d mean|, |d std|, |d min|, |d max|) / rms(b)
//   llama-eval-callback text the printed corner values, max |a-b| less the print rounding
//                            (5e-5) over the tensor's rms, and the sum, |d sum| / sum |a|
// Tensors are matched by full name ("Qcur-3"). When one side holds fewer rows (llama.cpp keeps
// only the last token near the output) they are aligned on the last positions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diag/dump.h"

namespace ember {

struct TensorDiff {
  std::string full_name;
  int64_t layer = -1;
  double error = 0.0;          // the largest error over the positions compared
  int64_t first_bad_pos = -1;  // first position with error > tolerance (-1: none or unknown)
  int64_t worst_pos = -1;
  std::string method;          // "values", "stats", "samples"
  std::string problem;         // set when the tensors could not be compared (shapes differ)
};

struct LayerDivergence {
  int64_t layer = -1;
  double max_error = 0.0;
  std::string worst_tensor;
  int64_t n_tensors = 0;
};

struct CompareResult {
  std::vector<TensorDiff> diffs;          // in A's order, matched tensors only
  std::vector<std::string> only_in_a, only_in_b;
  std::vector<LayerDivergence> layers;    // ascending layer (-1 first)
  int64_t first_divergence = -1;          // index into diffs, -1 if none beyond tolerance
  double tolerance = 0.0;
  bool diverged() const { return first_divergence >= 0; }
};

CompareResult CompareDumps(const Dump& a, const Dump& b, double tolerance);

// The human report: the first divergence (or "no divergence"), then the per-layer table.
std::string FormatCompare(const CompareResult& r, const std::string& name_a,
                          const std::string& name_b);

}  // namespace ember
