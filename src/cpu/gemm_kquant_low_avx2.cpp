// AVX2 tiled prompt kernels for Q2_K, Q3_K and IQ4_XS weights against Q8_K activations
// (gemm.h, gemm_kquant_low.h), compiled for AVX2 through function attributes like dot_avx2.cpp.
//
// Exactness. The row dots (avx2::DotQ2K, DotQ3K, DotIQ4XS) form, per 256-element super-block,
// 8 int32 lanes: for each 32-element chunk, the 16-bit pair sums code x activation (maddubs)
// multiplied by the chunk's int16 scale multiplier and summed in pairs (madd) -- lane l of a
// chunk takes its elements 4l..4l+3 -- then added over the 8 chunks. The float side is one
// fused multiply-add of d_w * d_a (one rounded product) times those lanes per super-block into
// one 8-lane accumulator, preceded for Q2_K by one of -d_a * dmin_w times madd(mins, bsums);
// then the lane sum. Here each weight super-block is unpacked once per panel of 4 rows and
// token chunk -- codes to bytes, scales to ready-made int16 multiplier vectors -- and each code
// vector feeds 2 tokens, each activation vector 4 rows. The 16-bit pair sums are the same
// integers (Q3_K's maddubs(q & 3) - maddubs(4 * !h) is maddubs(|c|, sign(y, c)) of the signed
// code c, as no pair sum reaches 16 bits and Q8_K codes stay within -127..127), int32 sums are
// exact in any order, and the float operations are the same in the same order: the same bits.
//
// Scaled codes (Q2_K, Q3_K). A chunk's lane l is s * (sum of its 4 code x activation products),
// s the scale of the 16-element sub-block the lane lies in, so it is also the sum of the 4
// products of (s * code) x activation. Q2_K's s * code (0..15 x 0..3) and Q3_K's -s * code
// (-31..32 x -4..3: -128..124; the negation keeps -32 x -4 within a byte, and the super-block's
// d is stored negated to match, an exact sign change on both sides of the one rounded
// multiply-add) fit a signed byte, so the panel stores them, made once per panel and token
// chunk, and the tile's step is one vpdpbusd per row and token (plus Q3_K's sign move) where
// maddubs + madd by the scale + add took three: the same integers. IQ4_XS's levels (up to 127)
// times scales (up to 32) do not fit a byte and keep the multiplier vectors.
//
// Offset codes (Q3_K with vpdpbusd). Q3_K's scaled codes n are signed, so each step also moved
// their signs onto the activations (one vpsignb per row and token). With vpdpbusd (no 16-bit
// pairs to saturate) the panel stores n + 128 (0..252) instead, the step is vpdpbusd alone, and
// 128 times the activations' 4-element lane sums, over the super-block's 8 chunks, is taken off
// once per super-block: made per token when the activations are packed (PackActs), shared by
// every row. Exact integers, so the same lanes.
#include "cpu/gemm_kquant_low.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm.h"
#include "cpu/gemm_acts.h"
#include "cpu/int8_dot_step.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "quant/blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_GEMM_KLOW_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu::klow_gemm {
namespace {

enum class Kind { kQ2K, kQ3K, kIQ4XS };

constexpr int kRows = 4;  // weight rows per panel
constexpr int kToks = 2;  // tokens per inner step

#if defined(EMBER_GEMM_KLOW_AVX2)

// Where the per-token offset corrections start in the packed activations: after the Q8_K
// layout, [t][sb][8] int32 (128 x lane l's sum of elements 32c + 4l .. 32c + 4l + 3 over c).
inline int32_t* CorrectionsAt(const uint8_t* packed, int64_t n_in, int64_t n_tok) {
  const auto at = reinterpret_cast<uintptr_t>(packed) + GemmActsBytes(ActFormat::kQ8K, n_in, n_tok);
  return reinterpret_cast<int32_t*>((at + kAlign - 1) / kAlign * kAlign);
}

// Whether Dot adds u8 x s8 products into 32-bit lanes directly (vpdpbusd and its model), so that
// codes up to 252 cannot saturate a 16-bit pair: then Q3_K's panel holds offset codes.
template <class Dot>
constexpr bool kWideDot = !std::is_same_v<Dot, int8_step::MaddDot>;

// A panel of 4 rows, per super-block and row slot (slot = 4 * sb + row): codes [slot][256]
// (scaled for Q2_K and Q3_K, IQ4_XS's signed levels), IQ4_XS's int16 multiplier of each 32-code
// chunk [slot][8][16], Q2_K's 16 mins [slot][16]; per super-block the rows' d (Q3_K's negated)
// and -dmin, 4 rows twice ([sb][8]: lane 4 * token + row). The signed types' |code| is formed in the tile (one op per
// code vector, shared by both tokens) rather than stored: that keeps a 4096-wide panel at
// 32 KiB instead of 48, and the tile at 14 vector loads per chunk instead of 22 (GCC folded
// the stored vectors into each token's instructions).
struct Panel {
  uint8_t* q;
  int16_t* sc;
  int16_t* mn;
  float* dx8;
  float* nm8;
};

uint64_t PanelBytes(int64_t nsb) {
  const auto n = static_cast<uint64_t>(nsb) * kRows;
  return 2 * AlignUp(n * 256) + AlignUp(n * 32) + 2 * AlignUp(n * 8);
}

Panel PanelAt(uint8_t* p, int64_t nsb) {
  const auto n = static_cast<uint64_t>(nsb) * kRows;
  Panel pn;
  pn.q = p;
  pn.sc = reinterpret_cast<int16_t*>(p + AlignUp(n * 256));
  pn.mn = reinterpret_cast<int16_t*>(reinterpret_cast<uint8_t*>(pn.sc) + AlignUp(n * 256));
  pn.dx8 = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(pn.mn) + AlignUp(n * 32));
  pn.nm8 = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(pn.dx8) + AlignUp(n * 8));
  return pn;
}

