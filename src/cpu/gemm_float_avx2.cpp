// AVX2 tiled prompt kernels for F32, F16 and BF16 weights (gemm.h, gemm_float.h), compiled for
// AVX2 through function attributes like dot_avx2.cpp and used only when the CPU has it.
//
// Exactness. The row dots avx2::DotF32 / DotF16 / DotBF16 keep one 8-lane accumulator: lane l
// sums w[i] * a[i] for i = l (mod 8) over the whole 8-element chunks, in order, by fused
// multiply-adds of operands widened to F32 (exact for F16 and BF16); then the 8 lanes are summed
// (Hsum, cpu/avx2_util.h, the same pairing) and the last n_in % 8 products are added one at a
// time. Here every (row, token) of a tile keeps such an accumulator of its own, fed the same
// operands in the same order, so each result is the row dot's float. Only loads and conversions are shared:
// activations are widened to F32 once per batch, and in the inner step each weight vector
// (widened in registers: F16C or a shift) meets 3 tokens and each activation vector 4 rows.
// (Widening 4-row panels into a buffer instead cost F16 about a quarter of its speed.)
//
// BF16 on CPUs with AVX-512 BF16 (from Isa::kAvx512 up): vdpbf16ps adds two products of BF16
// pairs into each F32 lane, 16 multiply-adds per 256-bit instruction where the widen +
// multiply-add did 8, on the BF16 activations as they are (ember rounds activations to BF16 for
// BF16 weights, as llama.cpp does; its own kernels take vdpbf16ps on such CPUs too). The row dots
// take the same instruction there (avx2::DotBF16Pairs), in the same order as this tile, so prompt
// and decode keep one set of bits per ISA; they differ from the AVX2 path's in the last bits (a
// sum rounds once per pair instead of once per product).
#include "cpu/gemm_float.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_GEMM_FLOAT_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu::float_gemm {
namespace {

constexpr int kRows = 4;  // weight rows per panel
constexpr int kToks = 3;  // tokens per inner step: 12 accumulators + 3 activations + 1 weight
// Where this file is built with AVX-512 (32 vector registers), F32/F16/BF16-widened tiles take 6
// tokens: 24 accumulators + 6 activations + 1 weight, each weight load and conversion serving 6
// multiply-adds instead of 3.
#if defined(__AVX512F__)
constexpr int kWideToks = 6;
#else
constexpr int kWideToks = kToks;
#endif

// Packed activation rows are 64-byte aligned and an odd number of 64-byte lines apart. A tile
// reads its 6 (or 3) token rows side by side with its 4 weight rows; rows a multiple of 4 KiB
// apart (n_in 2048: F32 rows 8 KiB, BF16 rows 4 KiB) all fall in the same sets of the 8-way L1
// cache, and 10 such streams thrashed it (F16, one core, 2048 x 2048 x 128: 85.5 GFLOP/s against
// 91.5 at n_in 2112; BF16's 6-token tile lost 10% to the 3-token one at 2048).
int64_t OddLines(int64_t lines) { return lines % 2 == 0 ? lines + 1 : lines; }
// Floats between packed activation rows.
int64_t Stride(int64_t n_in) { return OddLines((n_in + 15) / 16) * 16; }
// BF16 values between the BF16 copies of the activation rows (after the floats).
int64_t Stride16(int64_t n_in) { return OddLines((n_in + 31) / 32) * 32; }

#if defined(EMBER_GEMM_FLOAT_AVX2)

template <typename T>
T* AlignPtr(T* p) {
  return reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(p) + kAlign - 1) / kAlign * kAlign);
}

// n elements of `type` (F16 or BF16) to F32, exactly.
EMBER_AVX2 void Widen(GgmlType type, const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  if (type == GgmlType::F16) {
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    }
    for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
  } else {
    for (; i + 8 <= n; i += 8) {
      const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
    }
    for (; i < n; ++i) {
      const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
      std::memcpy(dst + i, &bits, 4);
    }
  }
}

// 8 weights of row type T (float, or F16 / BF16 bits) as F32, exactly; in a register either way.
template <GgmlType T>
EMBER_AVX2 inline __m256 LoadW(const void* row, int64_t i) {
  if constexpr (T == GgmlType::F32) {
    __m256 v = _mm256_loadu_ps(static_cast<const float*>(row) + i);
    // Keep it in a register: GCC otherwise folds the load into each of the 3 multiply-adds.
    __asm__("" : "+v"(v));
    return v;
  } else if constexpr (T == GgmlType::F16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(row) + i)));
  } else {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(row) + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
}

