// The 8-row x 4-token tiles of Q6_K's and Q5_K's prompt kernels (gemm_avx2), used unless exact
// prompt kernels are asked for (gemm.h, ExactGemm) -- the K-quant counterparts of
// gemm_signed8_tile.h.
//
// Why second tiles. The exact 4-row tile (gemm_avx2's KTile) gives llama.cpp's row-dot bits: it
// keeps 8 int32 lanes per (row, token) and scales each 32-element chunk by madd with its
// sub-block scales, so every chunk costs maddubs + madd + add per token whatever the ISA
// (vpdpbusd would need a 32-bit multiply per chunk instead of the madd and save nothing). On
// Zen 4 that tile ran at 105 GFLOP/s against 250 for Q4_K's repacked one, and Q6_K took 19% of a
// TinyLlama Q4_K_M prompt (2026-11-29). Here a vector holds 4 consecutive codes of each of 8
// rows, so a sub-block (16 elements in Q6_K, 32 in Q5_K) is 4 or 8 vectors whose products sum
// into one int32 per row (vpdpbusd; or on AVX2 maddubs summed in int16 and madd with the scale
// pair (sc, sc)); with VNNI the scale is then one 32-bit multiply per sub-block and token for all
// 8 rows. Each super-block's exact integers are converted once and added with one fused
// multiply-add per term for all 8 rows:
//   Q6_K: sum over s of sc_s x (sum of (q + 32) a over s) - 32 x sum of sc_s x bsum_s, times
//         d_w x d_a (q + 32 the stored code 0..63; the second term from the activations'
//         16-element sums, the row dot's subtraction);
//   Q5_K: sum over s of sc_s x (sum of q a over s), times d_w x d_a, minus sum over s of
//         m_s x bsum_s (32-element sums), times dmin_w x d_a, the difference taken at the end
//         (the order of the repacked Q4_K tile's decode kernel, repack_q4k.cpp).
// The integers are exact either way, so AVX2 and VNNI give the same bits; the float work differs
// from the row dot's (one rounding per super-block instead of 8 lane sums), so results differ
// from it in the last bits (tests/cpu/test_gemm.cpp bounds that).
//
// Bounds (an activation is at most 128 in magnitude: Q8_K's range):
//   Q6_K: codes <= 63, so an AVX2 maddubs lane is at most 2 x 63 x 128 = 16128 and two of them
//   stay under 32767; a sub-block's sum is at most 16 x 63 x 128, times |sc| <= 128 and 16
//   sub-blocks 2^28.1; the correction at most 32 x 16 x 128 x 2048 = 2^27.
//   Q5_K: codes <= 31, a maddubs lane at most 2 x 31 x 128 = 7936 and four of them 31744; a
//   sub-block's sum at most 32 x 31 x 128, times sc <= 63 and 8 sub-blocks 2^26; the mins' term
//   8 x 63 x 4096 = 2^21.
// All within int32.
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

namespace ember::cpu::kquant8_tile {
constexpr int kRows = 8;  // weight rows per panel
constexpr int kToks = 4;  // tokens per inner step
}  // namespace ember::cpu::kquant8_tile

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define EMBER_K8_TILE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ember::cpu::kquant8_tile {

// A panel of 8 rows. For super-block b and step v (elements 4v..4v+3), a 32-byte vector holding
// those 4 codes of rows 0..7 in turn; per sub-block the 8 rows' scales as int32 (the VNNI
// multiply) and as the int16 pair (sc, sc) (AVX2's madd); per pair of sub-blocks an int16 pair
// for a madd with the activations' sums (Q6_K: (sc_2p, sc_2p+1) for the correction; Q5_K: the
// mins (m_2p, m_2p+1)); each row's d and (Q5_K) dmin.
struct Panel {
  uint8_t* q;    // [b][v][row][4]
  int32_t* sc;   // [b][s][row]
  int32_t* sc2;  // [b][s][row] (sc, sc)
  int32_t* pr;   // [b][p][row] the pair for the activation sums
  float* d;      // [b][row]
  float* dmin;   // [b][row]
};

inline uint64_t PanelBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return AlignUp(n * kRows * 256) + 2 * AlignUp(n * 16 * kRows * 4) + AlignUp(n * 8 * kRows * 4) +
         2 * AlignUp(n * kRows * 4);
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
  tp.pr = reinterpret_cast<int32_t*>(p);
  p += AlignUp(n * 8 * kRows * 4);
  tp.d = reinterpret_cast<float*>(p);
  p += AlignUp(n * kRows * 4);
  tp.dmin = reinterpret_cast<float*>(p);
  return tp;
}

