// The 4-row x 2-token tile of the 32-element formats' prompt kernels (gemm_avx2: Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0; gemm_iq4nl_avx2: IQ4_NL), on a panel of unpacked rows that each file fills
// in its own way. Per (row, token) it does the float work of the AVX2 row dot (dot_avx2.cpp):
// d_w * d_a rounded once, one fused multiply-add of it and the block's 8 int32 lane sums, blocks
// in order, the lane sums at the end in ggml's order -- so the bits of llama.cpp's kernels, with
// the AVX2 integer step and with AVX-512 VNNI's alike (int8_dot_step.h).
// Header-only so that each kernel file inlines it into its own AVX2 driver; x86-64 GCC/Clang
// only, like those files.
#pragma once

#include <cstdint>

#include "cpu/avx2_util.h"
#include "cpu/gemm_acts.h"
#include "cpu/int8_dot_step.h"

namespace ember::cpu::legacy_tile {
constexpr int kRows = 4;  // weight rows per panel
constexpr int kToks = 2;  // tokens per inner step
}  // namespace ember::cpu::legacy_tile

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define EMBER_TILE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ember::cpu::legacy_tile {

struct Panel {
  uint8_t* q;    // [b][row][32]: signed code q - offset (Q4_0/Q5_0/Q8_0) or unsigned code
  uint8_t* aq;   // [b][row][32]: |signed code| (signed types only)
  float* dx8;    // [b][8]: the 4 rows' scales, twice
  float* m8;     // [b][8]: the 4 rows' mins, twice (Q4_1/Q5_1)
};

inline uint64_t PanelBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return 2 * AlignUp(n * kRows * 32) + 2 * AlignUp(n * 32);
}

inline Panel PanelAt(uint8_t* p, int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  Panel lp;
  lp.q = p;
  lp.aq = p + AlignUp(n * kRows * 32);
  lp.dx8 = reinterpret_cast<float*>(lp.aq + AlignUp(n * kRows * 32));
  lp.m8 = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(lp.dx8) + AlignUp(n * 32));
  return lp;
}

// A block's scale products dx * dy for the tile's (row, token) pairs, one multiply each as
// before (so the same bits): pa lane r (and r + 4) = dx_r * dy_a, pb the same for token b, and
// each row step takes its product to all 8 lanes with an in-lane shuffle (the panel holds dx_r
// in both halves). The 8 products stored to a small buffer and broadcast back (signed types),
// or formed by 8 multiplies of broadcasts (Q4_1/Q5_1), cost 3-4 cycles a block; a microbenchmark
// of the signed tile (data in L1) went 19.3 -> 17.6 cycles per block, and one core's 2048 x 2048
// x 128-token product: Q5_0 36-37 -> 42, Q8_0 36 -> 41, Q4_1 43-44 -> 50-51 GMAC/s.
struct Scales {
  __m256 pa, pb;
};

// One panel row R against both tokens of a tile, block b: each code vector loaded once. Dot is
// the integer step (int8_dot_step.h: AVX2 maddubs + madd, or AVX-512 VNNI; the same integers).
template <class Dot, bool kSigned, int R>
EMBER_TILE_AVX2 inline void RowStep(const Panel& p, int64_t b, __m256i y0, __m256i y1,
                                     const Scales& sc, __m256& c0, __m256& c1) {
  constexpr int r = R;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i q = LoadA(p.q + (b * kRows + r) * 32);
  KeepInRegister(q);
  __m256i s0, s1;
  if constexpr (kSigned) {
    __m256i aq = LoadA(p.aq + (b * kRows + r) * 32);
    KeepInRegister(aq);
    s0 = Dot::Sum(aq, _mm256_sign_epi8(y0, q), ones);
    s1 = Dot::Sum(aq, _mm256_sign_epi8(y1, q), ones);
  } else {
    s0 = Dot::Sum(q, y0, ones);
    s1 = Dot::Sum(q, y1, ones);
  }
  const __m256 d0 = _mm256_shuffle_ps(sc.pa, sc.pa, R * 0x55);
  const __m256 d1 = _mm256_shuffle_ps(sc.pb, sc.pb, R * 0x55);
  c0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(s0), c0);
  c1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(s1), c1);
}

// 4 rows x 2 tokens (tokens ta, tb; tb may equal ta for an odd count): out[4 * token + row].
// Named accumulators and row-outer steps keep everything in the 16 registers (an array of
// accumulators made GCC store all 8 to the stack every block); the scale products as above.
// Kept out of line: inlined into a driver loop, GCC allocated its registers worse (Q5_0 and
// Q8_0 42 -> 36 GMAC/s on one core).
template <class Dot, bool kSigned, bool kMin>
EMBER_TILE_AVX2 __attribute__((noinline)) inline void Tile(const Panel& p, const GemmActs& a, int64_t ta,
                                                          int64_t tb, float* out) {
  const int64_t nb = a.nb;
  const int8_t* ya = a.qs + ta * nb * 32;
  const int8_t* yb = a.qs + tb * nb * 32;
  const float* da = a.d4 + ta * nb * 4;
  const float* db = a.d4 + tb * nb * 4;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  __m256 mins = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m256 dx = _mm256_load_ps(p.dx8 + b * 8);
    const Scales sc{_mm256_mul_ps(dx, _mm256_broadcast_ss(da + b * 4)),
                          _mm256_mul_ps(dx, _mm256_broadcast_ss(db + b * 4))};
    const __m256i y0 = LoadA(ya + b * 32);
    const __m256i y1 = LoadA(yb + b * 32);
    RowStep<Dot, kSigned, 0>(p, b, y0, y1, sc, c00, c01);
    RowStep<Dot, kSigned, 1>(p, b, y0, y1, sc, c10, c11);
    RowStep<Dot, kSigned, 2>(p, b, y0, y1, sc, c20, c21);
    RowStep<Dot, kSigned, 3>(p, b, y0, y1, sc, c30, c31);
    if constexpr (kMin) {
      const __m256 s = _mm256_set_m128(_mm_load_ps(a.s4 + (tb * nb + b) * 4), _mm_load_ps(a.s4 + (ta * nb + b) * 4));
      mins = _mm256_fmadd_ps(_mm256_load_ps(p.m8 + b * 8), s, mins);
    }
  }
  alignas(32) float m[8];
  _mm256_store_ps(m, mins);
  const __m256 acc[kToks][kRows] = {{c00, c10, c20, c30}, {c01, c11, c21, c31}};
  for (int t = 0; t < kToks; ++t) {
    for (int r = 0; r < kRows; ++r) {
      out[4 * t + r] = kMin ? Hsum(acc[t][r]) + m[4 * t + r] : Hsum(acc[t][r]);
    }
  }
}

}  // namespace ember::cpu::legacy_tile

#undef EMBER_TILE_AVX2

#endif
