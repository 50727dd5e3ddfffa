// Per-format device decoders: 32 consecutive elements ("a chunk") of a GGUF row to F32.
//
// Every supported format's block is 32 or 256 elements, so a row of n elements is n / 32 chunks
// and one decoder serves the matrix-vector kernel (decode), the row lookup (embeddings) and the
// F16 dequantization feeding the tensor-core GEMM. Field offsets and bit positions are ggml's
// (see src/quant/blocks.h and the scalar reference in src/quant/dequantize.cpp, which the tests
// compare against); products are formed in the same order as the reference.
//
// Chunk c of a 256-element super-block format is sub-block c % 8 of block c / 8.
#pragma once

#include <cstdint>

#include "cuda/common.cuh"
#include "gguf/ggml_type.h"
#include "quant/blocks.h"

namespace ember::cuda {

// ggml's kvalues_iq4nl (host copy: kIq4nlValues in quant/blocks.h).
static __constant__ int8_t kIq4nlDevice[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                               1,    13,   25,  38,  53,  69,  89,  113};

template <GgmlType T>
struct Chunk;

template <>
struct Chunk<GgmlType::F32> {
  static constexpr int kBlockBytes = 4;
  static constexpr int kBlockElems = 1;
  // Float formats: the caller guarantees 32 valid elements (tails are handled elementwise).
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    if (reinterpret_cast<uintptr_t>(row) % 16 != 0) return Scalar(row, c, v);  // odd widths
    const float4* p = reinterpret_cast<const float4*>(row) + c * 8;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const float4 f = p[i];
      v[4 * i] = f.x, v[4 * i + 1] = f.y, v[4 * i + 2] = f.z, v[4 * i + 3] = f.w;
    }
  }
  __device__ static float One(const uint8_t* row, int64_t i) {
    return reinterpret_cast<const float*>(row)[i];
  }
  __device__ static void Scalar(const uint8_t* row, int64_t c, float v[32]) {
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = One(row, c * 32 + i);
  }
};

template <>
struct Chunk<GgmlType::F16> {
  static constexpr int kBlockBytes = 2;
  static constexpr int kBlockElems = 1;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    // Rows of an odd width start at 2-byte boundaries only: no 16-byte loads there.
    if (reinterpret_cast<uintptr_t>(row) % 16 != 0) return Scalar(row, c, v);
    const uint4* p = reinterpret_cast<const uint4*>(row + c * 64);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint4 u = p[i];
      const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        v[8 * i + 2 * j] = HalfBits(static_cast<uint16_t>(w[j] & 0xFFFF));
        v[8 * i + 2 * j + 1] = HalfBits(static_cast<uint16_t>(w[j] >> 16));
      }
    }
  }
  __device__ static float One(const uint8_t* row, int64_t i) {
    return HalfBits(reinterpret_cast<const uint16_t*>(row)[i]);
  }
  __device__ static void Scalar(const uint8_t* row, int64_t c, float v[32]) {
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = One(row, c * 32 + i);
  }
};

template <>
struct Chunk<GgmlType::BF16> {
  static constexpr int kBlockBytes = 2;
  static constexpr int kBlockElems = 1;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    // Rows of an odd width start at 2-byte boundaries only: no 16-byte loads there.
    if (reinterpret_cast<uintptr_t>(row) % 16 != 0) return Scalar(row, c, v);
    const uint4* p = reinterpret_cast<const uint4*>(row + c * 64);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint4 u = p[i];
      const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        v[8 * i + 2 * j] = __uint_as_float(w[j] << 16);
        v[8 * i + 2 * j + 1] = __uint_as_float(w[j] & 0xFFFF0000u);
      }
    }
  }
  __device__ static float One(const uint8_t* row, int64_t i) {
    return Bf16Bits(reinterpret_cast<const uint16_t*>(row)[i]);
  }
  __device__ static void Scalar(const uint8_t* row, int64_t c, float v[32]) {
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = One(row, c * 32 + i);
  }
};

// Low nibbles of 16 packed bytes are elements 0..15, high nibbles 16..31 (Q4_0/Q4_1/IQ4_NL...).
__device__ __forceinline__ void Nibbles16(const uint32_t q[4], int lo[16], int hi[16]) {
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    const uint32_t b = (q[j / 4] >> (8 * (j % 4))) & 0xFF;
    lo[j] = static_cast<int>(b & 0xF);
    hi[j] = static_cast<int>(b >> 4);
  }
}

