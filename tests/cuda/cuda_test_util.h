// Helpers for the CUDA tests: a skip when no device is present, device arrays filled from host
// vectors and poisoned (NaN) before a kernel writes them, and the normalized mean squared error
// sum((a - b)^2) / sum(b^2) used as the acceptance measure (as ggml's test-backend-ops).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/device.h"

namespace ember::cuda::testing {

#define EMBER_REQUIRE_GPU()                                                                   \
  do {                                                                                        \
    if (::ember::cuda::DeviceCount() == 0) GTEST_SKIP() << "no CUDA device present: GPU test skipped"; \
  } while (0)

template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n), buf_(n * sizeof(T) + 16) { Poison(); }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { Set(host); }
  T* get() const { return buf_.as<T>(); }
  size_t size() const { return n_; }
  void Set(const std::vector<T>& host) {
    CUDA_CHECK(cudaMemcpy(buf_.get(), host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  // All bytes 0xFF: NaN for floats, so an element a kernel forgot to write fails the check.
  // cudaMemset may return before it is done, and the kernels under test run on non-blocking
  // streams that do not wait for it: synchronize.
  void Poison() {
    CUDA_CHECK(cudaMemset(buf_.get(), 0xFF, n_ * sizeof(T)));
    CUDA_CHECK(cudaDeviceSynchronize());
  }
  std::vector<T> Get() const {
    std::vector<T> host(n_);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(host.data(), buf_.get(), n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  size_t n_;
  DeviceBuffer buf_;
};

// sum((out - ref)^2) / sum(ref^2); infinity if any output is NaN or infinite.
inline double Nmse(const std::vector<float>& out, const std::vector<double>& ref) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    const double d = static_cast<double>(out[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den > 0.0 ? num / den : num;
}

inline std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace ember::cuda::testing
