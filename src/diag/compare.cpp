#include "diag/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace ember {
namespace {

constexpr double kPrintRounding = 5e-5;  // llama-eval-callback prints "%12.4f"

double Rms(const TensorStats& s) { return std::sqrt(s.mean * s.mean + s.std * s.std); }

// Per-position errors of two tensors; returns false (with `problem`) when they do not line up.
bool PositionErrors(const DumpTensor& a, const DumpTensor& b, TensorDiff& d,
                    std::vector<std::pair<int64_t, double>>& errs) {
  const bool a_values = !a.values.empty(), b_values = !b.values.empty();
  if (b.sum_only || a.sum_only) {
    const DumpTensor& full = a.sum_only ? b : a;  // ember side
    const DumpTensor& text = a.sum_only ? a : b;
    d.method = "samples";
    const int64_t total = full.rows * full.cols;
    const int64_t offset = total - text.stats.count;
    if (offset < 0 || (full.cols > 0 && offset % full.cols != 0)) {
      d.problem = fmt::format("{} values vs {}", total, text.stats.count);
      return false;
    }
    const double scale = std::max(Rms(full.stats), 1e-6);
    // Sum of the compared rows only.
    double sum = 0.0, sum_abs = 0.0;
    const int64_t first_row = offset / std::max<int64_t>(full.cols, 1);
    for (int64_t r = first_row; r < full.rows; ++r) {
      if (static_cast<size_t>(r) < full.row_stats.size()) {
        sum += full.row_stats[r].sum;
        sum_abs += full.row_stats[r].sum_abs;
      }
    }
    if (full.row_stats.empty()) {
      sum = full.stats.sum;
      sum_abs = full.stats.sum_abs;
    }
    const double sum_err = std::fabs(sum - text.stats.sum) / std::max(sum_abs, 1e-6);
    if (full.values.empty()) {
      errs.emplace_back(-1, sum_err);
      return true;
    }
    for (const auto& [idx, v] : text.samples) {
      const int64_t i = offset + idx;
      if (i < 0 || i >= total) continue;
      const double e =
          std::max(0.0, std::fabs(full.values[i] - v) - kPrintRounding) / scale;
      errs.emplace_back(full.first_pos + i / std::max<int64_t>(full.cols, 1), e);
    }
    errs.emplace_back(-1, sum_err);
    return true;
  }
  if (a.cols != b.cols) {
    d.problem = fmt::format("width {} vs {}", a.cols, b.cols);
    return false;
  }
  // Align on positions.
  const int64_t p0 = std::max(a.first_pos, b.first_pos);
  const int64_t p1 = std::min(a.first_pos + a.rows, b.first_pos + b.rows);
  if (p1 <= p0) {
    d.problem = "no common positions";
    return false;
  }
  const int64_t n = a.cols;
  if (a_values && b_values) {
    d.method = "values";
    for (int64_t p = p0; p < p1; ++p) {
      const float* x = a.values.data() + (p - a.first_pos) * n;
      const float* y = b.values.data() + (p - b.first_pos) * n;
      double num = 0.0, den = 0.0;
      bool nonfinite = false;
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
          nonfinite |= std::isfinite(x[i]) != std::isfinite(y[i]);
          continue;
        }
        const double diff = static_cast<double>(x[i]) - y[i];
        num += diff * diff;
        den += static_cast<double>(y[i]) * y[i];
      }
      errs.emplace_back(p, nonfinite ? INFINITY : std::sqrt(num / std::max(den, 1e-30)));
    }
    return true;
  }
  if (a.row_stats.empty() || b.row_stats.empty()) {
    d.problem = "no per-position statistics";
    return false;
  }
  d.method = "stats";
  for (int64_t p = p0; p < p1; ++p) {
    const TensorStats& x = a.row_stats[p - a.first_pos];
    const TensorStats& y = b.row_stats[p - b.first_pos];
    if (x.n_nonfinite != y.n_nonfinite) {
      errs.emplace_back(p, INFINITY);
      continue;
    }
    const double scale = std::max({Rms(y), Rms(x), 1e-12});
    const double e = std::max({std::fabs(x.mean - y.mean), std::fabs(x.std - y.std),
                               std::fabs(x.min - y.min), std::fabs(x.max - y.max)}) / scale;
    errs.emplace_back(p, e);
  }
  return true;
}

}  // namespace