template <>
struct Chunk<GgmlType::Q4_0> {
  static constexpr int kBlockBytes = 18;
  static constexpr int kBlockElems = 32;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + c * kBlockBytes;
    const float d = HalfBits(LoadU16(b));
    uint32_t q[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = LoadU32A2(b + 2 + 4 * i);
    int lo[16], hi[16];
    Nibbles16(q, lo, hi);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      v[j] = static_cast<float>(lo[j] - 8) * d;
      v[j + 16] = static_cast<float>(hi[j] - 8) * d;
    }
  }
};

template <>
struct Chunk<GgmlType::Q4_1> {
  static constexpr int kBlockBytes = 20;
  static constexpr int kBlockElems = 32;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + c * kBlockBytes;
    const uint32_t dm = LoadU32(b);
    const float d = HalfBits(static_cast<uint16_t>(dm & 0xFFFF));
    const float m = HalfBits(static_cast<uint16_t>(dm >> 16));
    uint32_t q[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = LoadU32(b + 4 + 4 * i);
    int lo[16], hi[16];
    Nibbles16(q, lo, hi);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      v[j] = static_cast<float>(lo[j]) * d + m;
      v[j + 16] = static_cast<float>(hi[j]) * d + m;
    }
  }
};

template <>
struct Chunk<GgmlType::Q5_0> {
  static constexpr int kBlockBytes = 22;
  static constexpr int kBlockElems = 32;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + c * kBlockBytes;
    const float d = HalfBits(LoadU16(b));
    const uint32_t qh = LoadU32A2(b + 2);
    uint32_t q[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = LoadU32A2(b + 6 + 4 * i);
    int lo[16], hi[16];
    Nibbles16(q, lo, hi);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      v[j] = static_cast<float>((lo[j] | h0) - 16) * d;
      v[j + 16] = static_cast<float>((hi[j] | h1) - 16) * d;
    }
  }
};

template <>
struct Chunk<GgmlType::Q5_1> {
  static constexpr int kBlockBytes = 24;
  static constexpr int kBlockElems = 32;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + c * kBlockBytes;
    const uint32_t dm = LoadU32(b);
    const float d = HalfBits(static_cast<uint16_t>(dm & 0xFFFF));
    const float m = HalfBits(static_cast<uint16_t>(dm >> 16));
    const uint32_t qh = LoadU32(b + 4);
    uint32_t q[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = LoadU32(b + 8 + 4 * i);
    int lo[16], hi[16];
    Nibbles16(q, lo, hi);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      v[j] = static_cast<float>(lo[j] | h0) * d + m;
      v[j + 16] = static_cast<float>(hi[j] | h1) * d + m;
    }
  }
};

template <>
struct Chunk<GgmlType::Q8_0> {
  static constexpr int kBlockBytes = 34;
  static constexpr int kBlockElems = 32;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + c * kBlockBytes;
    const float d = HalfBits(LoadU16(b));
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t q = LoadU32A2(b + 2 + 4 * i);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        v[4 * i + j] = static_cast<float>(static_cast<int8_t>((q >> (8 * j)) & 0xFF)) * d;
      }
    }
  }
};

template <>
struct Chunk<GgmlType::IQ4_NL> {
  static constexpr int kBlockBytes = 18;
  static constexpr int kBlockElems = 32;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + c * kBlockBytes;
    const float d = HalfBits(LoadU16(b));
    uint32_t q[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = LoadU32A2(b + 2 + 4 * i);
    int lo[16], hi[16];
    Nibbles16(q, lo, hi);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      v[j] = d * static_cast<float>(kIq4nlDevice[lo[j]]);
      v[j + 16] = d * static_cast<float>(kIq4nlDevice[hi[j]]);
    }
  }
};

// Q2_K: chunk s covers elements 32s..32s+31 = 128h + 32k + l (h = s / 4, k = s % 4): 2-bit code
// (qs[32h + l] >> 2k) & 3, scale byte scales[8h + 2k + l / 16] = (min << 4) | scale.
template <>
struct Chunk<GgmlType::Q2_K> {
  static constexpr int kBlockBytes = 84;
  static constexpr int kBlockElems = 256;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + (c / 8) * kBlockBytes;
    const int s = static_cast<int>(c % 8), h = s / 4, k = s % 4;
    const uint32_t dd = LoadU32(b + 80);
    const float d = HalfBits(static_cast<uint16_t>(dd & 0xFFFF));
    const float dmin = HalfBits(static_cast<uint16_t>(dd >> 16));
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const uint8_t sc = b[8 * h + 2 * k + half];
      const float dl = d * static_cast<float>(sc & 0xF);
      const float ml = dmin * static_cast<float>(sc >> 4);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const uint32_t q = LoadU32(b + 16 + 32 * h + 16 * half + 4 * i);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int code = static_cast<int>((q >> (8 * j + 2 * k)) & 3);
          v[16 * half + 4 * i + j] = dl * static_cast<float>(code) - ml;
        }
      }
    }
  }
};

