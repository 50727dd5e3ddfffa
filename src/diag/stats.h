// Summary statistics of a block of floats: what a dump records per tensor and per position, and
// what `ember compare` compares when the values themselves were not saved.
#pragma once

#include <cstdint>

namespace ember {

struct TensorStats {
  double mean = 0.0;
  double std = 0.0;  // population standard deviation
  double min = 0.0;
  double max = 0.0;
  double sum = 0.0;
  double sum_abs = 0.0;  // scale of the values, for relative tolerances
  int64_t count = 0;
  int64_t n_nonfinite = 0;  // NaN and infinities (left out of the other fields)
};

// Accumulates in double so that the statistics do not depend on summation order.
TensorStats ComputeStats(const float* data, int64_t n);

}  // namespace ember