// 32 codes (int8, elements in order) times sub-block scales: sa for the first 16, sb for the
// last 16, back to bytes (the products fit: see the top of the file).
EMBER_AVX2 inline __m256i ScaleCodes(__m256i code, int16_t sa, int16_t sb) {
  const __m256i lo = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(code)), _mm256_set1_epi16(sa));
  const __m256i hi = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(code, 1)), _mm256_set1_epi16(sb));
  return _mm256_permute4x64_epi64(_mm256_packs_epi16(lo, hi), 0xD8);  // packs interleaves 128-bit lanes
}

// One weight row (or zeros, for the padding rows of the last panel) into slot r of each
// super-block.
template <Kind K, bool kOffset>
EMBER_AVX2 void UnpackRow(const uint8_t* row, int64_t nsb, int r, const Panel& p) {
  const __m256i m3 = _mm256_set1_epi8(3);
  for (int64_t i = 0; i < nsb; ++i) {
    const int64_t slot = i * kRows + r;
    uint8_t* q = p.q + slot * 256;
    int16_t* sc = p.sc + slot * 128;
    float d = 0.0f, nm = 0.0f;
    if (row == nullptr) {
      std::memset(q, 0, 256);
      std::memset(sc, 0, 256);
      std::memset(p.mn + slot * 16, 0, 32);
    } else if constexpr (K == Kind::kIQ4XS) {
      const auto& x = reinterpret_cast<const BlockIQ4XS*>(row)[i];
      const __m128i values = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
      const __m128i m4 = _mm_set1_epi8(0x0F);
      for (int ib = 0; ib < 8; ++ib) {
        const int lo = (x.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
        const int hi = (x.scales_h >> (2 * ib)) & 0x03;
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.qs + 16 * ib));
        const __m256i lv = _mm256_set_m128i(_mm_shuffle_epi8(values, _mm_and_si128(_mm_srli_epi16(v, 4), m4)),
                                            _mm_shuffle_epi8(values, _mm_and_si128(v, m4)));
        StoreA(q + 32 * ib, lv);
        StoreA(sc + 16 * ib, _mm256_set1_epi16(static_cast<int16_t>((lo | (hi << 4)) - 32)));
      }
      d = _cvtsh_ss(x.d);
    } else if constexpr (K == Kind::kQ3K) {
      const auto& x = reinterpret_cast<const BlockQ3K*>(row)[i];
      int8_t s16[16];
      UnpackScalesQ3K(x.scales, s16);
      const __m256i hbits = Load(x.hmask);
      for (int j = 0; j < 2; ++j) {
        const __m256i q3 = Load(x.qs + 32 * j);
        for (int k = 0; k < 4; ++k) {
          const int c = 4 * j + k;
          const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << c));
          const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q3, 2 * k), m3);
          const __m256i h4 = _mm256_andnot_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit), bit),
                                                 _mm256_set1_epi8(4));
          const __m256i code = _mm256_sub_epi8(lo, h4);
          const __m256i n = ScaleCodes(code, static_cast<int16_t>(-s16[2 * c]), static_cast<int16_t>(-s16[2 * c + 1]));
          StoreA(q + 32 * c, kOffset ? _mm256_add_epi8(n, _mm256_set1_epi8(static_cast<char>(0x80))) : n);
        }
      }
      d = -_cvtsh_ss(x.d);  // the codes are negated
    } else {
      const auto& x = reinterpret_cast<const BlockQ2K*>(row)[i];
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
      StoreA(p.mn + slot * 16, _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F))));
      for (int j = 0; j < 2; ++j) {
        const __m256i q2 = Load(x.qs + 32 * j);
        for (int k = 0; k < 4; ++k) {
          const int c = 4 * j + k;
          const auto sa = static_cast<int16_t>(x.scales[2 * c] & 0x0F);
          const auto sb = static_cast<int16_t>(x.scales[2 * c + 1] & 0x0F);
          StoreA(q + 32 * c, ScaleCodes(_mm256_and_si256(_mm256_srli_epi16(q2, 2 * k), m3), sa, sb));
        }
      }
      d = _cvtsh_ss(x.d);
      nm = -_cvtsh_ss(x.dmin);
    }
    p.dx8[i * 8 + r] = p.dx8[i * 8 + 4 + r] = d;
    p.nm8[i * 8 + r] = p.nm8[i * 8 + 4 + r] = nm;
  }
}

