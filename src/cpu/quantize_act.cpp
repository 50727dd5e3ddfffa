// Activation converters: one float row to the format its weight type's dot product reads.
// They follow ggml's x86 code paths so that the 8-bit rounding of activations -- the dominant
// difference between a float reference and llama.cpp -- is the same in ember.
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "cpu/dot.h"
#include "quant/blocks.h"

namespace ember {

void QuantizeActF32(const float* x, void* y, int64_t n) {
  std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}

void QuantizeActF16(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = FloatToHalf(x[i]);
}

void QuantizeActBF16(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = FloatToBf16(x[i]);
}

namespace {

// Q8_0 / Q8_1 block: d = amax / 127, q = round_half_even(x * 127 / amax) (ggml's AVX2 path).
template <typename Block>
float QuantizeQ8Block(const float* x, Block& b, int* sum) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int s = 0;
  for (int j = 0; j < 32; ++j) {
    const int q = static_cast<int>(std::nearbyint(x[j] * id));
    b.qs[j] = static_cast<int8_t>(q);
    s += q;
  }
  b.d = FloatToHalf(d);
  *sum = s;
  return d;
}

}  // namespace

void QuantizeActQ8_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(y);
  int sum = 0;
  for (int64_t i = 0; i < n / kQK8_0; ++i) QuantizeQ8Block(x + i * kQK8_0, b[i], &sum);
}

void QuantizeActQ8_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    int sum = 0;
    // ggml multiplies the sum by the float scale, before its rounding to F16.
    const float d = QuantizeQ8Block(x + i * kQK8_1, b[i], &sum);
    b[i].s = FloatToHalf(d * static_cast<float>(sum));
  }
}

void QuantizeActQ8K(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8K*>(y);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    // The signed value of largest magnitude maps to -127 (quantize_row_q8_K_ref).
    float max = 0.0f, amax = 0.0f;
    for (int j = 0; j < kQK_K; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&b[i], 0, sizeof(BlockQ8K));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) {
      const int v = static_cast<int>(std::nearbyint(iscale * x[j]));
      b[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int k = 0; k < 16; ++k) sum += b[i].qs[j * 16 + k];
      b[i].bsums[j] = static_cast<int16_t>(sum);
    }
    b[i].d = 1.0f / iscale;
  }
}

}  // namespace ember