template <GgmlType T>
EMBER_AVX2 inline float WeightAt(const void* row, int64_t j) {
  if constexpr (T == GgmlType::F32) {
    return static_cast<const float*>(row)[j];
  } else if constexpr (T == GgmlType::F16) {
    return _cvtsh_ss(static_cast<const uint16_t*>(row)[j]);
  } else {
    return Bf16ToFloat(static_cast<const uint16_t*>(row)[j]);
  }
}

// One weight row's step against the 3 tokens' activation vectors.
template <GgmlType T>
EMBER_AVX2 inline void RowStep(const void* w, int64_t i, __m256 a0, __m256 a1, __m256 a2, __m256& c0, __m256& c1,
                               __m256& c2) {
  const __m256 wv = LoadW<T>(w, i);
  c0 = _mm256_fmadd_ps(wv, a0, c0);
  c1 = _mm256_fmadd_ps(wv, a1, c1);
  c2 = _mm256_fmadd_ps(wv, a2, c2);
}

// The row dot's finish for each (row, token) of a tile: the lane sum, then the tail one product
// at a time (same expression, so the same contraction into fused multiply-adds).
template <GgmlType T, int kT>
EMBER_AVX2 inline void Finish(const __m256 (&acc)[kRows][kT], const void* const* w, const float* const* a, int64_t i,
                              int64_t n, float out[kRows][kT]) {
  for (int r = 0; r < kRows; ++r) {
    for (int t = 0; t < kT; ++t) {
      float sum = Hsum(acc[r][t]);
      for (int64_t j = i; j < n; ++j) sum += WeightAt<T>(w[r], j) * a[t][j];
      out[r][t] = sum;
    }
  }
}

// 4 rows x 3 tokens over n elements: out[r][t] = the row dot of w[r] and a[t]. Named
// accumulators (GCC stores an array of them to the stack every step), and the activations
// pinned in registers: otherwise GCC folds them into every multiply-add as memory operands,
// 16 loads per 12 multiply-adds instead of 7.
template <GgmlType T>
EMBER_AVX2 void Tile(const void* const* w, const float* const* a, int64_t n, float out[kRows][kToks]) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  __m256 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  const void *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  const float *x0 = a[0], *x1 = a[1], *x2 = a[2];
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a0 = _mm256_loadu_ps(x0 + i), a1 = _mm256_loadu_ps(x1 + i), a2 = _mm256_loadu_ps(x2 + i);
    __asm__("" : "+v"(a0), "+v"(a1), "+v"(a2));
    RowStep<T>(w0, i, a0, a1, a2, c00, c01, c02);
    RowStep<T>(w1, i, a0, a1, a2, c10, c11, c12);
    RowStep<T>(w2, i, a0, a1, a2, c20, c21, c22);
    RowStep<T>(w3, i, a0, a1, a2, c30, c31, c32);
  }
  const __m256 acc[kRows][kToks] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
  Finish<T, kToks>(acc, w, a, i, n, out);
}

#if defined(__AVX512F__)
// Tile with 6 tokens (32 registers): each (row, token) the same accumulator, steps and finish, so
// the same bits. Named accumulators again: an array of them spilled (a 4 x 6 version with arrays
// ran at 67 GFLOP/s against the 4 x 3 tile's 186).
template <GgmlType T>
EMBER_AVX2 inline void RowStep6(const void* w, int64_t i, const __m256 (&x)[6], __m256& c0, __m256& c1, __m256& c2,
                                __m256& c3, __m256& c4, __m256& c5) {
  const __m256 wv = LoadW<T>(w, i);
  c0 = _mm256_fmadd_ps(wv, x[0], c0);
  c1 = _mm256_fmadd_ps(wv, x[1], c1);
  c2 = _mm256_fmadd_ps(wv, x[2], c2);
  c3 = _mm256_fmadd_ps(wv, x[3], c3);
  c4 = _mm256_fmadd_ps(wv, x[4], c4);
  c5 = _mm256_fmadd_ps(wv, x[5], c5);
}