inline int32_t Int16Pair(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
}

// Super-block b's codes: codes[r] the 256 codes of row r in element order (8 vectors of 32). An
// 8 x 8 transpose of 4-byte groups per 32-element chunk makes the steps' vectors.
EMBER_K8_TILE_AVX2 inline void StoreCodes(const Panel& p, int64_t b, const __m256i (*codes)[8]) {
  for (int c = 0; c < 8; ++c) {
    __m256i v[8];
    for (int r = 0; r < 8; ++r) v[r] = codes[r][c];
    Transpose8x8Epi32(v);
    for (int k = 0; k < 8; ++k) StoreA(p.q + ((b * 64) + 8 * c + k) * 32, v[k]);
  }
}

// Q6_K's scales of super-block b (scales[r]: row r's 16) and d.
inline void StoreQ6KScales(const Panel& p, int64_t b, const int8_t (*scales)[16], const float* d) {
  for (int s = 0; s < 16; ++s) {
    for (int r = 0; r < 8; ++r) {
      p.sc[(b * 16 + s) * kRows + r] = scales[r][s];
      p.sc2[(b * 16 + s) * kRows + r] = Int16Pair(scales[r][s], scales[r][s]);
    }
  }
  for (int q = 0; q < 8; ++q) {
    for (int r = 0; r < 8; ++r) p.pr[(b * 8 + q) * kRows + r] = Int16Pair(scales[r][2 * q], scales[r][2 * q + 1]);
  }
  for (int r = 0; r < 8; ++r) p.d[b * kRows + r] = d[r];
}

// Q5_K's scales and mins of super-block b (row r's 8 each, decoded), d and dmin.
inline void StoreQ5KScales(const Panel& p, int64_t b, const uint8_t (*scales)[8], const uint8_t (*mins)[8],
                           const float* d, const float* dmin) {
  for (int s = 0; s < 8; ++s) {
    for (int r = 0; r < 8; ++r) {
      p.sc[(b * 16 + s) * kRows + r] = scales[r][s];
      p.sc2[(b * 16 + s) * kRows + r] = Int16Pair(scales[r][s], scales[r][s]);
    }
  }
  for (int q = 0; q < 4; ++q) {
    for (int r = 0; r < 8; ++r) p.pr[(b * 8 + q) * kRows + r] = Int16Pair(mins[r][2 * q], mins[r][2 * q + 1]);
  }
  for (int r = 0; r < 8; ++r) {
    p.d[b * kRows + r] = d[r];
    p.dmin[b * kRows + r] = dmin[r];
  }
}

// IQ4_XS on the Q5_K panel (with VNNI only: see gemm_avx2's UnpackIQ4XS8Panel): its levels stored plus
// 128 (1..241, unsigned), so the level sum of sub-block s is (sum of stored code x a) - 128 x
// bsum_s, and the super-block's integers are sum over s of ls_s x (sum of stored code x a),
// times d_w x d_a, minus sum over s of 128 ls_s x bsum_s, times the same d_w x d_a: Q5_K's form
// with scales ls_s (signed, -32..31), mins 128 ls_s and dmin = d. Bounds with vpdpbusd: a
// sub-block's sum at most 32 x 241 x 128, times 32 and 8 sub-blocks 2^27.9; the mins' term
// 8 x 4096 x 4096 = 2^27. (AVX2's maddubs would saturate: 2 x 241 x 128 > 32767.)
inline void StoreIQ4XSScales(const Panel& p, int64_t b, const int16_t (*ls)[8], const float* d) {
  for (int s = 0; s < 8; ++s) {
    for (int r = 0; r < 8; ++r) {
      p.sc[(b * 16 + s) * kRows + r] = ls[r][s];
      p.sc2[(b * 16 + s) * kRows + r] = Int16Pair(ls[r][s], ls[r][s]);
    }
  }
  for (int q = 0; q < 4; ++q) {
    for (int r = 0; r < 8; ++r) p.pr[(b * 8 + q) * kRows + r] = Int16Pair(128 * ls[r][2 * q], 128 * ls[r][2 * q + 1]);
  }
  for (int r = 0; r < 8; ++r) p.d[b * kRows + r] = p.dmin[b * kRows + r] = d[r];
}

