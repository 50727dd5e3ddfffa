// Q4_K in groups of 8 interleaved rows (repack.h), AVX2.
//
// Layout: for group g (rows 8g..8g+7) and super-block b, 1184 bytes at ((g * nb) + b) * 1184
// (the 8 original blocks are 1152 bytes; the 32 more hold the 6-bit scales and mins decoded):
//   [0, 16)      the 8 rows' F16 d
//   [16, 32)     the 8 rows' F16 dmin
//   [32, 96)     scales, one byte each: byte 8 s + r = scale of sub-block s of row r
//   [96, 160)    mins, one byte each: byte 16 p + 2 r + k = min of sub-block 2p+k of row r
//   [160, 1184)  codes: for sub-block pair p and v = 0..7, 32 bytes at 160 + 32 (8p + v) whose
//                32-bit lane r holds bytes qs[32p + 4v .. 32p + 4v + 3] of row r.
// The low nibbles of vector (p, v) are elements 64p + 4v .. +3 of each row (sub-block 2p), the
// high nibbles elements 64p + 32 + 4v .. +3 (sub-block 2p+1): one AND (and one shift) gives 8
// rows' codes with row r in lane r, multiplied against 4 activation bytes broadcast to every lane.
// The scales of a sub-block widen (one unpack, one zero-extension) to the int16 pair (sc, sc) of
// lane r, so one madd gives sc x (integer sum of the sub-block) in int32 for all 8 rows; the mins
// widen to (min[2p], min[2p+1]) pairs that one madd multiplies with the activation's sums of the
// two sub-blocks.
//
// Float steps (llama.cpp's q4_K_8x8_q8_K on AVX2), per row and token, with D = d_w x d_a and
// M = dmin_w x d_a for each super-block:
//   decode and the last n_tok % 4 tokens of a batch (its gemv): one fused multiply-add per
//     super-block, acc += float(sum over the 8 sub-blocks of sc x isum) x D, and likewise
//     acc_min += float(sum of min x bsum) x M;
//   the first n_tok - n_tok % 4 tokens of a batch (its gemm, tiles of 4 tokens): the same, but
//     one pair of multiply-adds per sub-block PAIR (4 per super-block), in pair order;
//   the result is acc - acc_min.
// The integers are exact either way (each int16 lane of 8 maddubs sums <= 8 x 2 x 15 x 128).
//
// With AVX-512 VNNI (int8_dot_step.h) the prompt tiles form each row's sub-block sum in an int32
// lane with one vpdpbusd per code vector and token (instead of maddubs + add into int16), and
// multiply it by the sub-block scale with one 32-bit multiply per sub-block and token (instead of
// madd): the same exact integers, so the same bits. Decode (GroupsOneToken) takes the same step
// since 2026-11-29: on Zen 4 it is bound by these operations more than by memory.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "core/half.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm.h"
#include "cpu/gemm_amx_tile.h"
#include "cpu/int8_dot_step.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_REPACK_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu {
namespace {

constexpr uint64_t kGroupBlockBytes = 1184;
constexpr uint64_t kScalesAt = 32, kMinsAt = 96, kCodesAt = 160;
static_assert(kCodesAt + 8 * kQK_K / 2 == kGroupBlockBytes);

// The scalar definition of both float orders (see the header comment).
float Reference(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row, bool per_pair) {
  const int64_t nb = n_in / kQK_K;
  const auto* w = reinterpret_cast<const BlockQ4K*>(w_row);
  const auto* a = reinterpret_cast<const BlockQ8K*>(act_row);
  float acc = 0.0f, acc_min = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t sc[8], mn[8];
    UnpackScalesMinsK4(w[b].scales, sc, mn);
    const float scale = HalfToFloat(w[b].d) * a[b].d;
    const float min_scale = HalfToFloat(w[b].dmin) * a[b].d;
    int32_t isum = 0, imin = 0;
    for (int p = 0; p < 4; ++p) {
      int32_t ip = 0, mp = 0;
      for (int k = 0; k < 2; ++k) {
        const int s = 2 * p + k;
        int32_t sub = 0;
        for (int i = 0; i < 32; ++i) {
          const uint8_t q = w[b].qs[32 * p + i];
          sub += (k == 0 ? q & 0x0F : q >> 4) * a[b].qs[32 * s + i];
        }
        ip += sc[s] * sub;
        mp += mn[s] * (a[b].bsums[2 * s] + a[b].bsums[2 * s + 1]);
      }
      if (per_pair) {
        acc = std::fma(static_cast<float>(ip), scale, acc);
        acc_min = std::fma(static_cast<float>(mp), min_scale, acc_min);
      } else {
        isum += ip;
        imin += mp;
      }
    }
    if (!per_pair) {
      acc = std::fma(static_cast<float>(isum), scale, acc);
      acc_min = std::fma(static_cast<float>(imin), min_scale, acc_min);
    }
  }
  return acc - acc_min;
}

#if defined(EMBER_REPACK_AVX2)

EMBER_AVX2 inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// s += the products of 32 codes (unsigned) with 32 activation bytes, 4 per lane: AVX2 into
// int16 lanes (maddubs + add), VNNI into int32 lanes (one vpdpbusd).
template <class Dot>
EMBER_AVX2 inline void AddCodeProducts(__m256i& s, __m256i codes, __m256i act) {
  if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(codes, act));
  } else {
    Dot::Add(s, codes, act, _mm256_set1_epi16(1));  // the VNNI steps ignore the last operand
  }
}

