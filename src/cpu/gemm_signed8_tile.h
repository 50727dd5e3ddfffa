// The 8-row x 4-token tile of the signed 32-element formats' prompt kernels (gemm_avx2: Q4_0,
// Q5_0, Q8_0), used unless exact prompt kernels are asked for (gemm.h, ExactGemm).
//
// Why a second tile. legacy_tile gives llama.cpp's bits: per (row, token) it converts a block's 8
// int32 lane sums to float and adds them into 8 float lanes (5 vector operations per 32 weights
// and token, a sixth to spread the scale product); measured on Zen 3 that is the bound of the
// Q8_0 / Q5_0 prompt rows (a layout without the scale shuffle ran no faster). Here a vector
// holds 4 consecutive codes of each of 8 rows, so one maddubs + madd step gives the 8 rows'
// partial sums side by side; a block's 8 steps add up, in int32, to each row's exact block dot
// product, and one convert and one fused multiply-add per (block, token) serve all 8 rows:
// about 4.4 operations per 32 weights and token instead of 6. The integer sums are the same
// exact integers; the float work differs (one rounding per block instead of eight lane sums), so
// results differ from the row dot products in the last bits (tests/cpu/test_gemm.cpp bounds the
// difference). The integer step is AVX2's maddubs + madd or AVX-512 VNNI's vpdpbusd
// (int8_dot_step.h): 3 vector operations per 32 weights and token become 1, and the bits stay.
// Q8_0 runs Tile (the sign trick); Q4_0 and Q5_0 run OffsetTile (unsigned codes and the
// activations' block sums, no sign step; the same integers, so the same bits as Tile).
//
// Header-only so that gemm_avx2 inlines the panel stores into its unpacking; x86-64 GCC/Clang
// only, like that file.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu/avx2_util.h"
#include "cpu/gemm_acts.h"
#include "cpu/int8_dot_step.h"

namespace ember::cpu::signed8_tile {
constexpr int kRows = 8;  // weight rows per panel
constexpr int kToks = 4;  // tokens per inner step
}  // namespace ember::cpu::signed8_tile

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define EMBER_TILE8_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ember::cpu::signed8_tile {

// A panel of 8 rows: for block b and step k (codes 4k..4k+3), a 32-byte vector holding those 4
// codes of rows 0..7 in turn; the same for their absolute values; each row's block scale.
struct Panel {
  uint8_t* q;   // [b][k][row][4] signed codes
  uint8_t* aq;  // [b][k][row][4] |code|
  float* d;     // [b][row]
};

inline uint64_t PanelBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return 2 * AlignUp(n * kRows * 32) + AlignUp(n * kRows * 4);
}

inline Panel PanelAt(uint8_t* p, int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  Panel sp;
  sp.q = p;
  sp.aq = p + AlignUp(n * kRows * 32);
  sp.d = reinterpret_cast<float*>(sp.aq + AlignUp(n * kRows * 32));
  return sp;
}

// Block b of the panel's 8 rows: their 32 signed codes each (c[r]) and scales. An 8 x 8
// transpose of 4-byte groups makes step k's vector (group k of every row); scattering the groups
// one by one took 17% of a Q8_0 prompt.
// kAbs: also store |code| (the sign-trick tile); the offset tile's codes are unsigned already.
template <bool kAbs = true>
EMBER_TILE8_AVX2 inline void StoreBlock(const Panel& p, int64_t b, const __m256i* c, const float* d) {
  __m256i v[8];
  for (int r = 0; r < 8; ++r) v[r] = c[r];
  Transpose8x8Epi32(v);
  for (int k = 0; k < 8; ++k) {
    StoreA(p.q + (b * kRows + k) * 32, v[k]);
    if constexpr (kAbs) StoreA(p.aq + (b * kRows + k) * 32, _mm256_sign_epi8(v[k], v[k]));
  }
  _mm256_store_ps(p.d + b * kRows, _mm256_loadu_ps(d));
}