EMBER_K8_TILE_AVX2 inline __m256i Broadcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// kSteps code vectors c (one sub-block of 8 rows: 4 for Q6_K, 8 for Q5_K) against one token's
// activations at ys, added into the token's super-block total: AVX2, maddubs summed in int16 in
// runs of kRun (the bounds above) and scaled by madd with (sc, sc); VNNI, vpdpbusd in two chains
// (vpdpbusd adds into its own accumulator) and one 32-bit multiply by sc.
template <class Dot, int kSteps, int kRun>
EMBER_K8_TILE_AVX2 inline void AddSubBlock(const __m256i* c, const int8_t* ys, __m256i sc, __m256i sc2,
                                           __m256i& total) {
  if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
    for (int k0 = 0; k0 < kSteps; k0 += kRun) {
      __m256i h = _mm256_maddubs_epi16(c[k0], Broadcast4(ys + 4 * k0));
      for (int k = k0 + 1; k < k0 + kRun; ++k) h = _mm256_add_epi16(h, _mm256_maddubs_epi16(c[k], Broadcast4(ys + 4 * k)));
      int8_step::AddInto(total, _mm256_madd_epi16(h, sc2));
    }
  } else {
    const __m256i ones = _mm256_set1_epi16(1);  // unused by the VNNI steps
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int k = 0; k < kSteps; k += 2) {
      Dot::Add(s0, c[k], Broadcast4(ys + 4 * k), ones);
      Dot::Add(s1, c[k + 1], Broadcast4(ys + 4 * k + 4), ones);
    }
    int8_step::AddInto(total, _mm256_mullo_epi32(_mm256_add_epi32(s0, s1), sc));
  }
}

// The madd of the panel's pairs (kPairs of them) of super-block b with the token's activation
// sums taken in pairs (Q6_K: its 16-element sums; Q5_K: its 32-element sums): the 8 rows' int32.
template <int kPairs>
EMBER_K8_TILE_AVX2 inline __m256i PairSums(const Panel& p, int64_t b, const int16_t* sums) {
  __m256i c = _mm256_setzero_si256();
  for (int q = 0; q < kPairs; ++q) {
    c = _mm256_add_epi32(c, _mm256_madd_epi16(LoadA(p.pr + (b * 8 + q) * kRows), Broadcast4(sums + 2 * q)));
  }
  return c;
}