// One sub-block's sums for kG groups (their 8 code vectors each, the low nibbles or the high
// ones) against each of kT tokens: s[g][t], int16 pair sums (AVX2's maddubs + add) or int32
// (vpdpbusd). Each token's 8 broadcasts serve all kG groups. vpdpbusd adds into its own
// accumulator, so with one group and one chain per token the tile waited on its latency (Zen 4,
// 2026-11-29: 125 GFLOP/s against the AVX2 tile's 190, whose maddubs are independent and whose
// 16-bit adds take one cycle): one group takes two chains per token (even and odd code vectors,
// summed at the end); two groups already give 2 kT chains. The sums are exact integers, so the
// order changes no bit.
template <int kT, int kG, bool kHigh, class Dot>
EMBER_AVX2 inline void SubBlockSums(const uint8_t* const* codes, const BlockQ8K* const* a, int p,
                                    __m256i (*s)[kT]) {
  constexpr bool kTwoChains = kG == 1 && !std::is_same_v<Dot, int8_step::MaddDot>;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256i s_odd[kT];
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) {
    s_odd[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int g = 0; g < kG; ++g) s[g][t] = _mm256_setzero_si256();
  }
#pragma GCC unroll 2
  for (int v = 0; v < 8; ++v) {
    __m256i c[kG];
#pragma GCC unroll 4
    for (int g = 0; g < kG; ++g) {
      c[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes[g] + 32 * v));
      if constexpr (kHigh) c[g] = _mm256_srli_epi16(c[g], 4);
      c[g] = _mm256_and_si256(c[g], m4);
    }
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      const __m256i av = Broadcast4(a[t]->qs + 64 * p + (kHigh ? 32 : 0) + 4 * v);
      if constexpr (kTwoChains) {
        AddCodeProducts<Dot>(v % 2 == 0 ? s[0][t] : s_odd[t], c[0], av);
      } else {
#pragma GCC unroll 4
        for (int g = 0; g < kG; ++g) AddCodeProducts<Dot>(s[g][t], c[g], av);
      }
    }
  }
  if constexpr (kTwoChains) {
    for (int t = 0; t < kT; ++t) s[0][t] = _mm256_add_epi32(s[0][t], s_odd[t]);
  }
}