// Q3_K: as Q2_K for the low 2 bits; the high bit of element 128h + 32k + l is bit (4h + k) of
// hmask[l]; when it is clear 4 is subtracted. 16 6-bit scales biased by 32 (UnpackScalesQ3K, quant/blocks.h).
template <>
struct Chunk<GgmlType::Q3_K> {
  static constexpr int kBlockBytes = 110;
  static constexpr int kBlockElems = 256;
  __device__ static int Scale(const uint8_t* packed, int j) {
    const int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
  }
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + (c / 8) * kBlockBytes;
    const int s = static_cast<int>(c % 8), h = s / 4, k = s % 4;
    const float d_all = HalfBits(LoadU16(b + 108));
    const int mbit = 4 * h + k;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float dl = d_all * static_cast<float>(Scale(b + 96, 8 * h + 2 * k + half));
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const uint32_t q = LoadU32A2(b + 32 + 32 * h + 16 * half + 4 * i);
        const uint32_t hm = LoadU32A2(b + 16 * half + 4 * i);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int lowq = static_cast<int>((q >> (8 * j + 2 * k)) & 3);
          const int hbit = static_cast<int>((hm >> (8 * j + mbit)) & 1);
          v[16 * half + 4 * i + j] = dl * static_cast<float>(lowq - (hbit ? 0 : 4));
        }
      }
    }
  }
};

// The 6-bit scale and min of sub-block j (0..7) of Q4_K / Q5_K (ggml's get_scale_min_k4).
__device__ __forceinline__ void ScaleMinK4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K: sub-block s is the low (s even) or high (s odd) nibbles of qs[32 * (s / 2) .. +32].
template <>
struct Chunk<GgmlType::Q4_K> {
  static constexpr int kBlockBytes = 144;
  static constexpr int kBlockElems = 256;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + (c / 8) * kBlockBytes;
    const int s = static_cast<int>(c % 8);
    const uint32_t dd = LoadU32(b);
    const float d = HalfBits(static_cast<uint16_t>(dd & 0xFFFF));
    const float dmin = HalfBits(static_cast<uint16_t>(dd >> 16));
    int sc, m;
    ScaleMinK4(s, b + 4, &sc, &m);
    const float d1 = d * static_cast<float>(sc);
    const float m1 = dmin * static_cast<float>(m);
    const int shift = 4 * (s & 1);
    // 144-byte blocks keep 16-byte alignment when the row starts aligned: two 16-byte loads.
    const uint4* qp = reinterpret_cast<const uint4*>(b + 16 + 32 * (s / 2));
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const uint4 u = qp[i];
      const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        const int q = static_cast<int>((w[j / 4] >> (8 * (j % 4) + shift)) & 0xF);
        v[16 * i + j] = d1 * static_cast<float>(q) - m1;
      }
    }
  }
};

// Q5_K: as Q4_K, plus the 5th bit of element l of sub-block s in bit s of qh[l].
template <>
struct Chunk<GgmlType::Q5_K> {
  static constexpr int kBlockBytes = 176;
  static constexpr int kBlockElems = 256;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + (c / 8) * kBlockBytes;
    const int s = static_cast<int>(c % 8);
    const uint32_t dd = LoadU32(b);
    const float d = HalfBits(static_cast<uint16_t>(dd & 0xFFFF));
    const float dmin = HalfBits(static_cast<uint16_t>(dd >> 16));
    int sc, m;
    ScaleMinK4(s, b + 4, &sc, &m);
    const float d1 = d * static_cast<float>(sc);
    const float m1 = dmin * static_cast<float>(m);
    const int shift = 4 * (s & 1);
    const uint4* qp = reinterpret_cast<const uint4*>(b + 48 + 32 * (s / 2));
    const uint4* hp = reinterpret_cast<const uint4*>(b + 16);
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const uint4 u = qp[i];
      const uint4 hu = hp[i];
      const uint32_t w[4] = {u.x, u.y, u.z, u.w};
      const uint32_t hw[4] = {hu.x, hu.y, hu.z, hu.w};
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        const int lowq = static_cast<int>((w[j / 4] >> (8 * (j % 4) + shift)) & 0xF);
        const int hbit = static_cast<int>((hw[j / 4] >> (8 * (j % 4) + s)) & 1);
        v[16 * i + j] = d1 * static_cast<float>(lowq + (hbit ? 16 : 0)) - m1;
      }
    }
  }
};

