// Reference quantizers of the half-precision types and the 32-element block formats, plus Q8_K.
//
// These follow ggml's quantize_row_*_ref step by step (same float operations in the same order;
// the library is built with -ffp-contract=off), which gguf.quants reproduces in numpy, so the
// output is bit-identical to both. The one deliberate difference: float-to-integer conversions
// saturate instead of being undefined for NaN or out-of-range values (inputs ggml never meets).
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/quantize_internal.h"

namespace ember::quant_internal {
namespace {

// min(hi, (int)v) for v >= 0, as ggml's MIN(hi, (int8_t)v); NaN and negatives give 0.
int TruncClamp(float v, int hi) {
  if (!(v >= 0.0f)) return 0;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

// roundf(v) as an int8 (ggml stores roundf's float into an int8_t); NaN gives 0.
int8_t RoundToInt8(float v) {
  const float r = std::roundf(v);
  if (!(r >= -128.0f)) return r < 0.0f ? int8_t{-128} : int8_t{0};
  if (r > 127.0f) return 127;
  return static_cast<int8_t>(r);
}

// The element of largest magnitude (the first one on ties), with its sign.
float SignedAbsMax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

}  // namespace

void QuantizeF16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = FloatToHalf(x[i]);
}

void QuantizeBf16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = FloatToBf16(x[i]);
}

// d = max / -8 maps the largest-magnitude element to code 0 exactly (value -8 * d = max).
void QuantizeQ4_0(const float* x, BlockQ4_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_0; ++i, x += kQK4_0) {
    const float max = SignedAbsMax(x, kQK4_0);
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = FloatToHalf(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int q0 = TruncClamp(x[j] * id + 8.5f, 15);
      const int q1 = TruncClamp(x[j + kQK4_0 / 2] * id + 8.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeQ4_1(const float* x, BlockQ4_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_1; ++i, x += kQK4_1) {
    float min = x[0];
    float max = x[0];
    for (int j = 1; j < kQK4_1; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = FloatToHalf(d);
    y[i].m = FloatToHalf(min);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const int q0 = TruncClamp((x[j] - min) * id + 0.5f, 15);
      const int q1 = TruncClamp((x[j + kQK4_1 / 2] - min) * id + 0.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeQ5_0(const float* x, BlockQ5_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK5_0; ++i, x += kQK5_0) {
    const float max = SignedAbsMax(x, kQK5_0);
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = FloatToHalf(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_0 / 2; ++j) {
      const int q0 = TruncClamp(x[j] * id + 16.5f, 31);
      const int q1 = TruncClamp(x[j + kQK5_0 / 2] * id + 16.5f, 31);
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + kQK5_0 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void QuantizeQ5_1(const float* x, BlockQ5_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK5_1; ++i, x += kQK5_1) {
    float min = x[0];
    float max = x[0];
    for (int j = 1; j < kQK5_1; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = FloatToHalf(d);
    y[i].m = FloatToHalf(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_1 / 2; ++j) {
      const int q0 = TruncClamp((x[j] - min) * id + 0.5f, 31);
      const int q1 = TruncClamp((x[j + kQK5_1 / 2] - min) * id + 0.5f, 31);
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + kQK5_1 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void QuantizeQ8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK8_0; ++i, x += kQK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = FloatToHalf(d);
    for (int j = 0; j < kQK8_0; ++j) y[i].qs[j] = RoundToInt8(x[j] * id);
  }
}

void QuantizeQ8_1(const float* x, BlockQ8_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK8_1; ++i, x += kQK8_1) {
    float amax = 0.0f;
    for (int j = 0; j < kQK8_1; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = FloatToHalf(d);
    int sum = 0;
    for (int j = 0; j < kQK8_1; ++j) {
      y[i].qs[j] = RoundToInt8(x[j] * id);
      sum += y[i].qs[j];
    }
    y[i].s = FloatToHalf(static_cast<float>(sum) * d);
  }
}

// Q8_K (activations for K-quant dot products): scale -127 / max so the largest-magnitude value
// maps to exactly -127 (ggml chose -127 over -128 for its IQ2 kernels), plus sums of 16 codes.
void QuantizeQ8K(const float* x, BlockQ8K* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max = 0.0f;
    float amax = 0.0f;
    for (int j = 0; j < kQK_K; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8K));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) {
      const int v = NearestInt(iscale * x[j]);
      y[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int k = 0; k < 16; ++k) sum += y[i].qs[16 * j + k];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

}  // namespace ember::quant_internal