// One row's 32-code chunk against both tokens' activation vectors: the scaled lane sums added
// to s0 and s1. Each code vector is loaded once for the 2 tokens. Q2_K's and Q3_K's codes come
// scaled (one Dot step each); IQ4_XS's levels are multiplied by their scale vector.
template <Kind K, class Dot>
EMBER_AVX2 inline void RowStep(const uint8_t* q, const int16_t* sc, __m256i y0, __m256i y1, __m256i& s0,
                               __m256i& s1, __m256i ones) {
  const __m256i qv = LoadA(q);
  if constexpr (K == Kind::kQ2K || (K == Kind::kQ3K && kWideDot<Dot>)) {  // unsigned codes
    Dot::Add(s0, qv, y0, ones);
    Dot::Add(s1, qv, y1, ones);
  } else if constexpr (K == Kind::kQ3K) {
    const __m256i av = _mm256_sign_epi8(qv, qv);
    Dot::Add(s0, av, _mm256_sign_epi8(y0, qv), ones);
    Dot::Add(s1, av, _mm256_sign_epi8(y1, qv), ones);
  } else {
    const __m256i scv = LoadA(sc);
    const __m256i av = _mm256_sign_epi8(qv, qv);
    const __m256i p0 = _mm256_maddubs_epi16(av, _mm256_sign_epi8(y0, qv));
    const __m256i p1 = _mm256_maddubs_epi16(av, _mm256_sign_epi8(y1, qv));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(p0, scv));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(p1, scv));
  }
}