template <GgmlType T>
EMBER_AVX2 void Tile6(const void* const* w, const float* const* a, int64_t n, float out[kRows][6]) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c04 = c00, c05 = c00;
  __m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00, c14 = c00, c15 = c00;
  __m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00, c24 = c00, c25 = c00;
  __m256 c30 = c00, c31 = c00, c32 = c00, c33 = c00, c34 = c00, c35 = c00;
  const void *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  const float *x0 = a[0], *x1 = a[1], *x2 = a[2], *x3 = a[3], *x4 = a[4], *x5 = a[5];
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v[6] = {_mm256_loadu_ps(x0 + i), _mm256_loadu_ps(x1 + i), _mm256_loadu_ps(x2 + i),
                   _mm256_loadu_ps(x3 + i), _mm256_loadu_ps(x4 + i), _mm256_loadu_ps(x5 + i)};
    __asm__("" : "+v"(v[0]), "+v"(v[1]), "+v"(v[2]), "+v"(v[3]), "+v"(v[4]), "+v"(v[5]));
    RowStep6<T>(w0, i, v, c00, c01, c02, c03, c04, c05);
    RowStep6<T>(w1, i, v, c10, c11, c12, c13, c14, c15);
    RowStep6<T>(w2, i, v, c20, c21, c22, c23, c24, c25);
    RowStep6<T>(w3, i, v, c30, c31, c32, c33, c34, c35);
  }
  const __m256 acc[kRows][6] = {{c00, c01, c02, c03, c04, c05},
                                {c10, c11, c12, c13, c14, c15},
                                {c20, c21, c22, c23, c24, c25},
                                {c30, c31, c32, c33, c34, c35}};
  Finish<T, 6>(acc, w, a, i, n, out);
}
#endif

#if !defined(__AVX512F__)  // (TileBf16Pairs6 below where the file has 32 registers)
EMBER_AVX2 inline void RowStepBf16(const uint16_t* w, int64_t i, __m256i a0, __m256i a1, __m256i a2, __m256& c0,
                                   __m256& c1, __m256& c2) {
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i));
  DpBf16(c0, wv, a0);
  DpBf16(c1, wv, a1);
  DpBf16(c2, wv, a2);
}

// Tile's shape on BF16 pairs (avx2_util.h's DpBf16): per (row, token) avx2::DotBF16Pairs'
// accumulator, steps and tail, so its bits.
EMBER_AVX2 void TileBf16Pairs(const void* const* w, const uint16_t* const* a, int64_t n, float out[kRows][kToks]) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  __m256 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  const auto* w0 = static_cast<const uint16_t*>(w[0]);
  const auto* w1 = static_cast<const uint16_t*>(w[1]);
  const auto* w2 = static_cast<const uint16_t*>(w[2]);
  const auto* w3 = static_cast<const uint16_t*>(w[3]);
  const uint16_t *x0 = a[0], *x1 = a[1], *x2 = a[2];
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0 + i));
    __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x1 + i));
    __m256i a2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x2 + i));
    __asm__("" : "+v"(a0), "+v"(a1), "+v"(a2));
    RowStepBf16(w0, i, a0, a1, a2, c00, c01, c02);
    RowStepBf16(w1, i, a0, a1, a2, c10, c11, c12);
    RowStepBf16(w2, i, a0, a1, a2, c20, c21, c22);
    RowStepBf16(w3, i, a0, a1, a2, c30, c31, c32);
  }
  const __m256 acc[kRows][kToks] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
  for (int r = 0; r < kRows; ++r) {
    for (int t = 0; t < kToks; ++t) {
      float sum = Hsum(acc[r][t]);
      for (int64_t j = i; j < n; ++j) sum += Bf16ToFloat(static_cast<const uint16_t*>(w[r])[j]) * Bf16ToFloat(a[t][j]);
      out[r][t] = sum;
    }
  }
}

#endif

#if defined(__AVX512F__)
// TileBf16Pairs with 6 tokens (32 registers), as Tile6: the same accumulators, steps and tail.
EMBER_AVX2 inline void RowStepBf16x6(const uint16_t* w, int64_t i, const __m256i (&x)[6], __m256& c0, __m256& c1,
                                     __m256& c2, __m256& c3, __m256& c4, __m256& c5) {
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i));
  DpBf16(c0, wv, x[0]);
  DpBf16(c1, wv, x[1]);
  DpBf16(c2, wv, x[2]);
  DpBf16(c3, wv, x[3]);
  DpBf16(c4, wv, x[4]);
  DpBf16(c5, wv, x[5]);
}

