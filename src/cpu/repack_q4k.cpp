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
// madd): the same exact integers, so the same bits. Decode (GroupsOneToken) keeps the AVX2 step:
// it is bound by memory, not by these operations.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "core/half.h"
#include "cpu/gemm.h"
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

// Rows 8g..8g+7 of the group at `gp` against kT tokens: y[t][r] for the group's rows. kPerPair
// selects the batch (gemm) float order, else the decode (gemv) order.
//
// Registers: the float state (accumulators, scale products) and each pair's low-nibble partial
// sums live in small aligned buffers, touched once per sub-block pair, so that the inner loops
// keep only the kT int16 sums, the codes and one broadcast in registers (kept in arrays of
// vectors, GCC spilled the int16 sums inside the inner loops instead). The inner loops are
// unrolled twice: once, 70; twice, 80; four times, 75; fully, 65 GMAC/s (one core, 5632 x 2048
// against 128 tokens).
template <int kT, bool kPerPair, class Dot>
EMBER_AVX2 void Tile(const uint8_t* gp, int64_t nb, const uint8_t* const* act, float* const* y) {
  // AVX2: int16 sums (maddubs + add), scaled by madd with (sc, sc) pairs. VNNI: int32 sums
  // (vpdpbusd), scaled by a 32-bit multiply with sc zero-extended per row.
  constexpr bool kInt32Sums = !std::is_same_v<Dot, int8_step::MaddDot>;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  alignas(32) float acc[kT][8] = {}, acc_min[kT][8] = {}, scale[kT][8], min_scale[kT][8];
  alignas(32) int32_t lo_part[kT][8], isum[kT][8], imin[kT][8];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = gp + static_cast<uint64_t>(b) * kGroupBlockBytes;
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
    const __m256 dminw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16)));
    const BlockQ8K* a[kT];
    alignas(16) int32_t bsum_pairs[kT][4];  // int16 (sum of sub-block 2p, of 2p+1) in pair p
    for (int t = 0; t < kT; ++t) {
      a[t] = reinterpret_cast<const BlockQ8K*>(act[t]) + b;
      const __m256 da = _mm256_set1_ps(a[t]->d);
      _mm256_store_ps(scale[t], _mm256_mul_ps(dw, da));
      _mm256_store_ps(min_scale[t], _mm256_mul_ps(dminw, da));
      const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[t]->bsums));
      const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[t]->bsums + 8));
      _mm_store_si128(reinterpret_cast<__m128i*>(bsum_pairs[t]), _mm_hadd_epi16(lo, hi));
      if constexpr (!kPerPair) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(isum[t]), _mm256_setzero_si256());
        _mm256_store_si256(reinterpret_cast<__m256i*>(imin[t]), _mm256_setzero_si256());
      }
    }
    for (int p = 0; p < 4; ++p) {
      const uint8_t* codes = blk + kCodesAt + 256 * p;
      // The low nibbles (sub-block 2p), then the high ones (2p+1): one int16 accumulator per token
      // live instead of two (~10% faster for one token, measured). lo_part: sc x sum of 2p.
      __m256i s[kT];
      for (int t = 0; t < kT; ++t) s[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
      for (int v = 0; v < 8; ++v) {
        const __m256i lo = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * v)), m4);
        for (int t = 0; t < kT; ++t) {
          const __m256i av = Broadcast4(a[t]->qs + 64 * p + 4 * v);
          if constexpr (kInt32Sums) {
            Dot::Add(s[t], lo, av, ones);
          } else {
            s[t] = _mm256_add_epi16(s[t], _mm256_maddubs_epi16(lo, av));
          }
        }
      }
      const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * p));
      const __m256i sc_lo = kInt32Sums ? _mm256_cvtepu8_epi32(sc8) : _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(sc8, sc8));
      for (int t = 0; t < kT; ++t) {
        const __m256i part = kInt32Sums ? _mm256_mullo_epi32(s[t], sc_lo) : _mm256_madd_epi16(s[t], sc_lo);
        _mm256_store_si256(reinterpret_cast<__m256i*>(lo_part[t]), part);
        s[t] = _mm256_setzero_si256();
      }