// 4 rows x 2 tokens (tb may equal ta for an odd count): out[4 * token + row]. The 8 integer
// sums are named so that they stay in registers through the chunk loop; the float
// accumulators change once per super-block and may live in memory.
template <Kind K, class Dot>
EMBER_AVX2 void Tile(const Panel& p, const GemmActs& a, const int32_t* corr, int64_t ta, int64_t tb, float* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t nsb = a.nb;
  __m256 facc[kToks * kRows];
  for (auto& f : facc) f = _mm256_setzero_ps();
  alignas(32) float dd[8], dm[8];
  for (int64_t i = 0; i < nsb; ++i) {
    const int64_t ia = ta * nsb + i, ib = tb * nsb + i;
    const __m256 dy = _mm256_set_m128(_mm_set1_ps(a.d4[ib]), _mm_set1_ps(a.d4[ia]));
    // d_w * d_a per (row, token): one rounded product, as the row dot's.
    _mm256_store_ps(dd, _mm256_mul_ps(_mm256_load_ps(p.dx8 + i * 8), dy));
    if constexpr (K == Kind::kQ2K) {
      // First the min term: -d_a * dmin_w (the same product, negated) times mins . bsums.
      _mm256_store_ps(dm, _mm256_mul_ps(_mm256_load_ps(p.nm8 + i * 8), dy));
      const __m256i ba = LoadA(a.bs + ia * 16);
      const __m256i bb = LoadA(a.bs + ib * 16);
      for (int r = 0; r < kRows; ++r) {
        const __m256i mn = LoadA(p.mn + (i * kRows + r) * 16);
        facc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dm[r]), _mm256_cvtepi32_ps(_mm256_madd_epi16(mn, ba)), facc[r]);
        facc[4 + r] = _mm256_fmadd_ps(_mm256_set1_ps(dm[4 + r]), _mm256_cvtepi32_ps(_mm256_madd_epi16(mn, bb)),
                                      facc[4 + r]);
      }
    }
    const int8_t* ya = a.qs + ia * 256;
    const int8_t* yb = a.qs + ib * 256;
    const uint8_t* q = p.q + i * kRows * 256;
    const int16_t* sc = p.sc + i * kRows * 128;
    __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00,
            s31 = s00;
    for (int c = 0; c < 8; ++c) {
      const __m256i y0 = LoadA(ya + 32 * c);
      const __m256i y1 = LoadA(yb + 32 * c);
      RowStep<K, Dot>(q + 32 * c, sc + 16 * c, y0, y1, s00, s01, ones);
      RowStep<K, Dot>(q + 256 + 32 * c, sc + 128 + 16 * c, y0, y1, s10, s11, ones);
      RowStep<K, Dot>(q + 512 + 32 * c, sc + 256 + 16 * c, y0, y1, s20, s21, ones);
      RowStep<K, Dot>(q + 768 + 32 * c, sc + 384 + 16 * c, y0, y1, s30, s31, ones);
    }
    if constexpr (K == Kind::kQ3K && kWideDot<Dot>) {
      const __m256i ca = LoadA(corr + ia * 8), cb = LoadA(corr + ib * 8);
      s00 = _mm256_sub_epi32(s00, ca), s10 = _mm256_sub_epi32(s10, ca);
      s20 = _mm256_sub_epi32(s20, ca), s30 = _mm256_sub_epi32(s30, ca);
      s01 = _mm256_sub_epi32(s01, cb), s11 = _mm256_sub_epi32(s11, cb);
      s21 = _mm256_sub_epi32(s21, cb), s31 = _mm256_sub_epi32(s31, cb);
    }
    const __m256i sums[kToks * kRows] = {s00, s10, s20, s30, s01, s11, s21, s31};
    for (int l = 0; l < kToks * kRows; ++l) {
      facc[l] = _mm256_fmadd_ps(_mm256_set1_ps(dd[l]), _mm256_cvtepi32_ps(sums[l]), facc[l]);
    }
  }
  for (int l = 0; l < kToks * kRows; ++l) out[l] = Hsum(facc[l]);
}

// Chunks of tokens whose codes (about 192 KiB) stay in L2; each panel is unpacked once per chunk.
template <Kind K, class Dot>
EMBER_AVX2 void RowsAvx2(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                         const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
  const GemmActs a = GemmActsAt(ActFormat::kQ8K, n_in, n_tok, packed);
  const int32_t* corr = CorrectionsAt(packed, n_in, n_tok);
  const int64_t nsb = a.nb;
  const int64_t chunk = std::max<int64_t>(8, (192 * 1024 / std::max<int64_t>(1, n_in)) / 2 * 2);
  const Panel p = PanelAt(ThreadScratch(PanelBytes(nsb)), nsb);
  alignas(32) float out[kRows * kToks];
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    for (int64_t p0 = r0; p0 < r1; p0 += kRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kRows, r1 - p0));
      for (int r = 0; r < kRows; ++r) {
        UnpackRow<K, K == Kind::kQ3K && kWideDot<Dot>>(r < n_rows ? w + static_cast<uint64_t>(p0 + r) * row_bytes : nullptr,
                                                       nsb, r, p);
      }
      for (int64_t t = c0; t < c1; t += kToks) {
        const int64_t tb = std::min(t + 1, c1 - 1);
        Tile<K, Dot>(p, a, corr, t, tb, out);
        for (int tt = 0; tt <= tb - t; ++tt) {
          for (int r = 0; r < n_rows; ++r) y[(t + tt) * ldy + p0 + r] = out[4 * tt + r];
        }
      }
    }
  }
}