EMBER_AVX2 void TileBf16Pairs6(const void* const* w, const uint16_t* const* a, int64_t n, float out[kRows][6]) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c04 = c00, c05 = c00;
  __m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00, c14 = c00, c15 = c00;
  __m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00, c24 = c00, c25 = c00;
  __m256 c30 = c00, c31 = c00, c32 = c00, c33 = c00, c34 = c00, c35 = c00;
  const auto* w0 = static_cast<const uint16_t*>(w[0]);
  const auto* w1 = static_cast<const uint16_t*>(w[1]);
  const auto* w2 = static_cast<const uint16_t*>(w[2]);
  const auto* w3 = static_cast<const uint16_t*>(w[3]);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i v[6];
    for (int k = 0; k < 6; ++k) v[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[k] + i));
    __asm__("" : "+v"(v[0]), "+v"(v[1]), "+v"(v[2]), "+v"(v[3]), "+v"(v[4]), "+v"(v[5]));
    RowStepBf16x6(w0, i, v, c00, c01, c02, c03, c04, c05);
    RowStepBf16x6(w1, i, v, c10, c11, c12, c13, c14, c15);
    RowStepBf16x6(w2, i, v, c20, c21, c22, c23, c24, c25);
    RowStepBf16x6(w3, i, v, c30, c31, c32, c33, c34, c35);
  }
  const __m256 acc[kRows][6] = {{c00, c01, c02, c03, c04, c05},
                                {c10, c11, c12, c13, c14, c15},
                                {c20, c21, c22, c23, c24, c25},
                                {c30, c31, c32, c33, c34, c35}};
  for (int r = 0; r < kRows; ++r) {
    for (int t = 0; t < 6; ++t) {
      float sum = Hsum(acc[r][t]);
      for (int64_t j = i; j < n; ++j) sum += Bf16ToFloat(static_cast<const uint16_t*>(w[r])[j]) * Bf16ToFloat(a[t][j]);
      out[r][t] = sum;
    }
  }
}
#endif

// Where the BF16 copies of the activation rows start (BF16 weights only): after the floats.
uint16_t* Bf16Rows(const uint8_t* packed, int64_t n_in, int64_t n_tok) {
  const float* end = AlignPtr(reinterpret_cast<const float*>(packed)) + n_tok * Stride(n_in);
  return const_cast<uint16_t*>(AlignPtr(reinterpret_cast<const uint16_t*>(end)));
}

EMBER_AVX2 void PackActsAvx2(GgmlType type, int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes,
                             int64_t t0, int64_t t1, uint8_t* packed) {
  float* base = AlignPtr(reinterpret_cast<float*>(packed));
  const int64_t ld = Stride(n_in);
  for (int64_t t = t0; t < t1; ++t) {
    const uint8_t* row = act + static_cast<uint64_t>(t) * act_row_bytes;
    float* dst = base + t * ld;
    if (type == GgmlType::F32) {
      std::memcpy(dst, row, static_cast<size_t>(n_in) * sizeof(float));
    } else {
      Widen(type, reinterpret_cast<const uint16_t*>(row), n_in, dst);
    }
    std::fill(dst + n_in, dst + ld, 0.0f);
    if (type == GgmlType::BF16) {
      // Both tiles' inputs: which one runs is the Rows call's choice (ISA, EMBER_EXACT_GEMM).
      uint16_t* dst16 = Bf16Rows(packed, n_in, n_tok) + t * Stride16(n_in);
      std::memcpy(dst16, row, static_cast<size_t>(n_in) * sizeof(uint16_t));
      std::fill(dst16 + n_in, dst16 + Stride16(n_in), uint16_t{0});
    }
  }
}

// Chunks of tokens whose activations (about 192 KiB: F32 rows, or BF16 rows for the pair tile)
// stay in L2 while the panels pass; tile(wr, at, out) runs one 4-row x kT-token tile.
template <int kT, class A, class TileFn>
EMBER_AVX2 void WalkTiles(uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1, const A* acts, int64_t ld,
                          int64_t n_tok, float* y, int64_t ldy, TileFn tile) {
  const int64_t chunk = std::max<int64_t>(kT, (192 * 1024 / (static_cast<int64_t>(sizeof(A)) * ld)) / kT * kT);
  float out[kRows][kT];
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    for (int64_t p0 = r0; p0 < r1; p0 += kRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kRows, r1 - p0));
      // A partial panel repeats its last row (computed, not stored).
      const void* wr[kRows];
      for (int r = 0; r < kRows; ++r) wr[r] = w + static_cast<uint64_t>(p0 + std::min(r, n_rows - 1)) * row_bytes;
      for (int64_t t = c0; t < c1; t += kT) {
        const int n_t = static_cast<int>(std::min<int64_t>(kT, c1 - t));
        const A* at[kT];
        for (int k = 0; k < kT; ++k) at[k] = acts + (t + std::min(k, n_t - 1)) * ld;
        tile(wr, at, out);
        for (int k = 0; k < n_t; ++k) {
          for (int r = 0; r < n_rows; ++r) y[(t + k) * ldy + p0 + r] = out[r][k];
        }
      }
    }
  }
}