// 8 rows x tokens t[0..3] (repeats allowed, for a short last step) of a Q6_K (kQ5K false) or Q5_K
// panel: out[8 * i + row]. Dot is the integer step (int8_dot_step.h). Named accumulators: in
// arrays GCC kept them on the stack.
template <class Dot, bool kQ5K>
EMBER_K8_TILE_AVX2 __attribute__((noinline)) inline void Tile(const Panel& p, const GemmActs& a, const int64_t* t,
                                                              float* out) {
  constexpr bool kMadd = std::is_same_v<Dot, int8_step::MaddDot>;
  constexpr int kSubBlocks = kQ5K ? 8 : 16;
  constexpr int kSteps = 256 / 4 / kSubBlocks;  // code vectors per sub-block
  constexpr int kRun = kQ5K ? 4 : 2;            // maddubs summed in int16 (AVX2)
  const int64_t nb = a.nb;
  const int8_t* y0 = a.qs + t[0] * nb * 256;
  const int8_t* y1 = a.qs + t[1] * nb * 256;
  const int8_t* y2 = a.qs + t[2] * nb * 256;
  const int8_t* y3 = a.qs + t[3] * nb * 256;
  // Q6_K's correction takes the 16-element sums, Q5_K's mins the 32-element ones.
  const int16_t* sums = kQ5K ? a.bsp : a.bs;
  constexpr int kSumsPerBlock = kQ5K ? 8 : 16;
  const int16_t* bs0 = sums + t[0] * nb * kSumsPerBlock;
  const int16_t* bs1 = sums + t[1] * nb * kSumsPerBlock;
  const int16_t* bs2 = sums + t[2] * nb * kSumsPerBlock;
  const int16_t* bs3 = sums + t[3] * nb * kSumsPerBlock;
  const float* d0 = a.d4 + t[0] * nb;
  const float* d1 = a.d4 + t[1] * nb;
  const float* d2 = a.d4 + t[2] * nb;
  const float* d3 = a.d4 + t[3] * nb;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  __m256 mac0 = _mm256_setzero_ps(), mac1 = mac0, mac2 = mac0, mac3 = mac0;  // Q5_K's mins' term
  for (int64_t b = 0; b < nb; ++b) {
    __m256i t0, t1, t2, t3;
    if constexpr (kQ5K) {
      t0 = t1 = t2 = t3 = _mm256_setzero_si256();
    } else {
      // -32 x sum over sub-blocks of sc_s x bsum_s.
      t0 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(PairSums<8>(p, b, bs0 + b * 16), 5));
      t1 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(PairSums<8>(p, b, bs1 + b * 16), 5));
      t2 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(PairSums<8>(p, b, bs2 + b * 16), 5));
      t3 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(PairSums<8>(p, b, bs3 + b * 16), 5));
    }
    const uint8_t* qb = p.q + b * 64 * 32;
    const int64_t o = b * 256;
    for (int s = 0; s < kSubBlocks; ++s) {
      __m256i c[kSteps];
      for (int k = 0; k < kSteps; ++k) {
        c[k] = LoadA(qb + (kSteps * s + k) * 32);
        KeepInRegister(c[k]);
      }
      __m256i sc = _mm256_setzero_si256(), sc2 = sc;
      if constexpr (kMadd) {
        sc2 = LoadA(p.sc2 + (b * 16 + s) * kRows);
        KeepInRegister(sc2);
      } else {
        sc = LoadA(p.sc + (b * 16 + s) * kRows);
        KeepInRegister(sc);
      }
      const int64_t os = o + 4 * kSteps * s;
      AddSubBlock<Dot, kSteps, kRun>(c, y0 + os, sc, sc2, t0);
      AddSubBlock<Dot, kSteps, kRun>(c, y1 + os, sc, sc2, t1);
      AddSubBlock<Dot, kSteps, kRun>(c, y2 + os, sc, sc2, t2);
      AddSubBlock<Dot, kSteps, kRun>(c, y3 + os, sc, sc2, t3);
    }
    const __m256 dw = _mm256_load_ps(p.d + b * kRows);
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t0), _mm256_mul_ps(dw, _mm256_broadcast_ss(d0 + b)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t1), _mm256_mul_ps(dw, _mm256_broadcast_ss(d1 + b)), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t2), _mm256_mul_ps(dw, _mm256_broadcast_ss(d2 + b)), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t3), _mm256_mul_ps(dw, _mm256_broadcast_ss(d3 + b)), acc3);
    if constexpr (kQ5K) {
      const __m256 dm = _mm256_load_ps(p.dmin + b * kRows);
      mac0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PairSums<4>(p, b, bs0 + b * 8)), _mm256_mul_ps(dm, _mm256_broadcast_ss(d0 + b)), mac0);
      mac1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PairSums<4>(p, b, bs1 + b * 8)), _mm256_mul_ps(dm, _mm256_broadcast_ss(d1 + b)), mac1);
      mac2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PairSums<4>(p, b, bs2 + b * 8)), _mm256_mul_ps(dm, _mm256_broadcast_ss(d2 + b)), mac2);
      mac3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PairSums<4>(p, b, bs3 + b * 8)), _mm256_mul_ps(dm, _mm256_broadcast_ss(d3 + b)), mac3);
    }
  }
  if constexpr (kQ5K) {
    acc0 = _mm256_sub_ps(acc0, mac0);
    acc1 = _mm256_sub_ps(acc1, mac1);
    acc2 = _mm256_sub_ps(acc2, mac2);
    acc3 = _mm256_sub_ps(acc3, mac3);
  }
  _mm256_storeu_ps(out, acc0);
  _mm256_storeu_ps(out + 8, acc1);
  _mm256_storeu_ps(out + 16, acc2);
  _mm256_storeu_ps(out + 24, acc3);
}

#if defined(__AVX512F__)
#define EMBER_K16_TILE 1
// GCC 12 reports "'__Y' may be used uninitialized" inside its own 512-bit intrinsics (their
// undefined pass-through operands) once they are inlined: a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// The same 32 bytes of two panels (rows 0-7, then rows 8-15) in one 512-bit vector.
EMBER_K8_TILE_AVX2 inline __m512i Load16Rows(const void* p0, const void* p1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256(static_cast<const __m256i*>(p0))),
                            _mm256_load_si256(static_cast<const __m256i*>(p1)), 1);
}

