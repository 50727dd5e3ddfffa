// The 8-row x 4-token tile of Q6_K's prompt kernel (gemm_avx2), used unless exact prompt kernels
// are asked for (gemm.h, ExactGemm) -- the K-quant counterpart of gemm_signed8_tile.h.
//
// Why a second tile. The exact 4-row tile (gemm_avx2's KTile) gives llama.cpp's row-dot bits: it
// keeps 8 int32 lanes per (row, token), each 32-element chunk scaled by madd with its two 16-
// element sub-block scales, so every chunk costs maddubs + madd + add per token whatever the ISA
// (vpdpbusd would need a 32-bit multiply per chunk instead of the madd and save nothing). On
// Zen 4 that tile ran at 105 GFLOP/s against 250 for Q4_K's repacked one, and Q6_K took 19% of a
// TinyLlama Q4_K_M prompt (2026-11-29). Here a vector holds 4 consecutive codes of each of 8
// rows, so a 16-element sub-block is 4 vectors, whose products sum into one int32 per row (4
// vpdpbusd, or 4 maddubs + 2 adds + 2 madds with the scale on AVX2); the scale is one 32-bit
// multiply per sub-block and token for all 8 rows, and each super-block's exact integer
//   sum over sub-blocks s of sc_s x (sum of (q + 32) a over s) - 32 x sum of sc_s x bsum_s
// (q + 32 the stored code 0..63, the second term from the activations' 16-element sums, the
// same subtraction as dot_avx2.cpp's) is converted once and added with one fused multiply-add
// of d_w x d_a for all 8 rows. The integers are exact either way, so AVX2 and VNNI give the same
// bits; the float work differs from the row dot's (one rounding per super-block instead of 8
// lane sums), so results differ from it in the last bits (tests/cpu/test_gemm.cpp bounds that).
//
// Bounds: a code is at most 63 and an activation at most 128 in magnitude (Q8_K's quantizer
// gives -128), so an AVX2 maddubs lane is at most 2 x 63 x 128 = 16128 and two of them stay
// under 32767; a sub-block's sum is at most 16 x 63 x 128, times |sc| <= 128 and 16 sub-blocks
// 2^28.1; the correction at most 32 x 16 x 128 x 2048 = 2^27: all within int32.
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

namespace ember::cpu::q6k_tile {
constexpr int kRows = 8;  // weight rows per panel
constexpr int kToks = 4;  // tokens per inner step
}  // namespace ember::cpu::q6k_tile

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define EMBER_Q6K_TILE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ember::cpu::q6k_tile {

// A panel of 8 rows. For super-block b and step v (elements 4v..4v+3; sub-block v / 4), a 32-byte
// vector holding those 4 codes (0..63) of rows 0..7 in turn; per sub-block the 8 rows' scales as
// int32 (the VNNI multiply) and as the int16 pair (sc, sc) (AVX2's madd); per pair of sub-blocks
// the int16 pair (sc_2p, sc_2p+1) (the correction's madd); each row's d.
struct Panel {
  uint8_t* q;    // [b][v][row][4]
  int32_t* sc;   // [b][s][row]
  int32_t* sc2;  // [b][s][row] (sc, sc)
  int32_t* scp;  // [b][p][row] (sc_2p, sc_2p+1)
  float* d;      // [b][row]
};

inline uint64_t PanelBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return AlignUp(n * kRows * 256) + 2 * AlignUp(n * 16 * kRows * 4) + AlignUp(n * 8 * kRows * 4) +
         AlignUp(n * kRows * 4);
}

inline Panel PanelAt(uint8_t* p, int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  Panel tp;
  tp.q = p;
  p += AlignUp(n * kRows * 256);
  tp.sc = reinterpret_cast<int32_t*>(p);
  p += AlignUp(n * 16 * kRows * 4);
  tp.sc2 = reinterpret_cast<int32_t*>(p);
  p += AlignUp(n * 16 * kRows * 4);
  tp.scp = reinterpret_cast<int32_t*>(p);
  p += AlignUp(n * 8 * kRows * 4);
  tp.d = reinterpret_cast<float*>(p);
  return tp;
}