template <GgmlType T>
EMBER_AVX2 void RowsAvx2(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                         const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
  const float* acts = AlignPtr(reinterpret_cast<const float*>(packed));
#if defined(__AVX512F__)
  WalkTiles<kWideToks>(row_bytes, w, r0, r1, acts, Stride(n_in), n_tok, y, ldy,
                       [n_in](const void* const* wr, const float* const* at, float out[kRows][kWideToks]) {
                         Tile6<T>(wr, at, n_in, out);
                       });
#else
  WalkTiles<kToks>(row_bytes, w, r0, r1, acts, Stride(n_in), n_tok, y, ldy,
                   [n_in](const void* const* wr, const float* const* at, float out[kRows][kToks]) {
                     Tile<T>(wr, at, n_in, out);
                   });
#endif
}

// The BF16 pair tile over the BF16 copies of the activations.
EMBER_AVX2 void RowsBf16Pairs(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                              const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
  const uint16_t* acts = Bf16Rows(packed, n_in, n_tok);
#if defined(__AVX512F__)
  WalkTiles<kWideToks>(row_bytes, w, r0, r1, acts, Stride16(n_in), n_tok, y, ldy,
                       [n_in](const void* const* wr, const uint16_t* const* at, float out[kRows][kWideToks]) {
                         TileBf16Pairs6(wr, at, n_in, out);
                       });
#else
  WalkTiles<kToks>(row_bytes, w, r0, r1, acts, Stride16(n_in), n_tok, y, ldy,
                   [n_in](const void* const* wr, const uint16_t* const* at, float out[kRows][kToks]) {
                     TileBf16Pairs(wr, at, n_in, out);
                   });
#endif
}

#endif  // EMBER_GEMM_FLOAT_AVX2

}  // namespace

bool Handles(GgmlType type) {
  return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

bool Has(GgmlType type, Isa isa) {
#if defined(EMBER_GEMM_FLOAT_AVX2)
  return isa >= Isa::kAvx2 && Handles(type);
#else
  (void)type, (void)isa;
  return false;
#endif
}

uint64_t PackedBytes(GgmlType type, int64_t n_in, int64_t n_tok) {
  const uint64_t floats = static_cast<uint64_t>(n_tok * Stride(n_in)) * sizeof(float) + kAlign;
  return type == GgmlType::BF16 ? floats + static_cast<uint64_t>(n_tok * Stride16(n_in)) * sizeof(uint16_t) + kAlign
                                : floats;
}

void PackActs(GgmlType type, int64_t n_in, int64_t n_tok, const uint8_t* act,
              uint64_t act_row_bytes, int64_t t0, int64_t t1, uint8_t* packed) {
  EMBER_CHECK(Handles(type));
#if defined(EMBER_GEMM_FLOAT_AVX2)
  PackActsAvx2(type, n_in, n_tok, act, act_row_bytes, t0, t1, packed);
#else
  (void)n_in, (void)n_tok, (void)act, (void)act_row_bytes, (void)t0, (void)t1, (void)packed;
  Fail("no tiled CPU kernels in this build");
#endif
}

void Rows(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0,
          int64_t r1, const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  EMBER_CHECK(Handles(type));
#if defined(EMBER_GEMM_FLOAT_AVX2)
  if (type == GgmlType::BF16 && isa >= Isa::kAvx512 && HasAvx512Bf16()) {  // the row dots' order there
    return RowsBf16Pairs(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  }
  switch (type) {
    case GgmlType::F32: return RowsAvx2<GgmlType::F32>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
    case GgmlType::F16: return RowsAvx2<GgmlType::F16>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
    default: return RowsAvx2<GgmlType::BF16>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  }
#else
  (void)n_in, (void)row_bytes, (void)w, (void)r0, (void)r1, (void)packed, (void)n_tok, (void)y, (void)ldy, (void)isa;
  Fail("no tiled CPU kernels in this build");
#endif
}

}  // namespace ember::cpu::float_gemm