#pragma GCC unroll 2
      for (int v = 0; v < 8; ++v) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * v));
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        for (int t = 0; t < kT; ++t) {
          const __m256i av = Broadcast4(a[t]->qs + 64 * p + 32 + 4 * v);
          if constexpr (kInt32Sums) {
            Dot::Add(s[t], hi, av, ones);
          } else {
            s[t] = _mm256_add_epi16(s[t], _mm256_maddubs_epi16(hi, av));
          }
        }
      }
      const __m256i sc_hi = kInt32Sums ? _mm256_cvtepu8_epi32(_mm_srli_si128(sc8, 8))
                                       : _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sc8, sc8));
      const __m256i mins = _mm256_cvtepu8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kMinsAt + 16 * p)));
      for (int t = 0; t < kT; ++t) {
        const __m256i hi_part = kInt32Sums ? _mm256_mullo_epi32(s[t], sc_hi) : _mm256_madd_epi16(s[t], sc_hi);
        const __m256i ip = _mm256_add_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(lo_part[t])), hi_part);
        const __m256i mp = _mm256_madd_epi16(mins, _mm256_set1_epi32(bsum_pairs[t][p]));
        if constexpr (kPerPair) {
          _mm256_store_ps(acc[t], _mm256_fmadd_ps(_mm256_cvtepi32_ps(ip), _mm256_load_ps(scale[t]),
                                                  _mm256_load_ps(acc[t])));
          _mm256_store_ps(acc_min[t], _mm256_fmadd_ps(_mm256_cvtepi32_ps(mp), _mm256_load_ps(min_scale[t]),
                                                      _mm256_load_ps(acc_min[t])));
        } else {
          auto* is = reinterpret_cast<__m256i*>(isum[t]);
          auto* im = reinterpret_cast<__m256i*>(imin[t]);
          _mm256_store_si256(is, _mm256_add_epi32(_mm256_load_si256(is), ip));
          _mm256_store_si256(im, _mm256_add_epi32(_mm256_load_si256(im), mp));
        }
      }
    }
    if constexpr (!kPerPair) {
      for (int t = 0; t < kT; ++t) {
        const __m256 fi = _mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(isum[t])));
        const __m256 fm = _mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(imin[t])));
        _mm256_store_ps(acc[t], _mm256_fmadd_ps(fi, _mm256_load_ps(scale[t]), _mm256_load_ps(acc[t])));
        _mm256_store_ps(acc_min[t], _mm256_fmadd_ps(fm, _mm256_load_ps(min_scale[t]), _mm256_load_ps(acc_min[t])));
      }
    }
  }
  for (int t = 0; t < kT; ++t) _mm256_storeu_ps(y[t], _mm256_sub_ps(_mm256_load_ps(acc[t]), _mm256_load_ps(acc_min[t])));
}