#endif  // EMBER_GEMM_KLOW_AVX2

}  // namespace

bool Has(GgmlType type, Isa isa) {
#if defined(EMBER_GEMM_KLOW_AVX2)
  return Handles(type) && isa >= Isa::kAvx2;
#else
  (void)type, (void)isa;
  return false;
#endif
}

uint64_t PackedBytes(int64_t n_in, int64_t n_tok) {
  // The Q8_K layout, then the offset corrections (CorrectionsAt) with alignment slack.
  return GemmActsBytes(ActFormat::kQ8K, n_in, n_tok) + kAlign +
         static_cast<uint64_t>(n_tok) * static_cast<uint64_t>(n_in / 256) * 8 * sizeof(int32_t);
}

#if defined(EMBER_GEMM_KLOW_AVX2)
namespace {
// Tokens [t0, t1)'s offset corrections: lane l of super-block sb is 128 times the sum of the
// token's codes 32c + 4l .. 32c + 4l + 3 over the 8 chunks c (maddubs by 1 then madd by 1: pair
// sums of at most 254, exact).
EMBER_AVX2 void PackCorrections(int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes, int64_t t0,
                                int64_t t1, uint8_t* packed) {
  int32_t* corr = CorrectionsAt(packed, n_in, n_tok);
  const int64_t nsb = n_in / 256;
  const __m256i one8 = _mm256_set1_epi8(1), one16 = _mm256_set1_epi16(1);
  for (int64_t t = t0; t < t1; ++t) {
    const auto* blocks = reinterpret_cast<const BlockQ8K*>(act + static_cast<uint64_t>(t) * act_row_bytes);
    for (int64_t i = 0; i < nsb; ++i) {
      __m256i sum = _mm256_setzero_si256();
      for (int c = 0; c < 8; ++c) {
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(one8, Load(blocks[i].qs + 32 * c)), one16));
      }
      StoreA(corr + (t * nsb + i) * 8, _mm256_slli_epi32(sum, 7));
    }
  }
}
}  // namespace
#endif

void PackActs(int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes, int64_t t0,
              int64_t t1, uint8_t* packed) {
  PackGemmActs(ActFormat::kQ8K, n_in, n_tok, act, act_row_bytes, t0, t1, packed);
#if defined(EMBER_GEMM_KLOW_AVX2)
  PackCorrections(n_in, n_tok, act, act_row_bytes, t0, t1, packed);
#endif
}

#if defined(EMBER_GEMM_KLOW_AVX2)
namespace {
// The scaled-code kinds with the integer step for `isa` (int8_dot_step.h; the same integers).
template <Kind K>
void ScaledRows(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1, const uint8_t* packed,
                int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  if (VnniModelForTests()) return RowsAvx2<K, int8_step::VnniModel>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  if (isa == Isa::kAvxVnni) return RowsAvx2<K, int8_step::VexVnniDot>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  if (isa >= Isa::kAvx512) return RowsAvx2<K, int8_step::VnniDot>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  return RowsAvx2<K, int8_step::MaddDot>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
}
}  // namespace
#endif

void Rows(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
          const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
#if defined(EMBER_GEMM_KLOW_AVX2)
  switch (type) {
    case GgmlType::Q2_K: return ScaledRows<Kind::kQ2K>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case GgmlType::Q3_K: return ScaledRows<Kind::kQ3K>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case GgmlType::IQ4_XS:
      return RowsAvx2<Kind::kIQ4XS, int8_step::MaddDot>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
    default: break;
  }
#else
  (void)n_in, (void)row_bytes, (void)w, (void)r0, (void)r1, (void)packed, (void)n_tok, (void)y, (void)ldy, (void)isa;
#endif
  Fail("no tiled CPU kernel for weight type {}", GgmlTypeName(type));
}

}  // namespace ember::cpu::klow_gemm
