// Scalar reference dot products: plain C++, the definition the SIMD kernels are tested against.
// Legacy types use ggml's integer formulation (exact integer sums per 32-block, one float
// multiply-add per block); K-quants dequantize each 256-block through the quant layer's reference
// and multiply it with the Q8_K values in float.
#include <cmath>
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

// F32 / F16 / BF16 follow llamafile's tinyBLAS (what llama.cpp uses for these types on x86):
// 8 lanes, lane l accumulating elements i = l (mod 8) with fused multiply-adds, then the lanes
// summed as a tree ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). The AVX2 kernels give identical bits.
template <typename T, float (*kLoad)(T)>
float DotLanes8(int64_t n, const T* x, const T* y) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lane[l] = std::fma(kLoad(x[i + l]), kLoad(y[i + l]), lane[l]);
  }
  float sum = Tree8(lane);
  for (; i < n; ++i) sum += kLoad(x[i]) * kLoad(y[i]);
  return sum;
}

inline float LoadF32(float v) { return v; }

float DotF32(int64_t n, const void* w, const void* a) {
  return DotLanes8<float, LoadF32>(n, static_cast<const float*>(w), static_cast<const float*>(a));
}

float DotF16(int64_t n, const void* w, const void* a) {
  return DotLanes8<uint16_t, HalfToFloat>(n, static_cast<const uint16_t*>(w),
                                          static_cast<const uint16_t*>(a));
}

float DotBF16(int64_t n, const void* w, const void* a) {
  return DotLanes8<uint16_t, Bf16ToFloat>(n, static_cast<const uint16_t*>(w),
                                          static_cast<const uint16_t*>(a));
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

// IQ4_NL: Q4_0's layout with the 16 non-linear levels in place of q - 8; one float multiply-add
// per 32-block as ggml's reference.
float DotIQ4NL(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockIQ4NL*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK4_NL; ++i) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += kIq4nlValues[x[i].qs[j] & 0x0F] * y[i].qs[j] + kIq4nlValues[x[i].qs[j] >> 4] * y[i].qs[j + 16];
    }
    sum += HalfToFloat(y[i].d) * HalfToFloat(x[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

// IQ4_XS: 8 sub-blocks of 32 with 6-bit scales (low 4 bits in scales_l, high 2 in scales_h),
// stored +32; one float multiply-add per sub-block.
float DotIQ4XS(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockIQ4XS*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = HalfToFloat(x[i].d) * y[i].d;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const int lo = (x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
      const int hi = (x[i].scales_h >> (2 * ib)) & 0x03;
      const int ls = (lo | (hi << 4)) - 32;
      const uint8_t* qs = x[i].qs + 16 * ib;
      const int8_t* q8 = y[i].qs + 32 * ib;
      int sumi = 0;
      for (int j = 0; j < 16; ++j) {
        sumi += kIq4nlValues[qs[j] & 0x0F] * q8[j] + kIq4nlValues[qs[j] >> 4] * q8[j + 16];
      }
      sum += d * static_cast<float>(ls) * static_cast<float>(sumi);
    }
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