// Q6_K: chunk s is quarter t = s % 4 of half n = s / 4: low nibble (t < 2) or high nibble of
// ql[64n + 32 (t % 2) + l], high 2 bits at 2t of qh[32n + l], scale sc[8n + 2t + l / 16].
template <>
struct Chunk<GgmlType::Q6_K> {
  static constexpr int kBlockBytes = 210;
  static constexpr int kBlockElems = 256;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + (c / 8) * kBlockBytes;
    const int s = static_cast<int>(c % 8), n = s / 4, t = s % 4;
    const float d = HalfBits(LoadU16(b + 208));
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    const int lshift = 4 * (t / 2);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float dl = d * static_cast<float>(sc[8 * n + 2 * t + half]);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const uint32_t ql = LoadU32A2(b + 64 * n + 32 * (t % 2) + 16 * half + 4 * i);
        const uint32_t qh = LoadU32A2(b + 128 + 32 * n + 16 * half + 4 * i);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int q = static_cast<int>(((ql >> (8 * j + lshift)) & 0xF) |
                                         (((qh >> (8 * j + 2 * t)) & 3) << 4)) - 32;
          // Reference order: (d * sc) * q.
          v[16 * half + 4 * i + j] = dl * static_cast<float>(q);
        }
      }
    }
  }
};

// IQ4_XS: sub-block ib has a 6-bit scale (4 low bits in scales_l, 2 high in scales_h) biased
// by 32 and 16 bytes of non-linear 4-bit codes, low nibbles first.
template <>
struct Chunk<GgmlType::IQ4_XS> {
  static constexpr int kBlockBytes = 136;
  static constexpr int kBlockElems = 256;
  __device__ static void Decode(const uint8_t* row, int64_t c, float v[32]) {
    const uint8_t* b = row + (c / 8) * kBlockBytes;
    const int ib = static_cast<int>(c % 8);
    const uint32_t head = LoadU32(b);
    const float d = HalfBits(static_cast<uint16_t>(head & 0xFFFF));
    const uint32_t scales_h = head >> 16;
    const int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) |
                   (static_cast<int>((scales_h >> (2 * ib)) & 3) << 4);
    const float dl = d * static_cast<float>(ls - 32);
    uint32_t q[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = LoadU32(b + 8 + 16 * ib + 4 * i);
    int lo[16], hi[16];
    Nibbles16(q, lo, hi);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      v[j] = dl * static_cast<float>(kIq4nlDevice[lo[j]]);
      v[j + 16] = dl * static_cast<float>(kIq4nlDevice[hi[j]]);
    }
  }
};

template <GgmlType T>
inline constexpr bool kIsFloatType = T == GgmlType::F32 || T == GgmlType::F16 || T == GgmlType::BF16;

// Calls f.template operator()<T>() for the runtime type; returns false for an unsupported type.
template <typename F>
bool DispatchType(GgmlType type, F&& f) {
  switch (type) {
    case GgmlType::F32: f.template operator()<GgmlType::F32>(); return true;
    case GgmlType::F16: f.template operator()<GgmlType::F16>(); return true;
    case GgmlType::BF16: f.template operator()<GgmlType::BF16>(); return true;
    case GgmlType::Q4_0: f.template operator()<GgmlType::Q4_0>(); return true;
    case GgmlType::Q4_1: f.template operator()<GgmlType::Q4_1>(); return true;
    case GgmlType::Q5_0: f.template operator()<GgmlType::Q5_0>(); return true;
    case GgmlType::Q5_1: f.template operator()<GgmlType::Q5_1>(); return true;
    case GgmlType::Q8_0: f.template operator()<GgmlType::Q8_0>(); return true;
    case GgmlType::Q2_K: f.template operator()<GgmlType::Q2_K>(); return true;
    case GgmlType::Q3_K: f.template operator()<GgmlType::Q3_K>(); return true;
    case GgmlType::Q4_K: f.template operator()<GgmlType::Q4_K>(); return true;
    case GgmlType::Q5_K: f.template operator()<GgmlType::Q5_K>(); return true;
    case GgmlType::Q6_K: f.template operator()<GgmlType::Q6_K>(); return true;
    case GgmlType::IQ4_NL: f.template operator()<GgmlType::IQ4_NL>(); return true;
    case GgmlType::IQ4_XS: f.template operator()<GgmlType::IQ4_XS>(); return true;
    default: return false;
  }
}

}  // namespace ember::cuda