// Decode: kG groups side by side against one token (the activation broadcasts shared, kG weight
// streams in flight per core, as repack_q4_0.cpp); each group's float steps are Tile<1, false>'s,
// so the same bits. TinyLlama Q4_K_M tg128 -t 2, idle machine: 4 groups ~36 t/s against ~33
// with one group at a time, 2 groups ~33.6.
template <int kG>
EMBER_AVX2 void GroupsOneToken(const uint8_t* gp, uint64_t group_bytes, int64_t nb, const uint8_t* act,
                               float* y) {
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
          const uint8_t* codes = gp + g * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes + kCodesAt + 256 * p;
          const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * v));
          s[g] = _mm256_add_epi16(s[g], _mm256_maddubs_epi16(_mm256_and_si256(raw, m4), av));
        }
      }
      for (int g = 0; g < kG; ++g) {
        const uint8_t* blk = gp + g * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * p));
        lo_part[g] = _mm256_madd_epi16(s[g], _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(sc8, sc8)));
        s[g] = _mm256_setzero_si256();
      }
      for (int v = 0; v < 8; ++v) {
        const __m256i av = Broadcast4(a->qs + 64 * p + 32 + 4 * v);
        for (int g = 0; g < kG; ++g) {
          const uint8_t* codes = gp + g * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes + kCodesAt + 256 * p;
          const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * v));
          s[g] = _mm256_add_epi16(s[g], _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), av));
        }
      }
      for (int g = 0; g < kG; ++g) {
        const uint8_t* blk = gp + g * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * p));
        const __m256i mins = _mm256_cvtepu8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kMinsAt + 16 * p)));
        const __m256i ip = _mm256_add_epi32(lo_part[g], _mm256_madd_epi16(s[g], _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sc8, sc8))));
        isum[g] = _mm256_add_epi32(isum[g], ip);
        imin[g] = _mm256_add_epi32(imin[g], _mm256_madd_epi16(mins, _mm256_set1_epi32(bsum_pairs[p])));
      }
    }
    for (int g = 0; g < kG; ++g) {
      const uint8_t* blk = gp + g * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
      const __m256 dminw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16)));
      acc[g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[g]), _mm256_mul_ps(dw, da), acc[g]);
      acc_min[g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(imin[g]), _mm256_mul_ps(dminw, da), acc_min[g]);
    }
  }
  for (int g = 0; g < kG; ++g) _mm256_storeu_ps(y + 8 * g, _mm256_sub_ps(acc[g], acc_min[g]));
}

template <class Dot>
EMBER_AVX2 void GroupsAvx2(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1,
                           const uint8_t* act, uint64_t act_row_bytes, int64_t n_tok, float* y,
                           int64_t ldy) {
  const int64_t nb = n_in / kQK_K;
  const uint64_t group_bytes = static_cast<uint64_t>(nb) * kGroupBlockBytes;
  // llama.cpp's split: whole tiles of 4 from the first token take the batch order, the rest the
  // decode order. Token chunks (a multiple of 4, so the tiles stay aligned) keep ~192 KiB of
  // activations in L2 while every group passes over them.
  const int64_t n_tiled = n_tok - n_tok % 4;
  const int64_t chunk = std::max<int64_t>(4, static_cast<int64_t>((192u << 10) / act_row_bytes) / 4 * 4);
  if (n_tok == 1) {
    int64_t g = g0;
    for (; g + 4 <= g1; g += 4) GroupsOneToken<4>(packed + static_cast<uint64_t>(g) * group_bytes, group_bytes, nb, act, y + 8 * g);
    for (; g + 2 <= g1; g += 2) GroupsOneToken<2>(packed + static_cast<uint64_t>(g) * group_bytes, group_bytes, nb, act, y + 8 * g);
    for (; g < g1; ++g) GroupsOneToken<1>(packed + static_cast<uint64_t>(g) * group_bytes, group_bytes, nb, act, y + 8 * g);
    return;
  }
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    for (int64_t g = g0; g < g1; ++g) {
      const uint8_t* gp = packed + static_cast<uint64_t>(g) * group_bytes;
      int64_t t = c0;
      for (; t + 4 <= std::min(c1, n_tiled); t += 4) {
        const uint8_t* a[4];
        float* out[4];
        for (int i = 0; i < 4; ++i) {
          a[i] = act + static_cast<uint64_t>(t + i) * act_row_bytes;
          out[i] = y + (t + i) * ldy + 8 * g;
        }
        Tile<4, true, Dot>(gp, nb, a, out);
      }
      for (; t < c1; ++t) {
        const uint8_t* a[1] = {act + static_cast<uint64_t>(t) * act_row_bytes};
        float* out[1] = {y + t * ldy + 8 * g};
        Tile<1, false, Dot>(gp, nb, a, out);
      }
    }
  }
}

#endif  // EMBER_REPACK_AVX2

}  // namespace

namespace q4kx8 {

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
  if (VnniModelForTests()) {
    return GroupsAvx2<int8_step::VnniModel>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy);
  }
  if (isa >= Isa::kAvx512) return GroupsAvx2<int8_step::VnniDot>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy);
  GroupsAvx2<int8_step::MaddDot>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy);
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