inline int32_t Int16Pair(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
}

// Super-block b of the panel's 8 rows: codes[r] their 256 codes in element order (8 vectors of
// 32), scales[r] their 16 sub-block scales, d their scales. An 8 x 8 transpose of 4-byte groups
// per 32-element chunk makes the steps' vectors.
EMBER_Q6K_TILE_AVX2 inline void StoreSuperBlock(const Panel& p, int64_t b, const __m256i (*codes)[8],
                                                const int8_t (*scales)[16], const float* d) {
  for (int c = 0; c < 8; ++c) {
    __m256i v[8];
    for (int r = 0; r < 8; ++r) v[r] = codes[r][c];
    Transpose8x8Epi32(v);
    for (int k = 0; k < 8; ++k) StoreA(p.q + ((b * 64) + 8 * c + k) * 32, v[k]);
  }
  for (int s = 0; s < 16; ++s) {
    for (int r = 0; r < 8; ++r) {
      p.sc[(b * 16 + s) * kRows + r] = scales[r][s];
      p.sc2[(b * 16 + s) * kRows + r] = Int16Pair(scales[r][s], scales[r][s]);
    }
  }
  for (int q = 0; q < 8; ++q) {
    for (int r = 0; r < 8; ++r) p.scp[(b * 8 + q) * kRows + r] = Int16Pair(scales[r][2 * q], scales[r][2 * q + 1]);
  }
  for (int r = 0; r < 8; ++r) p.d[b * kRows + r] = d[r];
}

EMBER_Q6K_TILE_AVX2 inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

EMBER_Q6K_TILE_AVX2 inline __m256i Broadcast4(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// One sub-block of 8 rows (code vectors c0..c3) against one token's 16 activations at ys, added
// into the token's super-block total: AVX2, two pairs of maddubs summed in int16 and scaled by
// madd with (sc, sc); VNNI, 4 vpdpbusd in two chains (vpdpbusd adds into its own accumulator)
// and one 32-bit multiply by sc.
template <class Dot>
EMBER_Q6K_TILE_AVX2 inline void AddSubBlock(__m256i c0, __m256i c1, __m256i c2, __m256i c3, const int8_t* ys,
                                            __m256i sc, __m256i sc2, __m256i& total) {
  if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
    const __m256i h0 = _mm256_add_epi16(_mm256_maddubs_epi16(c0, Broadcast4(ys)), _mm256_maddubs_epi16(c1, Broadcast4(ys + 4)));
    const __m256i h1 = _mm256_add_epi16(_mm256_maddubs_epi16(c2, Broadcast4(ys + 8)), _mm256_maddubs_epi16(c3, Broadcast4(ys + 12)));
    int8_step::AddInto(total, _mm256_madd_epi16(h0, sc2));
    int8_step::AddInto(total, _mm256_madd_epi16(h1, sc2));
  } else {
    const __m256i ones = _mm256_set1_epi16(1);  // unused by the VNNI steps
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    Dot::Add(s0, c0, Broadcast4(ys), ones);
    Dot::Add(s1, c1, Broadcast4(ys + 4), ones);
    Dot::Add(s0, c2, Broadcast4(ys + 8), ones);
    Dot::Add(s1, c3, Broadcast4(ys + 12), ones);
    int8_step::AddInto(total, _mm256_mullo_epi32(_mm256_add_epi32(s0, s1), sc));
  }
}

// -32 x sum over sub-blocks s of sc_s x bsum_s for the 8 rows of super-block b, one token.
EMBER_Q6K_TILE_AVX2 inline __m256i Correction(const Panel& p, int64_t b, const int16_t* bsums) {
  __m256i c = _mm256_setzero_si256();
  for (int q = 0; q < 8; ++q) {
    c = _mm256_add_epi32(c, _mm256_madd_epi16(LoadA(p.scp + (b * 8 + q) * kRows), Broadcast4(bsums + 2 * q)));
  }
  return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(c, 5));
}