EMBER_TILE8_AVX2 inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Step k of block b against 4 tokens: the 8 rows' partial sums added into each token's int32
// accumulator by the integer step Dot (int8_dot_step.h). The code vectors are pinned in
// registers (read 4 times each).
template <class Dot, int K>
EMBER_TILE8_AVX2 inline void Step(const Panel& p, int64_t b, const int8_t* y0, const int8_t* y1,
                                  const int8_t* y2, const int8_t* y3, __m256i ones, __m256i& s0,
                                  __m256i& s1, __m256i& s2, __m256i& s3) {
  __m256i q = LoadA(p.q + (b * 8 + K) * 32);
  __m256i aq = LoadA(p.aq + (b * 8 + K) * 32);
  KeepInRegister(q);
  KeepInRegister(aq);
  Dot::Add(s0, aq, _mm256_sign_epi8(Broadcast4(y0 + 4 * K), q), ones);
  Dot::Add(s1, aq, _mm256_sign_epi8(Broadcast4(y1 + 4 * K), q), ones);
  Dot::Add(s2, aq, _mm256_sign_epi8(Broadcast4(y2 + 4 * K), q), ones);
  Dot::Add(s3, aq, _mm256_sign_epi8(Broadcast4(y3 + 4 * K), q), ones);
}

// 8 rows x tokens t[0..3] (repeats allowed, for a short last step): out[8 * i + row]. Named
// accumulators: an array of them made GCC keep them on the stack.
template <class Dot>
EMBER_TILE8_AVX2 __attribute__((noinline)) inline void Tile(const Panel& p, const GemmActs& a,
                                                            const int64_t* t, float* out) {
  const int64_t nb = a.nb;
  const int8_t* y0 = a.qs + t[0] * nb * 32;
  const int8_t* y1 = a.qs + t[1] * nb * 32;
  const int8_t* y2 = a.qs + t[2] * nb * 32;
  const int8_t* y3 = a.qs + t[3] * nb * 32;
  const float* d0 = a.d4 + t[0] * nb * 4;
  const float* d1 = a.d4 + t[1] * nb * 4;
  const float* d2 = a.d4 + t[2] * nb * 4;
  const float* d3 = a.d4 + t[3] * nb * 4;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    const int64_t o = b * 32;
    Step<Dot, 0>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    Step<Dot, 1>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    Step<Dot, 2>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    Step<Dot, 3>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    Step<Dot, 4>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    Step<Dot, 5>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    Step<Dot, 6>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    Step<Dot, 7>(p, b, y0 + o, y1 + o, y2 + o, y3 + o, ones, s0, s1, s2, s3);
    const __m256 dw = _mm256_load_ps(p.d + b * kRows);
    c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), _mm256_mul_ps(dw, _mm256_broadcast_ss(d0 + b * 4)), c0);
    c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), _mm256_mul_ps(dw, _mm256_broadcast_ss(d1 + b * 4)), c1);
    c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s2), _mm256_mul_ps(dw, _mm256_broadcast_ss(d2 + b * 4)), c2);
    c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s3), _mm256_mul_ps(dw, _mm256_broadcast_ss(d3 + b * 4)), c3);
  }
  _mm256_storeu_ps(out, c0);
  _mm256_storeu_ps(out + 8, c1);
  _mm256_storeu_ps(out + 16, c2);
  _mm256_storeu_ps(out + 24, c3);
}

