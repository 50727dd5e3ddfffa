// Scalar reference dot products: plain C++, the definition the SIMD kernels are tested against.
// Legacy types use ggml's integer formulation (exact integer sums per 32-block, one float
// multiply-add per block); K-quants dequantize each 256-block through the quant layer's reference
// and multiply it with the Q8_K values in float.
#include <cstring>

#include "core/half.h"
#include "cpu/dot.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace ember::scalar {
namespace {

inline uint32_t LoadQh(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;
}

float DotKGeneric(GgmlType type, size_t block_bytes, int64_t n, const void* w, const void* a) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  float buf[kQK_K];
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    DequantizeRow(type, wb + static_cast<size_t>(i) * block_bytes, buf, kQK_K);
    float s = 0.0f;
    for (int j = 0; j < kQK_K; ++j) s += buf[j] * static_cast<float>(y[i].qs[j]);
    sum += s * y[i].d;
  }
  return sum;
}

}  // namespace

float DotF32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  double sum = 0.0;  // ggml_vec_dot_f32's scalar path accumulates in ggml_float (double)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sum);
}

float DotF16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(HalfToFloat(x[i]) * HalfToFloat(y[i]));
  return static_cast<float>(sum);
}

float DotBF16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(Bf16ToFloat(x[i]) * Bf16ToFloat(y[i]));
  return static_cast<float>(sum);
}

float DotQ4_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((x[i].qs[j] & 0x0F) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
    }
    sum += static_cast<float>(sumi) * HalfToFloat(x[i].d) * HalfToFloat(y[i].d);
  }
  return sum;
}

float DotQ4_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += (x[i].qs[j] & 0x0F) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
    }
    sum += HalfToFloat(x[i].d) * HalfToFloat(y[i].d) * static_cast<float>(sumi) +
           HalfToFloat(x[i].m) * HalfToFloat(y[i].s);
  }
  return sum;
}

float DotQ5_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK5_0; ++i) {
    const uint32_t qh = LoadQh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      sumi += (((x[i].qs[j] & 0x0F) | h0) - 16) * y[i].qs[j] +
              (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + 16];
    }
    sum += static_cast<float>(sumi) * HalfToFloat(x[i].d) * HalfToFloat(y[i].d);
  }
  return sum;
}

float DotQ5_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK5_1; ++i) {
    const uint32_t qh = LoadQh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      sumi += ((x[i].qs[j] & 0x0F) | h0) * y[i].qs[j] + ((x[i].qs[j] >> 4) | h1) * y[i].qs[j + 16];
    }
    sum += HalfToFloat(x[i].d) * HalfToFloat(y[i].d) * static_cast<float>(sumi) +
           HalfToFloat(x[i].m) * HalfToFloat(y[i].s);
  }
  return sum;
}

float DotQ8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    sum += static_cast<float>(sumi) * HalfToFloat(x[i].d) * HalfToFloat(y[i].d);
  }
  return sum;
}

float DotQ2K(int64_t n, const void* w, const void* a) {
  return DotKGeneric(GgmlType::Q2_K, sizeof(BlockQ2K), n, w, a);
}
float DotQ3K(int64_t n, const void* w, const void* a) {
  return DotKGeneric(GgmlType::Q3_K, sizeof(BlockQ3K), n, w, a);
}
float DotQ4K(int64_t n, const void* w, const void* a) {
  return DotKGeneric(GgmlType::Q4_K, sizeof(BlockQ4K), n, w, a);
}
float DotQ5K(int64_t n, const void* w, const void* a) {
  return DotKGeneric(GgmlType::Q5_K, sizeof(BlockQ5K), n, w, a);
}
float DotQ6K(int64_t n, const void* w, const void* a) {
  return DotKGeneric(GgmlType::Q6_K, sizeof(BlockQ6K), n, w, a);
}

}  // namespace ember::scalar
