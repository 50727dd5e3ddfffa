#include "diag/stats.h"

#include <algorithm>
#include <cmath>

namespace ember {

TensorStats ComputeStats(const float* data, int64_t n) {
  TensorStats s;
  double sum = 0.0, sum2 = 0.0, sum_abs = 0.0;
  double lo = INFINITY, hi = -INFINITY;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = data[i];
    if (!std::isfinite(v)) {
      ++s.n_nonfinite;
      continue;
    }
    sum += v;
    sum2 += v * v;
    sum_abs += std::fabs(v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    ++count;
  }
  s.count = count;
  if (count == 0) return s;
  s.sum = sum;
  s.sum_abs = sum_abs;
  s.mean = sum / static_cast<double>(count);
  s.std = std::sqrt(std::max(0.0, sum2 / static_cast<double>(count) - s.mean * s.mean));
  s.min = lo;
  s.max = hi;
  return s;
}

}  // namespace ember