// The offset tile, for Q4_0 and Q5_0: the panel holds the unsigned codes u = q + 2^kShift (0..15
// or 0..31) and each block's integer is sum(u a) - 2^kShift sum(a), with sum(a) from the packed
// activations (GemmActs::nsum) -- the same exact integer as the sign-trick tile's, so the same
// bits, without its sign operation. With AVX2 the products also add in 16 bits before one madd:
// activation codes are within +-127 (the Q8_0 quantizer's range), so a maddubs lane is at most
// 2 x 31 x 127 = 7874 and 4 of them (Q5_0), or 8 at most 2 x 15 x 127 each (Q4_0), stay under
// 32767. Per block and token: 8 maddubs + 7-8 adds + 1-2 madds instead of 8 x (sign + maddubs +
// madd + add); with VNNI 8 vpdpbusd.
template <class Dot, int kShift>
EMBER_TILE8_AVX2 __attribute__((noinline)) inline void OffsetTile(const Panel& p, const GemmActs& a,
                                                                  const int64_t* t, float* out) {
  // Q8_0's offset codes (q + 128, kShift 7) would saturate maddubs: VNNI steps only.
  static_assert(kShift != 7 || !std::is_same_v<Dot, int8_step::MaddDot>);
  constexpr int kGroup = kShift == 3 ? 8 : 4;  // maddubs results summed in int16 (see above)
  const int64_t nb = a.nb;
  const int8_t* y0 = a.qs + t[0] * nb * 32;
  const int8_t* y1 = a.qs + t[1] * nb * 32;
  const int8_t* y2 = a.qs + t[2] * nb * 32;
  const int8_t* y3 = a.qs + t[3] * nb * 32;
  const float* d0 = a.d4 + t[0] * nb * 4;
  const float* d1 = a.d4 + t[1] * nb * 4;
  const float* d2 = a.d4 + t[2] * nb * 4;
  const float* d3 = a.d4 + t[3] * nb * 4;
  const int32_t* n0 = a.nsum + t[0] * nb;
  const int32_t* n1 = a.nsum + t[1] * nb;
  const int32_t* n2 = a.nsum + t[2] * nb;
  const int32_t* n3 = a.nsum + t[3] * nb;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i s0 = _mm256_slli_epi32(_mm256_set1_epi32(n0[b]), kShift);
    __m256i s1 = _mm256_slli_epi32(_mm256_set1_epi32(n1[b]), kShift);
    __m256i s2 = _mm256_slli_epi32(_mm256_set1_epi32(n2[b]), kShift);
    __m256i s3 = _mm256_slli_epi32(_mm256_set1_epi32(n3[b]), kShift);
    const int64_t o = b * 32;
    if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
      for (int g = 0; g < 8; g += kGroup) {
        __m256i u = LoadA(p.q + (b * 8 + g) * 32);
        __m256i h0 = _mm256_maddubs_epi16(u, Broadcast4(y0 + o + 4 * g));
        __m256i h1 = _mm256_maddubs_epi16(u, Broadcast4(y1 + o + 4 * g));
        __m256i h2 = _mm256_maddubs_epi16(u, Broadcast4(y2 + o + 4 * g));
        __m256i h3 = _mm256_maddubs_epi16(u, Broadcast4(y3 + o + 4 * g));
        for (int k = g + 1; k < g + kGroup; ++k) {
          u = LoadA(p.q + (b * 8 + k) * 32);
          KeepInRegister(u);
          h0 = _mm256_add_epi16(h0, _mm256_maddubs_epi16(u, Broadcast4(y0 + o + 4 * k)));
          h1 = _mm256_add_epi16(h1, _mm256_maddubs_epi16(u, Broadcast4(y1 + o + 4 * k)));
          h2 = _mm256_add_epi16(h2, _mm256_maddubs_epi16(u, Broadcast4(y2 + o + 4 * k)));
          h3 = _mm256_add_epi16(h3, _mm256_maddubs_epi16(u, Broadcast4(y3 + o + 4 * k)));
          KeepInRegister(h0);
          KeepInRegister(h1);
          KeepInRegister(h2);
          KeepInRegister(h3);
        }
        int8_step::AddInto(s0, _mm256_madd_epi16(h0, ones));
        int8_step::AddInto(s1, _mm256_madd_epi16(h1, ones));
        int8_step::AddInto(s2, _mm256_madd_epi16(h2, ones));
        int8_step::AddInto(s3, _mm256_madd_epi16(h3, ones));
      }
    } else {
      for (int k = 0; k < 8; ++k) {
        __m256i u = LoadA(p.q + (b * 8 + k) * 32);
        KeepInRegister(u);
        Dot::Add(s0, u, Broadcast4(y0 + o + 4 * k), ones);
        Dot::Add(s1, u, Broadcast4(y1 + o + 4 * k), ones);
        Dot::Add(s2, u, Broadcast4(y2 + o + 4 * k), ones);
        Dot::Add(s3, u, Broadcast4(y3 + o + 4 * k), ones);
      }
    }
    const __m256 dw = _mm256_load_ps(p.d + b * kRows);
    c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), _mm256_mul_ps(dw, _mm256_broadcast_ss(d0 + b * 4)), c0);
    c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), _mm256_mul_ps(dw, _mm256_broadcast_ss(d1 + b * 4)), c1);
    c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s2), _mm256_mul_ps(dw, _mm256_broadcast_ss(d2 + b * 4)), c2);
    c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s3), _mm256_mul_ps(dw, _mm256_broadcast_ss(d3 + b * 4)), c3);
  }
  _mm256_storeu_ps(out, c0);
  _mm256_storeu_ps(out + 8, c1);
  _mm256_storeu_ps(out + 16, c2);
  _mm256_storeu_ps(out + 24, c3);
}

}  // namespace ember::cpu::signed8_tile

#undef EMBER_TILE8_AVX2

#endif