// Groups g..g+kG-1 (the first at `gp`, the others group_bytes apart) against kT tokens: y[t][8 g'
// + r] for row r of the g'-th group. kPerPair selects the batch (gemm) float order, else the
// decode (gemv) order. Each group's float steps are its own, in the same order whatever kG.
//
// Registers: the float state (accumulators, scale products) and each pair's low-nibble partial
// sums live in small aligned buffers, touched once per sub-block pair, so that the inner loops
// keep only the kT x kG sums, the codes and one broadcast in registers (kept in arrays of
// vectors, GCC spilled the int16 sums inside the inner loops instead). The inner loops are
// unrolled twice: once, 70; twice, 80; four times, 75; fully, 65 GMAC/s (one core, 5632 x 2048
// against 128 tokens, one group, AVX2). Not inlined: inlined into GroupsAvx2, the 16-register
// AVX2 build's tile ran at 176-188 against 198-201 GFLOP/s (Zen 4, 1024 x 4096 x 64).
template <int kT, int kG, bool kPerPair, class Dot>
__attribute__((noinline)) EMBER_AVX2 void Tile(const uint8_t* gp, uint64_t group_bytes, int64_t nb, const uint8_t* const* act,
                     float* const* y) {
  // AVX2: int16 sums (maddubs + add), scaled by madd with (sc, sc) pairs. VNNI: int32 sums
  // (vpdpbusd), scaled by a 32-bit multiply with sc zero-extended per row.
  constexpr bool kInt32Sums = !std::is_same_v<Dot, int8_step::MaddDot>;
  alignas(32) float acc[kG][kT][8] = {}, acc_min[kG][kT][8] = {}, scale[kG][kT][8], min_scale[kG][kT][8];
  alignas(32) int32_t lo_part[kG][kT][8], isum[kG][kT][8], imin[kG][kT][8];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk[kG];
    for (int g = 0; g < kG; ++g) blk[g] = gp + g * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
    const BlockQ8K* a[kT];
    alignas(16) int32_t bsum_pairs[kT][4];  // int16 (sum of sub-block 2p, of 2p+1) in pair p
    for (int t = 0; t < kT; ++t) {
      a[t] = reinterpret_cast<const BlockQ8K*>(act[t]) + b;
      const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[t]->bsums));
      const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[t]->bsums + 8));
      _mm_store_si128(reinterpret_cast<__m128i*>(bsum_pairs[t]), _mm_hadd_epi16(lo, hi));
    }
    for (int g = 0; g < kG; ++g) {
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[g])));
      const __m256 dminw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[g] + 16)));
      for (int t = 0; t < kT; ++t) {
        const __m256 da = _mm256_set1_ps(a[t]->d);
        _mm256_store_ps(scale[g][t], _mm256_mul_ps(dw, da));
        _mm256_store_ps(min_scale[g][t], _mm256_mul_ps(dminw, da));
        if constexpr (!kPerPair) {
          _mm256_store_si256(reinterpret_cast<__m256i*>(isum[g][t]), _mm256_setzero_si256());
          _mm256_store_si256(reinterpret_cast<__m256i*>(imin[g][t]), _mm256_setzero_si256());
        }
      }
    }
    for (int p = 0; p < 4; ++p) {
      const uint8_t* codes[kG];
      for (int g = 0; g < kG; ++g) codes[g] = blk[g] + kCodesAt + 256 * p;
      // The low nibbles (sub-block 2p), then the high ones (2p+1): one accumulator per token and
      // group live instead of two (~10% faster for one token, measured). lo_part: sc x sum of 2p.
      __m256i s[kG][kT];
      SubBlockSums<kT, kG, /*kHigh=*/false, Dot>(codes, a, p, s);
      for (int g = 0; g < kG; ++g) {
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[g] + kScalesAt + 16 * p));
        const __m256i sc_lo = kInt32Sums ? _mm256_cvtepu8_epi32(sc8) : _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(sc8, sc8));
        for (int t = 0; t < kT; ++t) {
          const __m256i part = kInt32Sums ? _mm256_mullo_epi32(s[g][t], sc_lo) : _mm256_madd_epi16(s[g][t], sc_lo);
          _mm256_store_si256(reinterpret_cast<__m256i*>(lo_part[g][t]), part);
        }
      }
      SubBlockSums<kT, kG, /*kHigh=*/true, Dot>(codes, a, p, s);
      for (int g = 0; g < kG; ++g) {
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[g] + kScalesAt + 16 * p));
        const __m256i sc_hi = kInt32Sums ? _mm256_cvtepu8_epi32(_mm_srli_si128(sc8, 8))
                                         : _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sc8, sc8));
        const __m256i mins = _mm256_cvtepu8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[g] + kMinsAt + 16 * p)));
        for (int t = 0; t < kT; ++t) {
          const __m256i hi_part = kInt32Sums ? _mm256_mullo_epi32(s[g][t], sc_hi) : _mm256_madd_epi16(s[g][t], sc_hi);
          const __m256i ip = _mm256_add_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(lo_part[g][t])), hi_part);
          const __m256i mp = _mm256_madd_epi16(mins, _mm256_set1_epi32(bsum_pairs[t][p]));
          if constexpr (kPerPair) {
            _mm256_store_ps(acc[g][t], _mm256_fmadd_ps(_mm256_cvtepi32_ps(ip), _mm256_load_ps(scale[g][t]),
                                                       _mm256_load_ps(acc[g][t])));
            _mm256_store_ps(acc_min[g][t], _mm256_fmadd_ps(_mm256_cvtepi32_ps(mp), _mm256_load_ps(min_scale[g][t]),
                                                           _mm256_load_ps(acc_min[g][t])));
          } else {
            auto* is = reinterpret_cast<__m256i*>(isum[g][t]);
            auto* im = reinterpret_cast<__m256i*>(imin[g][t]);
            _mm256_store_si256(is, _mm256_add_epi32(_mm256_load_si256(is), ip));
            _mm256_store_si256(im, _mm256_add_epi32(_mm256_load_si256(im), mp));
          }
        }
      }
    }
    if constexpr (!kPerPair) {
      for (int g = 0; g < kG; ++g) {
        for (int t = 0; t < kT; ++t) {
          const __m256 fi = _mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(isum[g][t])));
          const __m256 fm = _mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(imin[g][t])));
          _mm256_store_ps(acc[g][t], _mm256_fmadd_ps(fi, _mm256_load_ps(scale[g][t]), _mm256_load_ps(acc[g][t])));
          _mm256_store_ps(acc_min[g][t], _mm256_fmadd_ps(fm, _mm256_load_ps(min_scale[g][t]), _mm256_load_ps(acc_min[g][t])));
        }
      }
    }
  }
  for (int g = 0; g < kG; ++g) {
    for (int t = 0; t < kT; ++t) {
      _mm256_storeu_ps(y[t] + 8 * g, _mm256_sub_ps(_mm256_load_ps(acc[g][t]), _mm256_load_ps(acc_min[g][t])));
    }
  }
}

#if defined(__AVX512F__)
#define EMBER_ZMM_TILE 1
// GCC 12 reports "'__Y' may be used uninitialized" inside its own 512-bit intrinsics (their
// undefined pass-through operands) once they are inlined here: a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The 16 bytes at p (group 0) beside the 16 bytes at p + group_bytes (group 1).
EMBER_AVX2 inline __m256i TwoGroups16(const uint8_t* p, uint64_t group_bytes) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + group_bytes)), 1);
}