EMBER_K8_TILE_AVX2 inline __m512i Broadcast4x16(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// AddSubBlock's VNNI branch for 16 rows.
template <int kSteps>
EMBER_K8_TILE_AVX2 inline void AddSubBlock16(const __m512i* c, const int8_t* ys, __m512i sc, __m512i& total) {
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  for (int k = 0; k < kSteps; k += 2) {
    int8_step::Dpbusd512(s0, c[k], Broadcast4x16(ys + 4 * k));
    int8_step::Dpbusd512(s1, c[k + 1], Broadcast4x16(ys + 4 * k + 4));
  }
  total = _mm512_add_epi32(total, _mm512_mullo_epi32(_mm512_add_epi32(s0, s1), sc));
}

template <int kPairs>
EMBER_K8_TILE_AVX2 inline __m512i PairSums16(const Panel& p0, const Panel& p1, int64_t b, const int16_t* sums) {
  __m512i c = _mm512_setzero_si512();
  for (int q = 0; q < kPairs; ++q) {
    const int64_t at = (b * 8 + q) * kRows;
    c = _mm512_add_epi32(c, _mm512_madd_epi16(Load16Rows(p0.pr + at, p1.pr + at), Broadcast4x16(sums + 2 * q)));
  }
  return c;
}

// Tile<VnniDot, kQ5K> for 16 rows, two panels side by side (p0's rows in lanes 0-7, p1's in
// 8-15): out[16 * i + row]. Every lane takes the 8-row tile's operations in the same order, so
// the same bits. Why: on Zen 4 a 512-bit operation costs the execution pipes what two 256-bit
// ones do but takes one slot of the front end, where the 8-row tile sat near the 6-wide limit.
// One core, 1024 x 4096 x 64 tokens (2026-11-29): Q6_K 195-205 -> 236 GFLOP/s, Q5_K 219 -> 278.
template <bool kQ5K>
EMBER_K8_TILE_AVX2 __attribute__((noinline)) inline void Tile16(const Panel& p0, const Panel& p1, const GemmActs& a,
                                                                const int64_t* t, float* out) {
  constexpr int kSubBlocks = kQ5K ? 8 : 16;
  constexpr int kSteps = 256 / 4 / kSubBlocks;
  const int64_t nb = a.nb;
  const int16_t* sums = kQ5K ? a.bsp : a.bs;
  constexpr int kSumsPerBlock = kQ5K ? 8 : 16;
  const int8_t* y[kToks];
  const int16_t* bs[kToks];
  const float* da[kToks];
  for (int i = 0; i < kToks; ++i) {
    y[i] = a.qs + t[i] * nb * 256;
    bs[i] = sums + t[i] * nb * kSumsPerBlock;
    da[i] = a.d4 + t[i] * nb;
  }
  __m512 acc[kToks], mac[kToks];
  for (int i = 0; i < kToks; ++i) acc[i] = mac[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i total[kToks];
    for (int i = 0; i < kToks; ++i) {
      total[i] = kQ5K ? _mm512_setzero_si512()
                      : _mm512_sub_epi32(_mm512_setzero_si512(),
                                         _mm512_slli_epi32(PairSums16<8>(p0, p1, b, bs[i] + b * 16), 5));
    }
    const int64_t o = b * 256;
    for (int s = 0; s < kSubBlocks; ++s) {
      __m512i c[kSteps];
      for (int k = 0; k < kSteps; ++k) {
        const int64_t at = (b * 64 + kSteps * s + k) * 32;
        c[k] = Load16Rows(p0.q + at, p1.q + at);
      }
      const int64_t at = (b * 16 + s) * kRows;
      const __m512i sc = Load16Rows(p0.sc + at, p1.sc + at);
      const int64_t os = o + 4 * kSteps * s;
      for (int i = 0; i < kToks; ++i) AddSubBlock16<kSteps>(c, y[i] + os, sc, total[i]);
    }
    const __m512 dw = _mm512_castsi512_ps(Load16Rows(p0.d + b * kRows, p1.d + b * kRows));
    for (int i = 0; i < kToks; ++i) {
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total[i]), _mm512_mul_ps(dw, _mm512_set1_ps(da[i][b])), acc[i]);
    }
    if constexpr (kQ5K) {
      const __m512 dm = _mm512_castsi512_ps(Load16Rows(p0.dmin + b * kRows, p1.dmin + b * kRows));
      for (int i = 0; i < kToks; ++i) {
        mac[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(PairSums16<4>(p0, p1, b, bs[i] + b * 8)),
                                 _mm512_mul_ps(dm, _mm512_set1_ps(da[i][b])), mac[i]);
      }
    }
  }
  for (int i = 0; i < kToks; ++i) _mm512_storeu_ps(out + 16 * i, kQ5K ? _mm512_sub_ps(acc[i], mac[i]) : acc[i]);
}
#pragma GCC diagnostic pop
#endif  // __AVX512F__

}  // namespace ember::cpu::kquant8_tile

#undef EMBER_K8_TILE_AVX2

#endif