// 8 rows x tokens t[0..3] (repeats allowed, for a short last step): out[8 * i + row]. Dot is the
// integer step (int8_dot_step.h). Named accumulators: in arrays GCC kept them on the stack.
template <class Dot>
EMBER_Q6K_TILE_AVX2 __attribute__((noinline)) inline void Tile(const Panel& p, const GemmActs& a,
                                                               const int64_t* t, float* out) {
  const int64_t nb = a.nb;
  const int8_t* y0 = a.qs + t[0] * nb * 256;
  const int8_t* y1 = a.qs + t[1] * nb * 256;
  const int8_t* y2 = a.qs + t[2] * nb * 256;
  const int8_t* y3 = a.qs + t[3] * nb * 256;
  const int16_t* bs0 = a.bs + t[0] * nb * 16;
  const int16_t* bs1 = a.bs + t[1] * nb * 16;
  const int16_t* bs2 = a.bs + t[2] * nb * 16;
  const int16_t* bs3 = a.bs + t[3] * nb * 16;
  const float* d0 = a.d4 + t[0] * nb;
  const float* d1 = a.d4 + t[1] * nb;
  const float* d2 = a.d4 + t[2] * nb;
  const float* d3 = a.d4 + t[3] * nb;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i t0 = Correction(p, b, bs0 + b * 16);
    __m256i t1 = Correction(p, b, bs1 + b * 16);
    __m256i t2 = Correction(p, b, bs2 + b * 16);
    __m256i t3 = Correction(p, b, bs3 + b * 16);
    const uint8_t* qb = p.q + b * 64 * 32;
    const int64_t o = b * 256;
    for (int s = 0; s < 16; ++s) {
      __m256i c0 = LoadA(qb + (4 * s + 0) * 32), c1 = LoadA(qb + (4 * s + 1) * 32);
      __m256i c2 = LoadA(qb + (4 * s + 2) * 32), c3 = LoadA(qb + (4 * s + 3) * 32);
      KeepInRegister(c0);
      KeepInRegister(c1);
      KeepInRegister(c2);
      KeepInRegister(c3);
      __m256i sc = _mm256_setzero_si256(), sc2 = sc;
      if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
        sc2 = LoadA(p.sc2 + (b * 16 + s) * kRows);
        KeepInRegister(sc2);
      } else {
        sc = LoadA(p.sc + (b * 16 + s) * kRows);
        KeepInRegister(sc);
      }
      AddSubBlock<Dot>(c0, c1, c2, c3, y0 + o + 16 * s, sc, sc2, t0);
      AddSubBlock<Dot>(c0, c1, c2, c3, y1 + o + 16 * s, sc, sc2, t1);
      AddSubBlock<Dot>(c0, c1, c2, c3, y2 + o + 16 * s, sc, sc2, t2);
      AddSubBlock<Dot>(c0, c1, c2, c3, y3 + o + 16 * s, sc, sc2, t3);
    }
    const __m256 dw = _mm256_load_ps(p.d + b * kRows);
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t0), _mm256_mul_ps(dw, _mm256_broadcast_ss(d0 + b)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t1), _mm256_mul_ps(dw, _mm256_broadcast_ss(d1 + b)), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t2), _mm256_mul_ps(dw, _mm256_broadcast_ss(d2 + b)), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t3), _mm256_mul_ps(dw, _mm256_broadcast_ss(d3 + b)), acc3);
  }
  _mm256_storeu_ps(out, acc0);
  _mm256_storeu_ps(out + 8, acc1);
  _mm256_storeu_ps(out + 16, acc2);
  _mm256_storeu_ps(out + 24, acc3);
}

}  // namespace ember::cpu::q6k_tile

#undef EMBER_Q6K_TILE_AVX2

#endif