// Tile<kT, 2, true, VnniDot> on 512-bit vectors: the two groups' 16 rows in one register (group 0
// in lanes 0-7, group 1 in 8-15), so each vpdpbusd, 32-bit multiply and float step serves both.
// Every lane takes the same operations in the same order as in the 256-bit tile: the same bits.
// Why: on Zen 4 a 512-bit operation costs the execution pipes what two 256-bit ones do, but the
// front end one slot; the 256-bit tile issued ~5.6 operations per cycle, near the 6-wide limit.
// One core, 1024 x 4096 x 64 tokens (2026-11-29): 288 -> 300 GFLOP/s. What bounds it: vpdpbusd,
// the 32-bit multiplies, vpmaddwd and the fused multiply-adds share two pipes (measured: other
// vector operations, loads and broadcasts ran beside vpdpbusd at no cost), and llama.cpp's float
// order takes 2 multiplies, 1 madd and 2 multiply-adds per sub-block pair and token against 16
// vpdpbusd: at most 16/21 of vpdpbusd's peak (464 GFLOP/s here), ~353.
template <int kT>
__attribute__((noinline)) EMBER_AVX2 void TileZmm(const uint8_t* gp, uint64_t group_bytes, int64_t nb,
                                                 const uint8_t* const* act, float* const* y) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  __m512 acc[kT], acc_min[kT];
  for (int t = 0; t < kT; ++t) acc[t] = acc_min[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = gp + static_cast<uint64_t>(b) * kGroupBlockBytes;
    const BlockQ8K* a[kT];
    alignas(16) int32_t bsum_pairs[kT][4];
    __m512 scale[kT], min_scale[kT];
    const __m512 dw = _mm512_cvtph_ps(TwoGroups16(blk, group_bytes));
    const __m512 dminw = _mm512_cvtph_ps(TwoGroups16(blk + 16, group_bytes));
    for (int t = 0; t < kT; ++t) {
      a[t] = reinterpret_cast<const BlockQ8K*>(act[t]) + b;
      const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[t]->bsums));
      const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[t]->bsums + 8));
      _mm_store_si128(reinterpret_cast<__m128i*>(bsum_pairs[t]), _mm_hadd_epi16(lo, hi));
      const __m512 da = _mm512_set1_ps(a[t]->d);
      scale[t] = _mm512_mul_ps(dw, da);
      min_scale[t] = _mm512_mul_ps(dminw, da);
    }
    for (int p = 0; p < 4; ++p) {
      const uint8_t* codes = blk + kCodesAt + 256 * p;
      // Scales of the pair: bytes 0-7 sub-block 2p, 8-15 sub-block 2p+1, per group.
      const __m256i sc = TwoGroups16(blk + kScalesAt + 16 * p, group_bytes);
      const __m512i sc_lo = _mm512_cvtepu8_epi32(_mm256_castsi256_si128(_mm256_permute4x64_epi64(sc, 0x08)));
      const __m512i sc_hi = _mm512_cvtepu8_epi32(_mm256_castsi256_si128(_mm256_permute4x64_epi64(sc, 0x0D)));
      const __m512i mins = _mm512_cvtepu8_epi16(TwoGroups16(blk + kMinsAt + 16 * p, group_bytes));
      __m512i lo_part[kT];
      for (int half = 0; half < 2; ++half) {
        __m512i s[kT];
        for (int t = 0; t < kT; ++t) s[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) {
          __m512i c = _mm512_inserti64x4(
              _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * v))),
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + group_bytes + 32 * v)), 1);
          if (half == 1) c = _mm512_srli_epi16(c, 4);
          c = _mm512_and_si512(c, m4);
#pragma GCC unroll 8
          for (int t = 0; t < kT; ++t) {
            int32_t four;
            std::memcpy(&four, a[t]->qs + 64 * p + 32 * half + 4 * v, 4);
            int8_step::Dpbusd512(s[t], c, _mm512_set1_epi32(four));
          }
        }
        for (int t = 0; t < kT; ++t) {
          if (half == 0) {
            lo_part[t] = _mm512_mullo_epi32(s[t], sc_lo);
          } else {
            const __m512i ip = _mm512_add_epi32(lo_part[t], _mm512_mullo_epi32(s[t], sc_hi));
            const __m512i mp = _mm512_madd_epi16(mins, _mm512_set1_epi32(bsum_pairs[t][p]));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ip), scale[t], acc[t]);
            acc_min[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mp), min_scale[t], acc_min[t]);
          }
        }
      }
    }
  }
  for (int t = 0; t < kT; ++t) _mm512_storeu_ps(y[t], _mm512_sub_ps(acc[t], acc_min[t]));
}
#pragma GCC diagnostic pop
#endif