CompareResult CompareDumps(const Dump& a, const Dump& b, double tolerance) {
  CompareResult r;
  r.tolerance = tolerance;
  std::map<std::string, const DumpTensor*> by_name;
  for (const auto& t : b.tensors) by_name[t.FullName()] = &t;
  std::map<std::string, bool> used;
  std::map<int64_t, LayerDivergence> layers;
  for (const auto& ta : a.tensors) {
    const std::string full = ta.FullName();
    auto it = by_name.find(full);
    if (it == by_name.end()) {
      r.only_in_a.push_back(full);
      continue;
    }
    used[full] = true;
    TensorDiff d;
    d.full_name = full;
    d.layer = ta.layer;
    std::vector<std::pair<int64_t, double>> errs;
    if (!PositionErrors(ta, *it->second, d, errs)) {
      d.error = INFINITY;
    }
    for (const auto& [pos, e] : errs) {
      if (!(e <= d.error)) {  // NaN counts as the worst
        d.error = std::isnan(e) ? INFINITY : e;
        d.worst_pos = pos;
      }
      if (!(e <= tolerance) && d.first_bad_pos < 0 && pos >= 0) d.first_bad_pos = pos;
    }
    if (d.first_bad_pos >= 0) {
      // Positions of samples come unordered; report the smallest failing one.
      for (const auto& [pos, e] : errs) {
        if (!(e <= tolerance) && pos >= 0) d.first_bad_pos = std::min(d.first_bad_pos, pos);
      }
    }
    LayerDivergence& L = layers[ta.layer];
    L.layer = ta.layer;
    ++L.n_tensors;
    if (!(d.error <= L.max_error) || L.worst_tensor.empty()) {
      if (!(d.error <= L.max_error)) L.max_error = d.error;
      if (L.worst_tensor.empty() || d.error >= L.max_error) L.worst_tensor = full;
    }
    if (r.first_divergence < 0 && !(d.error <= tolerance)) {
      r.first_divergence = static_cast<int64_t>(r.diffs.size());
    }
    r.diffs.push_back(std::move(d));
  }
  for (const auto& t : b.tensors) {
    if (!used.count(t.FullName())) r.only_in_b.push_back(t.FullName());
  }
  for (auto& [layer, L] : layers) r.layers.push_back(L);
  return r;
}

std::string FormatCompare(const CompareResult& r, const std::string& name_a,
                          const std::string& name_b) {
  std::string out = fmt::format("compare: {} vs {}: {} tensors matched, tolerance {:g}\n", name_a,
                                name_b, r.diffs.size(), r.tolerance);
  if (!r.only_in_a.empty()) {
    out += fmt::format("  {} tensors only in A (first: {})\n", r.only_in_a.size(), r.only_in_a[0]);
  }
  if (!r.only_in_b.empty()) {
    out += fmt::format("  {} tensors only in B (first: {})\n", r.only_in_b.size(), r.only_in_b[0]);
  }
  if (r.diverged()) {
    const TensorDiff& d = r.diffs[static_cast<size_t>(r.first_divergence)];
    out += fmt::format("FIRST DIVERGENCE: {} (layer {}) ", d.full_name, d.layer);
    if (d.first_bad_pos >= 0) out += fmt::format("at position {} ", d.first_bad_pos);
    if (!d.problem.empty()) {
      out += fmt::format("cannot be compared: {}\n", d.problem);
    } else {
      out += fmt::format("error {:.3g} > {:g} ({})\n", d.error, r.tolerance, d.method);
    }
  } else if (r.diffs.empty()) {
    out += "no tensors in common: nothing compared\n";
  } else {
    out += "no divergence beyond the tolerance\n";
  }
  out += fmt::format("{:>5}  {:>7}  {:>11}  {}\n", "layer", "tensors", "max error", "worst tensor");
  for (const auto& L : r.layers) {
    out += fmt::format("{:>5}  {:>7}  {:>11.3g}  {}{}\n", L.layer, L.n_tensors, L.max_error,
                       L.worst_tensor, L.max_error > r.tolerance ? "  <-- beyond tolerance" : "");
  }
  return out;
}

}  // namespace ember