// (Which groups a call takes together: repack.h, DecodeWalk -- 4 spread apart on AVX-512 CPUs:
// step_bytes apart in the packed matrix, their outputs y_step floats apart.)
// Decode: kG groups side by side against one token (the activation broadcasts shared, kG weight
// streams in flight per core, as repack_q4_0.cpp); each group's float steps are Tile<1, false>'s,
// so the same bits. TinyLlama Q4_K_M tg128 -t 2, idle machine: 4 groups ~36 t/s against ~33
// with one group at a time, 2 groups ~33.6 (Zen 3). On Zen 4 (tg64, alternating runs) 8 groups
// 45.8 against 41.5 t/s for 4 at -t 2, 27.4 against 24.3 at -t 1; 2 groups 35.1. With VNNI (Dot
// not MaddDot) a sub-block's sums are int32 from vpdpbusd and its scale is a 32-bit multiply, as
// in Tile: the same integers.
template <int kG, class Dot>
EMBER_AVX2 void GroupsOneToken(const uint8_t* gp, uint64_t step_bytes, int64_t nb, const uint8_t* act,
                               float* y, int64_t y_step) {
  constexpr bool kInt32Sums = !std::is_same_v<Dot, int8_step::MaddDot>;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 acc[kG], acc_min[kG];
  for (int g = 0; g < kG; ++g) acc[g] = acc_min[g] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const auto* a = reinterpret_cast<const BlockQ8K*>(act) + b;
    const __m256 da = _mm256_set1_ps(a->d);
    alignas(16) int32_t bsum_pairs[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(bsum_pairs),
                    _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a->bsums)),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(a->bsums + 8))));
    __m256i isum[kG], imin[kG];
    for (int g = 0; g < kG; ++g) isum[g] = imin[g] = _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) {
      __m256i lo_part[kG], s[kG];
      for (int g = 0; g < kG; ++g) s[g] = _mm256_setzero_si256();
      for (int v = 0; v < 8; ++v) {
        const __m256i av = Broadcast4(a->qs + 64 * p + 4 * v);
        for (int g = 0; g < kG; ++g) {
          const uint8_t* codes = gp + g * step_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes + kCodesAt + 256 * p;
          const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * v));
          AddCodeProducts<Dot>(s[g], _mm256_and_si256(raw, m4), av);
        }
      }
      for (int g = 0; g < kG; ++g) {
        const uint8_t* blk = gp + g * step_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * p));
        lo_part[g] = kInt32Sums ? _mm256_mullo_epi32(s[g], _mm256_cvtepu8_epi32(sc8))
                                : _mm256_madd_epi16(s[g], _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(sc8, sc8)));
        s[g] = _mm256_setzero_si256();
      }
      for (int v = 0; v < 8; ++v) {
        const __m256i av = Broadcast4(a->qs + 64 * p + 32 + 4 * v);
        for (int g = 0; g < kG; ++g) {
          const uint8_t* codes = gp + g * step_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes + kCodesAt + 256 * p;
          const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * v));
          AddCodeProducts<Dot>(s[g], _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), av);
        }
      }
      for (int g = 0; g < kG; ++g) {
        const uint8_t* blk = gp + g * step_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * p));
        const __m256i mins = _mm256_cvtepu8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kMinsAt + 16 * p)));
        const __m256i hi_part = kInt32Sums ? _mm256_mullo_epi32(s[g], _mm256_cvtepu8_epi32(_mm_srli_si128(sc8, 8)))
                                           : _mm256_madd_epi16(s[g], _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sc8, sc8)));
        const __m256i ip = _mm256_add_epi32(lo_part[g], hi_part);
        isum[g] = _mm256_add_epi32(isum[g], ip);
        imin[g] = _mm256_add_epi32(imin[g], _mm256_madd_epi16(mins, _mm256_set1_epi32(bsum_pairs[p])));
      }
    }
    for (int g = 0; g < kG; ++g) {
      const uint8_t* blk = gp + g * step_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
      const __m256 dminw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16)));
      acc[g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[g]), _mm256_mul_ps(dw, da), acc[g]);
      acc_min[g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(imin[g]), _mm256_mul_ps(dminw, da), acc_min[g]);
    }
  }
  for (int g = 0; g < kG; ++g) _mm256_storeu_ps(y + y_step * g, _mm256_sub_ps(acc[g], acc_min[g]));
}

template <class Dot>
EMBER_AVX2 void GroupsAvx2(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1,
                           const uint8_t* act, uint64_t act_row_bytes, int64_t n_tok, float* y,
                           int64_t ldy, DecodeWalk decode_walk) {
  const int64_t nb = n_in / kQK_K;
  const uint64_t group_bytes = static_cast<uint64_t>(nb) * kGroupBlockBytes;
  // Prompt tiles take this many groups side by side, their activation broadcasts shared (one
  // core, 1024 x 4096 x 64 tokens, Zen 4, 2026-11-29: VNNI 253 -> 288 GFLOP/s and AVX2 212 -> 232
  // with 2 groups against 1; 4 groups, VNNI, 236) -- where the file has AVX-512's 32 registers.
  // With 16 (AVX2 builds) the AVX2 tile of 2 groups ran at 168 against 200 for 1 (the same
  // Zen 4, kernel files built without AVX-512).
#if defined(__AVX512F__)
  constexpr int kPromptGroups = 2;
#else
  constexpr int kPromptGroups = 1;
#endif
  // llama.cpp's split: whole tiles of 4 from the first token take the batch order, the rest the
  // decode order. Token chunks (a multiple of 4, so the tiles stay aligned) keep ~192 KiB of
  // activations in L2 while every group passes over them.
  const int64_t n_tiled = n_tok - n_tok % 4;
  const int64_t chunk = std::max<int64_t>(4, static_cast<int64_t>((192u << 10) / act_row_bytes) / 4 * 4);
  if (n_tok == 1) {
    ForDecodeGroups(g0, g1, decode_walk, [&]<int kG>(int64_t g, int64_t step) {
      GroupsOneToken<kG, Dot>(packed + static_cast<uint64_t>(g) * group_bytes, static_cast<uint64_t>(step) * group_bytes,
                              nb, act, y + 8 * g, 8 * step);
    });
    return;
  }
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    auto groups = [&]<int kG>(int64_t g) {
      const uint8_t* gp = packed + static_cast<uint64_t>(g) * group_bytes;
      ForTokenTiles(
          c0, c1, n_tiled, act, act_row_bytes, y, ldy, 8 * g,
          [&](const uint8_t* const* a, float* const* out) {
#if defined(EMBER_ZMM_TILE)
            if constexpr (kG == 2 && std::is_same_v<Dot, int8_step::VnniDot>) return TileZmm<4>(gp, group_bytes, nb, a, out);
#endif
            Tile<4, kG, true, Dot>(gp, group_bytes, nb, a, out);
          },
          [&](const uint8_t* const* a, float* const* out) { Tile<1, kG, false, Dot>(gp, group_bytes, nb, a, out); });
    };
    int64_t g = g0;
    for (; g + kPromptGroups <= g1; g += kPromptGroups) groups.template operator()<kPromptGroups>(g);
    for (; g < g1; ++g) groups.template operator()<1>(g);
  }
}

// AMX (gemm_amx_tile.h) for the batch float order (per pair of sub-blocks), 4 groups (32 rows)
// x 32 tokens per tile. Each 32-element sub-block is one "block" of the AMX tile: TDPBSSD forms
// the 32 x 32 exact sub-block sums (codes 0..15 are the same bytes read as signed), which leave
// the tiles per sub-block because each row has its own sub-block scale. Per pair of sub-blocks,
// row and token the float steps are Tile<kT, true>'s: ip = sc[2p] S[2p] + sc[2p+1] S[2p+1] and
// mp = min[2p] bs[2p] + min[2p+1] bs[2p+1] (exact int32), acc += float(ip) (d_w d_a) and
// acc_min += float(mp) (dmin_w d_a) by fused multiply-adds, the result acc - acc_min: the same
// bits.
struct AmxPanel {
  amx_tile::Panel codes;  // "block" 8 b + s: the 32 rows' codes of sub-block s (its d unused)
  int32_t* sc;            // [b][s][row] sub-block scales
  int32_t* mn;            // [b][p][row] the min pair (min[2p], min[2p+1]) as two int16
  float* d;               // [b][row]
  float* dmin;            // [b][row]
};

inline uint64_t AmxPanelBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return amx_tile::PanelBytes(8 * nb) + AlignUp(n * 8 * 32 * 4) + AlignUp(n * 4 * 32 * 4) + 2 * AlignUp(n * 32 * 4);
}

inline AmxPanel AmxPanelAt(uint8_t* p, int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  AmxPanel ap;
  ap.codes = amx_tile::PanelAt(p, 8 * nb);
  p += amx_tile::PanelBytes(8 * nb);
  ap.sc = reinterpret_cast<int32_t*>(p);
  p += AlignUp(n * 8 * 32 * 4);
  ap.mn = reinterpret_cast<int32_t*>(p);
  p += AlignUp(n * 4 * 32 * 4);
  ap.d = reinterpret_cast<float*>(p);
  p += AlignUp(n * 32 * 4);
  ap.dmin = reinterpret_cast<float*>(p);
  return ap;
}

// 32 tokens: the sub-blocks' codes as amx_tile::Acts "blocks" 8 b + s (scale: the super-block's
// d, read at s = 0), and per super-block and pair the activation sums (bs[2p], bs[2p+1]) as two
// int16 (each at most 32 x 128).
struct AmxActs {
  amx_tile::Acts codes;
  int32_t* bs;  // [b][p][token]
};

inline uint64_t AmxActsBytes(int64_t nb) {
  return amx_tile::ActsBytes(8 * nb) + AlignUp(static_cast<uint64_t>(nb) * 4 * 32 * 4);
}

inline AmxActs AmxActsAt(uint8_t* p, int64_t nb) {
  return AmxActs{amx_tile::ActsAt(p, 8 * nb), reinterpret_cast<int32_t*>(p + amx_tile::ActsBytes(8 * nb))};
}

inline int32_t PairOf16(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
}

// Groups pg..pg + n_g - 1 (n_g <= 4; the rest zeros) into the panel: per group, super-block and
// pair, the 8 code vectors' low nibbles (sub-block 2p) and high nibbles (2p + 1), each transposed
// 8 x 8 by 4 bytes into the 8 rows' 32 codes in order.
EMBER_AVX2 void UnpackAmxPanel(const uint8_t* packed, uint64_t group_bytes, int64_t pg, int n_g, int64_t nb,
                               const AmxPanel& ap) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    for (int gi = 0; gi < 4; ++gi) {
      const int r0 = 8 * gi;
      if (gi >= n_g) {
        for (int s = 0; s < 8; ++s) {
          std::memset(ap.codes.q + ((8 * b + s) * 32 + r0) * 32, 0, 8 * 32);
          for (int r = 0; r < 8; ++r) ap.sc[(8 * b + s) * 32 + r0 + r] = 0;
        }
        for (int p = 0; p < 4; ++p) {
          for (int r = 0; r < 8; ++r) ap.mn[(4 * b + p) * 32 + r0 + r] = 0;
        }
        for (int r = 0; r < 8; ++r) ap.d[32 * b + r0 + r] = ap.dmin[32 * b + r0 + r] = 0.0f;
        continue;
      }
      const uint8_t* blk = packed + static_cast<uint64_t>(pg + gi) * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
      _mm256_storeu_ps(ap.d + 32 * b + r0, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk))));
      _mm256_storeu_ps(ap.dmin + 32 * b + r0, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16))));
      for (int s = 0; s < 8; ++s) {
        for (int r = 0; r < 8; ++r) ap.sc[(8 * b + s) * 32 + r0 + r] = blk[kScalesAt + 8 * s + r];
      }
      for (int p = 0; p < 4; ++p) {
        for (int r = 0; r < 8; ++r) {
          ap.mn[(4 * b + p) * 32 + r0 + r] = PairOf16(blk[kMinsAt + 16 * p + 2 * r], blk[kMinsAt + 16 * p + 2 * r + 1]);
        }
        __m256i lo[8], hi[8];
        for (int v = 0; v < 8; ++v) {
          const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kCodesAt + 32 * (8 * p + v)));
          lo[v] = _mm256_and_si256(raw, m4);
          hi[v] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        }
        Transpose8x8Epi32(lo);
        Transpose8x8Epi32(hi);
        for (int r = 0; r < 8; ++r) {
          StoreA(ap.codes.q + ((8 * b + 2 * p) * 32 + r0 + r) * 32, lo[r]);
          StoreA(ap.codes.q + ((8 * b + 2 * p + 1) * 32 + r0 + r) * 32, hi[r]);
        }
      }
    }
  }
}

// 32 rows x 32 tokens, the batch float order: out[32 row + token].
template <class Step>
EMBER_AVX2 void AmxTile(const AmxPanel& ap, const AmxActs& x, int64_t nb, float* out) {
  using amx_tile::kToks;
  alignas(64) int32_t c_lo[32 * kToks], c_hi[32 * kToks];
  alignas(64) float acc[32 * kToks] = {}, acc_min[32 * kToks] = {};
  for (int64_t b = 0; b < nb; ++b) {
    __m256 da[4];
    for (int v = 0; v < 4; ++v) da[v] = _mm256_loadu_ps(x.codes.d + (8 * b) * kToks + 8 * v);
    for (int p = 0; p < 4; ++p) {
      const int64_t s0 = 8 * b + 2 * p;
      Step::BlockSums(ap.codes.q + s0 * 32 * 32, x.codes.q + 2 * s0 * 512, c_lo);
      Step::BlockSums(ap.codes.q + (s0 + 1) * 32 * 32, x.codes.q + 2 * (s0 + 1) * 512, c_hi);
      __m256i bs[4];
      for (int v = 0; v < 4; ++v) bs[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bs + (4 * b + p) * kToks + 8 * v));
      for (int r = 0; r < 32; ++r) {
        const __m256i sc_lo = _mm256_set1_epi32(ap.sc[s0 * 32 + r]);
        const __m256i sc_hi = _mm256_set1_epi32(ap.sc[(s0 + 1) * 32 + r]);
        const __m256i mn = _mm256_set1_epi32(ap.mn[(4 * b + p) * 32 + r]);
        const __m256 dw = _mm256_set1_ps(ap.d[32 * b + r]);
        const __m256 dm = _mm256_set1_ps(ap.dmin[32 * b + r]);
        for (int v = 0; v < 4; ++v) {
          const int64_t o = kToks * r + 8 * v;
          const __m256i ip = _mm256_add_epi32(_mm256_mullo_epi32(LoadA(c_lo + o), sc_lo), _mm256_mullo_epi32(LoadA(c_hi + o), sc_hi));
          const __m256i mp = _mm256_madd_epi16(mn, bs[v]);
          _mm256_store_ps(acc + o, _mm256_fmadd_ps(_mm256_cvtepi32_ps(ip), _mm256_mul_ps(dw, da[v]), _mm256_load_ps(acc + o)));
          _mm256_store_ps(acc_min + o, _mm256_fmadd_ps(_mm256_cvtepi32_ps(mp), _mm256_mul_ps(dm, da[v]), _mm256_load_ps(acc_min + o)));
        }
      }
    }
  }
  for (int i = 0; i < 32 * kToks; i += 8) {
    _mm256_store_ps(out + i, _mm256_sub_ps(_mm256_load_ps(acc + i), _mm256_load_ps(acc_min + i)));
  }
}

// Tokens [0, n_tok) (all in the batch float order: the caller passes the whole tiles of 4).
template <class Step>
EMBER_AVX2 void GroupsAmx(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
                          uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy) {
  using amx_tile::kToks;
  const int64_t nb = n_in / kQK_K;
  const uint64_t group_bytes = static_cast<uint64_t>(nb) * kGroupBlockBytes;
  const uint64_t panel_bytes = AmxPanelBytes(nb), acts_bytes = AmxActsBytes(nb);
  const int64_t n_tgroups = (n_tok + kToks - 1) / kToks;
  const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>((192u << 10) / acts_bytes), 1, n_tgroups);
  uint8_t* scratch = ThreadScratch(panel_bytes + static_cast<uint64_t>(chunk) * acts_bytes);
  const AmxPanel panel = AmxPanelAt(scratch, nb);
  auto acts_of = [&](int64_t i) { return AmxActsAt(scratch + panel_bytes + static_cast<uint64_t>(i) * acts_bytes, nb); };
  alignas(64) float out[32 * kToks];
  Step::Begin();
  for (int64_t c0 = 0; c0 < n_tgroups; c0 += chunk) {
    const int64_t c1 = std::min(n_tgroups, c0 + chunk);
    for (int64_t tg = c0; tg < c1; ++tg) {
      const int64_t t0 = tg * kToks;
      const int n_t = static_cast<int>(std::min<int64_t>(kToks, n_tok - t0));
      auto block = [&](int n, int64_t sb) {
        return reinterpret_cast<const BlockQ8K*>(act + static_cast<uint64_t>(t0 + n) * act_row_bytes) + sb;
      };
      const AmxActs xa = acts_of(tg - c0);
      amx_tile::PackActs(
          8 * nb, n_t, [&](int n, int64_t s) { return block(n, s / 8)->qs + 32 * (s % 8); },
          [&](int n, int64_t s) { return block(n, s / 8)->d; }, xa.codes);
      for (int64_t b = 0; b < nb; ++b) {
        for (int p = 0; p < 4; ++p) {
          for (int n = 0; n < kToks; ++n) {
            int32_t pair = 0;
            if (n < n_t) {
              const int16_t* bsums = block(n, b)->bsums;
              pair = PairOf16(bsums[4 * p] + bsums[4 * p + 1], bsums[4 * p + 2] + bsums[4 * p + 3]);
            }
            xa.bs[(4 * b + p) * kToks + n] = pair;
          }
        }
      }
    }
    for (int64_t pg = g0; pg < g1; pg += 4) {
      const int n_g = static_cast<int>(std::min<int64_t>(4, g1 - pg));
      UnpackAmxPanel(packed, group_bytes, pg, n_g, nb, panel);
      for (int64_t tg = c0; tg < c1; ++tg) {
        AmxTile<Step>(panel, acts_of(tg - c0), nb, out);
        const int64_t n_t = std::min<int64_t>(kToks, n_tok - tg * kToks);
        for (int64_t t = 0; t < n_t; ++t) {
          float* yt = y + (tg * kToks + t) * ldy + 8 * pg;
          for (int r = 0; r < 8 * n_g; ++r) yt[r] = out[kToks * r + t];
        }
      }
    }
  }
  Step::End();
}

#endif  // EMBER_REPACK_AVX2

}  // namespace

namespace q4kx8 {

bool UsesAmx(int64_t n_tok, Isa isa) {
  return n_tok - n_tok % 4 >= amx_tile::kToks && (isa >= Isa::kAmx || AmxModelForTests());
}


void RepackGroups(const uint8_t* src, uint64_t row_bytes, int64_t n_in, int64_t g0, int64_t g1,
                  uint8_t* dst) {
  const int64_t nb = n_in / kQK_K;
  for (int64_t g = g0; g < g1; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* out = dst + static_cast<uint64_t>(g * nb + b) * kGroupBlockBytes;
      for (int r = 0; r < 8; ++r) {
        const auto* blk = reinterpret_cast<const BlockQ4K*>(src + static_cast<uint64_t>(8 * g + r) * row_bytes) + b;
        std::memcpy(out + 2 * r, &blk->d, 2);
        std::memcpy(out + 16 + 2 * r, &blk->dmin, 2);
        uint8_t sc[8], mn[8];
        UnpackScalesMinsK4(blk->scales, sc, mn);
        for (int s = 0; s < 8; ++s) {
          out[kScalesAt + 8 * s + r] = sc[s];
          out[kMinsAt + 16 * (s / 2) + 2 * r + s % 2] = mn[s];
        }
        for (int p = 0; p < 4; ++p) {
          for (int v = 0; v < 8; ++v) {
            std::memcpy(out + kCodesAt + 32 * (8 * p + v) + 4 * r, blk->qs + 32 * p + 4 * v, 4);
          }
        }
      }
    }
  }
}

void Groups(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
            uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
#if defined(EMBER_REPACK_AVX2)
  if (UsesAmx(n_tok, isa)) {
    // The whole tiles of 4 tokens in the batch order on AMX, the last n_tok % 4 tokens (decode
    // order) by the AVX2 / VNNI kernels below.
    const int64_t n_tiled = n_tok - n_tok % 4;
    if (AmxModelForTests()) {
      GroupsAmx<amx_tile::AmxInt8Model>(packed, n_in, g0, g1, act, act_row_bytes, n_tiled, y, ldy);
    } else {
      GroupsAmx<amx_tile::AmxInt8>(packed, n_in, g0, g1, act, act_row_bytes, n_tiled, y, ldy);
    }
    if (n_tiled == n_tok) return;
    act += static_cast<uint64_t>(n_tiled) * act_row_bytes;
    y += n_tiled * ldy;
    n_tok -= n_tiled;
  }
  const DecodeWalk decode_walk = DecodeWalkFor(isa);
  if (VnniModelForTests()) {
    return GroupsAvx2<int8_step::VnniModel>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
  }
  if (isa == Isa::kAvxVnni) return GroupsAvx2<int8_step::VexVnniDot>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
  if (isa >= Isa::kAvx512) return GroupsAvx2<int8_step::VnniDot>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
  GroupsAvx2<int8_step::MaddDot>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
#else
  (void)packed, (void)n_in, (void)g0, (void)g1, (void)act, (void)act_row_bytes, (void)n_tok, (void)y, (void)ldy;
  (void)isa;
  EMBER_CHECK(false);  // ChooseRepack never picks a layout without the AVX2 kernels
#endif
}

}  // namespace q4kx8

float ReferenceQ4Kx8Dot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row) {
  return Reference(n_in, w_row, act_row, /*per_pair=*/false);
}

float ReferenceQ4Kx8TiledDot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row) {
  return Reference(n_in, w_row, act_row, /*per_pair=*/true);
}

}  // namespace ember::cpu
