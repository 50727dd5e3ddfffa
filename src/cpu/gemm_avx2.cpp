// AVX2 tiled matrix-matrix kernels (see gemm.h). Compiled for AVX2 through function attributes,
// like dot_avx2.cpp, and used only when cpu_features says the CPU has AVX2.
//
// Layout. Activations are repacked once per batch: codes 32-byte aligned ([token][block][32] or
// [token][super-block][256]), scales as floats (broadcast 4 times for the legacy types, so a
// pair of tokens' scales is one 8-lane load). Weights are unpacked per panel of 4 rows into a
// thread-local buffer: one byte per code, interleaved [block][row], F16 scales as floats, K-quant
// sub-block scales as 16-bit vectors ready for madd. The inner step is 4 rows x 2 tokens.
//
// Exactness. For each (row, token) the float work is what the AVX2 row dot product in
// dot_avx2.cpp does: legacy types accumulate d_w * d_a * (8 int32 lane sums) per block with one
// fused multiply-add into 8 lanes (d_w * d_a rounded once, as there), Q4_1/Q5_1 add the min
// term with a scalar-equivalent fused multiply-add per block, K-quants convert per super-block;
// the lane sums at the end are the same. The integer lane sums are exact either way; for the
// signed types (Q4_0, Q5_0, Q8_0) they are formed with the same sign trick. That holds for the
// signed types only with exact prompt kernels (gemm.h, ExactGemm): by default they run the
// 8-row tile of gemm_signed8_tile.h, one rounding per block (measured, see there and
// docs/performance.md).
#include "cpu/gemm.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm_acts.h"
#include "cpu/gemm_amx_tile.h"
#include "cpu/gemm_float.h"
#include "cpu/gemm_iq4nl.h"
#include "cpu/gemm_kquant_low.h"
#include "cpu/gemm_legacy_tile.h"
#include "cpu/gemm_kquant8_tile.h"
#include "cpu/gemm_signed8_tile.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "quant/blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_GEMM_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu {
namespace {

// kIQ4NL, kIQ4XS and kQ3K only for the default tiles (RowsSigned8, RowsKQuant8): KindOf leaves
// IQ4_NL to gemm_iq4nl and IQ4_XS and Q3_K to gemm_kquant_low.
enum class Kind { kQ4_0, kQ5_0, kQ8_0, kQ4_1, kQ5_1, kQ4K, kQ5K, kQ6K, kIQ4NL, kIQ4XS, kQ3K, kNone };

Kind KindOf(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0: return Kind::kQ4_0;
    case GgmlType::Q5_0: return Kind::kQ5_0;
    case GgmlType::Q8_0: return Kind::kQ8_0;
    case GgmlType::Q4_1: return Kind::kQ4_1;
    case GgmlType::Q5_1: return Kind::kQ5_1;
    case GgmlType::Q4_K: return Kind::kQ4K;
    case GgmlType::Q5_K: return Kind::kQ5K;
    case GgmlType::Q6_K: return Kind::kQ6K;
    default: return Kind::kNone;
  }
}

constexpr bool IsK(Kind k) { return k == Kind::kQ4K || k == Kind::kQ5K || k == Kind::kQ6K; }
constexpr bool IsSigned(Kind k) { return k == Kind::kQ4_0 || k == Kind::kQ5_0 || k == Kind::kQ8_0; }
constexpr bool HasMin(Kind k) { return k == Kind::kQ4_1 || k == Kind::kQ5_1; }

using legacy_tile::kRows;  // weight rows per panel (the K-quant tiles use the same shape)
using legacy_tile::kToks;  // tokens per inner step

// The activation format a kind's rows come in (gemm_acts.h).
constexpr ActFormat FormatOf(Kind k) {
  return IsK(k) ? ActFormat::kQ8K : HasMin(k) ? ActFormat::kQ8_1 : ActFormat::kQ8_0;
}

#if defined(EMBER_GEMM_AVX2)

EMBER_AVX2 inline float H2F(uint16_t h) { return _cvtsh_ss(h); }

// 16 bytes of packed nibbles -> 32 bytes: low nibbles (elements 0..15), then high (16..31).
EMBER_AVX2 inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, 0xFF where bit j is set.
EMBER_AVX2 inline __m256i BitsToBytes(const uint8_t* p) {
  uint32_t x32;
  std::memcpy(&x32, p, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                         0x0101010101010101, 0x0000000000000000);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x32)), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

// ---------------------------------------------------------------------------------------------
// Legacy types (32-element blocks).

// Block b of a weight row: its 32 codes as bytes (signed q - offset for Q4_0/Q5_0/Q8_0, else the
// unsigned code), its scale and min.
template <Kind K>
EMBER_AVX2 inline __m256i DecodeLegacyBlock(const uint8_t* row, int64_t b, float& d, float& m) {
  if constexpr (K == Kind::kQ4_0) {
    const auto& x = reinterpret_cast<const BlockQ4_0*>(row)[b];
    d = H2F(x.d);
    return _mm256_sub_epi8(Nibbles(x.qs), _mm256_set1_epi8(8));
  } else if constexpr (K == Kind::kQ5_0) {
    const auto& x = reinterpret_cast<const BlockQ5_0*>(row)[b];
    const __m256i hi = _mm256_andnot_si256(BitsToBytes(x.qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    d = H2F(x.d);
    return _mm256_or_si256(Nibbles(x.qs), hi);
  } else if constexpr (K == Kind::kQ8_0) {
    const auto& x = reinterpret_cast<const BlockQ8_0*>(row)[b];
    d = H2F(x.d);
    return Load(x.qs);
  } else if constexpr (K == Kind::kIQ4NL) {
    const auto& x = reinterpret_cast<const BlockIQ4NL*>(row)[b];
    d = H2F(x.d);
    const __m256i values = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    return _mm256_shuffle_epi8(values, Nibbles(x.qs));
  } else if constexpr (K == Kind::kQ4_1) {
    const auto& x = reinterpret_cast<const BlockQ4_1*>(row)[b];
    d = H2F(x.d);
    m = H2F(x.m);
    return Nibbles(x.qs);
  } else {
    const auto& x = reinterpret_cast<const BlockQ5_1*>(row)[b];
    d = H2F(x.d);
    m = H2F(x.m);
    return _mm256_or_si256(Nibbles(x.qs), _mm256_and_si256(BitsToBytes(x.qh), _mm256_set1_epi8(0x10)));
  }
}

// Unpacks one weight row (or zeros, for the padding rows of the last panel) into slot `r`.
template <Kind K>
EMBER_AVX2 void UnpackLegacyRow(const uint8_t* row, int64_t nb, int r, const legacy_tile::Panel& p) {
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* q = p.q + (b * kRows + r) * 32;
    float d = 0.0f, m = 0.0f;
    __m256i code = _mm256_setzero_si256();
    if (row != nullptr) code = DecodeLegacyBlock<K>(row, b, d, m);
    StoreA(q, code);
    if constexpr (IsSigned(K)) StoreA(p.aq + (b * kRows + r) * 32, _mm256_sign_epi8(code, code));
    p.dx8[b * 8 + r] = p.dx8[b * 8 + 4 + r] = d;
    if constexpr (HasMin(K)) p.m8[b * 8 + r] = p.m8[b * 8 + 4 + r] = m;
  }
}

// Rows [p0, p0 + n_rows) (n_rows <= 8; the rest zeros) into an 8-row panel of the fast signed
// tile (gemm_signed8_tile.h).
// Q4_0 and Q5_0 take the offset tile (unsigned codes q + 8 / q + 16; padding rows get scale 0
// and are never written out); Q8_0 the sign-trick one with AVX2, and with VNNI the offset tile
// with q + 128 (0..255: vpdpbusd takes any unsigned byte, where maddubs's 16-bit pair sums would
// saturate), one vpdpbusd per step and token instead of a sign and a vpdpbusd. IQ4_NL's levels
// (-127..113, one F16 scale per 32) go as Q8_0's codes.
template <Kind K, class Dot>
constexpr int OffsetShift() {
  if constexpr (K == Kind::kQ8_0 || K == Kind::kIQ4NL) return std::is_same_v<Dot, int8_step::MaddDot> ? 0 : 7;
  return K == Kind::kQ4_0 ? 3 : K == Kind::kQ5_0 ? 4 : 0;
}

template <Kind K, class Dot>
EMBER_AVX2 void UnpackSigned8Panel(const uint8_t* w, uint64_t row_bytes, int64_t p0, int n_rows, int64_t nb,
                                   const signed8_tile::Panel& p) {
  constexpr int kShift = OffsetShift<K, Dot>();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i c[8];
    alignas(32) float d[8];
    for (int r = 0; r < 8; ++r) {
      float m = 0.0f;
      d[r] = 0.0f;
      c[r] = r < n_rows ? DecodeLegacyBlock<K>(w + static_cast<uint64_t>(p0 + r) * row_bytes, b, d[r], m)
                        : _mm256_setzero_si256();
      if constexpr (kShift != 0) c[r] = _mm256_add_epi8(c[r], _mm256_set1_epi8(static_cast<char>(1 << kShift)));
    }
    signed8_tile::StoreBlock<kShift == 0>(p, b, c, d);
  }
}

// acc += x (int32 lanes) in acc's own register: GCC otherwise adds into a new register and copies
// it back every step, one more live register per accumulator, and spilled one of the K tile's 8.
EMBER_AVX2 inline void AddInto(__m256i& acc, __m256i x) { __asm__("vpaddd %1, %0, %0" : "+v"(acc) : "v"(x)); }

// ---------------------------------------------------------------------------------------------
// K-quants (256-element super-blocks of 8 sub-blocks of 32).

struct KPanel {
  uint8_t* q;      // [sb][row][8][32] codes 0..15 / 0..31 / 0..63
  int16_t* sc;     // [sb][row][8][16] the madd multiplier of each 32-code chunk
  float* xd;       // [sb][row]
  float* xdmin;    // [sb][row]
  int16_t* mn;     // [sb][row][8] Q4_K/Q5_K mins
  int16_t* sc16;   // [sb][row][16] Q6_K scales
};

uint64_t KPanelBytes(int64_t nsb) {
  const auto n = static_cast<uint64_t>(nsb) * kRows;
  return 2 * AlignUp(n * 256) + 2 * AlignUp(n * 4) + AlignUp(n * 16) + AlignUp(n * 32);
}

KPanel KPanelAt(uint8_t* p, int64_t nsb) {
  const auto n = static_cast<uint64_t>(nsb) * kRows;
  KPanel kp;
  kp.q = p;
  p += AlignUp(n * 256);
  kp.sc = reinterpret_cast<int16_t*>(p);
  p += AlignUp(n * 256);
  kp.xd = reinterpret_cast<float*>(p);
  p += AlignUp(n * 4);
  kp.xdmin = reinterpret_cast<float*>(p);
  p += AlignUp(n * 4);
  kp.mn = reinterpret_cast<int16_t*>(p);
  p += AlignUp(n * 16);
  kp.sc16 = reinterpret_cast<int16_t*>(p);
  return kp;
}

// A Q6_K super-block's 256 codes (0..63, the stored q + 32) in element order: c[k] holds
// elements 32k..32k+31.
EMBER_AVX2 inline void DecodeQ6KCodes(const BlockQ6K& x, __m256i* c) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = x.ql + 64 * half;
    const __m256i qh = Load(x.qh + 32 * half);
    const __m256i ql0 = Load(ql);
    const __m256i ql1 = Load(ql + 32);
    c[4 * half + 0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
    c[4 * half + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                      _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
    c[4 * half + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                      _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
    c[4 * half + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                      _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
  }
}

// A Q3_K super-block's 256 codes as Q6_K codes (value + 32: (q & 3) + 4 x the hmask bit + 28,
// 28..35) in element order: c[k] holds elements 32k..32k+31 (the 2-bit fields at shift 2(k % 4)
// of qs[32(k / 4) ..], with bit k of hmask).
EMBER_AVX2 inline void DecodeQ3KAsQ6KCodes(const BlockQ3K& x, __m256i* c) {
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i hbits = Load(x.hmask);
  for (int k = 0; k < 8; ++k) {
    const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(Load(x.qs + 32 * (k / 4)), 2 * (k % 4)), m3);
    const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << k));
    const __m256i h4 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit), bit), _mm256_set1_epi8(4));
    c[k] = _mm256_add_epi8(_mm256_or_si256(lo, h4), _mm256_set1_epi8(28));
  }
}

// A Q4_K or Q5_K super-block's 256 codes (0..15, 0..31) in element order: c[k] holds elements
// 32k..32k+31 (the low nibbles of qs[32j..32j+31] are elements 64j.., the high ones 64j+32..).
template <Kind K, class Block>
EMBER_AVX2 inline void DecodeQ45KCodes(const Block& x, __m256i* c) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i one = _mm256_set1_epi8(1);
  __m256i qh = _mm256_setzero_si256();
  if constexpr (K == Kind::kQ5K) qh = Load(x.qh);
  for (int j = 0; j < 4; ++j) {
    const __m256i v = Load(x.qs + 32 * j);
    __m256i lo = _mm256_and_si256(v, m4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    if constexpr (K == Kind::kQ5K) {
      lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));
      hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4));
    }
    c[2 * j] = lo;
    c[2 * j + 1] = hi;
  }
}

template <Kind K>
EMBER_AVX2 void UnpackKRow(const uint8_t* row, int64_t nsb, int r, const KPanel& p) {
  for (int64_t i = 0; i < nsb; ++i) {
    const int64_t slot = i * kRows + r;
    uint8_t* q = p.q + slot * 256;
    int16_t* sc = p.sc + slot * 128;
    if (row == nullptr) {
      std::memset(q, 0, 256);
      std::memset(sc, 0, 256);
      p.xd[slot] = p.xdmin[slot] = 0.0f;
      std::memset(p.mn + slot * 8, 0, 16);
      std::memset(p.sc16 + slot * 16, 0, 32);
      continue;
    }
    if constexpr (K == Kind::kQ6K) {
      const auto& x = reinterpret_cast<const BlockQ6K*>(row)[i];
      __m256i c[8];
      DecodeQ6KCodes(x, c);
      for (int k = 0; k < 8; ++k) StoreA(q + 32 * k, c[k]);
      // Chunk j covers elements 32j..32j+31: scale sc[2j] for its first 16, sc[2j+1] after.
      for (int j = 0; j < 8; ++j) {
        for (int l = 0; l < 8; ++l) {
          sc[16 * j + l] = x.scales[2 * j];
          sc[16 * j + 8 + l] = x.scales[2 * j + 1];
        }
      }
      for (int j = 0; j < 16; ++j) p.sc16[slot * 16 + j] = x.scales[j];
      p.xd[slot] = H2F(x.d);
    } else {
      using Block = std::conditional_t<K == Kind::kQ4K, BlockQ4K, BlockQ5K>;
      const auto& x = reinterpret_cast<const Block*>(row)[i];
      uint8_t s[8], m[8];
      UnpackScalesMinsK4(x.scales, s, m);
      __m256i c[8];
      DecodeQ45KCodes<K>(x, c);
      for (int k = 0; k < 8; ++k) StoreA(q + 32 * k, c[k]);
      for (int j = 0; j < 8; ++j) {
        for (int l = 0; l < 16; ++l) sc[16 * j + l] = s[j];
        p.mn[slot * 8 + j] = m[j];
      }
      p.xd[slot] = H2F(x.d);
      p.xdmin[slot] = H2F(x.dmin);
    }
  }
}

// Chunk j of panel slot `slot` against two tokens' codes (those read as memory operands). With
// the code and multiplier vectors in registers and the sums added in place, a chunk of 4 rows
// takes 16 loads instead of 22 and no spill; llvm-mca (znver3) puts the loop at the bound of the
// 16 multiplies (8 cycles per chunk, was 11). One core, 5632 x 2048 x 128 tokens: Q6_K 49.5 ->
// 57-59 GMAC/s, Q5_K 38 -> 42.
EMBER_AVX2 inline void KRowStep(const KPanel& p, int64_t slot, int j, const int8_t* y0, const int8_t* y1,
                                __m256i& c0, __m256i& c1) {
  __m256i q = LoadA(p.q + slot * 256 + 32 * j);
  __m256i s = LoadA(p.sc + slot * 128 + 16 * j);
  KeepInRegister(q);
  KeepInRegister(s);
  AddInto(c0, _mm256_madd_epi16(_mm256_maddubs_epi16(q, LoadA(y0)), s));
  AddInto(c1, _mm256_madd_epi16(_mm256_maddubs_epi16(q, LoadA(y1)), s));
}

// 4 rows x 2 tokens of a K-quant: out[4 * token + row].
template <Kind K>
EMBER_AVX2 void KTile(const KPanel& p, const GemmActs& a, int64_t ta, int64_t tb, float* out) {
  const int64_t nsb = a.nb;
  const int64_t tok[kToks] = {ta, tb};
  __m256 acc[kRows][kToks];
  __m128 acc_m[kRows][kToks];
  float summs[kRows][kToks];
  for (int r = 0; r < kRows; ++r) {
    for (int t = 0; t < kToks; ++t) {
      acc[r][t] = _mm256_setzero_ps();
      acc_m[r][t] = _mm_setzero_ps();
      summs[r][t] = 0.0f;
    }
  }
  for (int64_t i = 0; i < nsb; ++i) {
    const int8_t* ya = a.qs + (ta * nsb + i) * 256;
    const int8_t* yb = a.qs + (tb * nsb + i) * 256;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int j = 0; j < 8; ++j) {
      const int8_t* y0 = ya + 32 * j;
      const int8_t* y1 = yb + 32 * j;
      KRowStep(p, i * kRows + 0, j, y0, y1, c00, c01);
      KRowStep(p, i * kRows + 1, j, y0, y1, c10, c11);
      KRowStep(p, i * kRows + 2, j, y0, y1, c20, c21);
      KRowStep(p, i * kRows + 3, j, y0, y1, c30, c31);
    }
    const __m256i sumi[kRows][kToks] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
    for (int r = 0; r < kRows; ++r) {
      const int64_t slot = i * kRows + r;
      for (int t = 0; t < kToks; ++t) {
        const int64_t tb_i = tok[t] * nsb + i;
        const float yd = a.d4[tb_i];
        __m256i s = sumi[r][t];
        if constexpr (K == Kind::kQ6K) {
          // Codes are stored +32: subtract 32 * (bsums . scales) lane-wise, as dot_avx2.cpp.
          const __m256i bs = _mm256_madd_epi16(Load(a.bs + tb_i * 16), Load(p.sc16 + slot * 16));
          s = _mm256_sub_epi32(s, _mm256_slli_epi32(bs, 5));
        } else {
          const float dmin = -yd * p.xdmin[slot];
          const __m128i prod = _mm_madd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.mn + slot * 8)),
                                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.bsp + tb_i * 8)));
          if constexpr (K == Kind::kQ4K) {
            acc_m[r][t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m[r][t]);
          } else {
            alignas(16) int32_t pr[4];
            _mm_store_si128(reinterpret_cast<__m128i*>(pr), prod);
            summs[r][t] += dmin * static_cast<float>(pr[0] + pr[1] + pr[2] + pr[3]);
          }
        }
        acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(yd * p.xd[slot]), _mm256_cvtepi32_ps(s), acc[r][t]);
      }
    }
  }
  for (int t = 0; t < kToks; ++t) {
    for (int r = 0; r < kRows; ++r) {
      float v = Hsum(acc[r][t]);
      if constexpr (K == Kind::kQ4K) {
        __m128 m = acc_m[r][t];
        m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        v += _mm_cvtss_f32(m);
      } else if constexpr (K == Kind::kQ5K) {
        v += summs[r][t];
      }
      out[4 * t + r] = v;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Driver: chunks of tokens small enough to stay in L2, panels of 4 rows unpacked once per chunk.

// The 8-row tiles' driver (gemm_signed8_tile.h, gemm_kquant8_tile.h): kPanels panels of 8 rows
// (two for the 16-row tiles) filled by unpack(panel, p0, n_rows), 4 tokens per step by
// tile(ts, out) (the last step repeats its final token), token chunks of about 384 KiB of codes
// (code_bytes per token; for Q8_0, 192 KiB left the panel unpacking at 8.5% of a TinyLlama
// prompt, and 384, 768 and 1536 KiB ran the same).
template <int kPanels = 1, class Unpack, class TileFn>
EMBER_AVX2 void RowsEightRowTile(int64_t code_bytes, int64_t r0, int64_t r1, int64_t n_tok, float* y, int64_t ldy,
                                 Unpack unpack, TileFn tile) {
  constexpr int kR = 8 * kPanels, kT = 4;
  static_assert(signed8_tile::kRows == 8 && signed8_tile::kToks == kT);
  static_assert(kquant8_tile::kRows == 8 && kquant8_tile::kToks == kT);
  const int64_t chunk = std::max<int64_t>(8, (384 * 1024 / std::max<int64_t>(1, code_bytes)) / kT * kT);
  alignas(64) float out[kR * kT];
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    for (int64_t p0 = r0; p0 < r1; p0 += kR) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kR, r1 - p0));
      for (int i = 0; i < kPanels; ++i) unpack(i, p0 + 8 * i, std::clamp(n_rows - 8 * i, 0, 8));
      for (int64_t t = c0; t < c1; t += kT) {
        const int64_t ts[kT] = {t, std::min(t + 1, c1 - 1), std::min(t + 2, c1 - 1), std::min(t + 3, c1 - 1)};
        tile(ts, out);
        const int64_t n_t = std::min<int64_t>(kT, c1 - t);
        for (int i = 0; i < n_t; ++i) {
          float* yt = y + (t + i) * ldy + p0;
          if (n_rows == kR) {
            for (int r = 0; r < kR; r += 8) _mm256_storeu_ps(yt + r, _mm256_load_ps(out + kR * i + r));
          } else {
            for (int r = 0; r < n_rows; ++r) yt[r] = out[kR * i + r];
          }
        }
      }
    }
  }
}

// The fast signed tile (Q4_0, Q5_0, Q8_0).
template <Kind K, class Dot>
EMBER_AVX2 void RowsSigned8(const GemmActs& a, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                            int64_t n_tok, float* y, int64_t ldy) {
  const int64_t nb = a.nb;
  const signed8_tile::Panel sp = signed8_tile::PanelAt(ThreadScratch(signed8_tile::PanelBytes(nb)), nb);
  RowsEightRowTile(
      nb * 32, r0, r1, n_tok, y, ldy,
      [&](int, int64_t p0, int n_rows) { UnpackSigned8Panel<K, Dot>(w, row_bytes, p0, n_rows, nb, sp); },
      [&](const int64_t* ts, float* out) {
        if constexpr (OffsetShift<K, Dot>() != 0) {
          signed8_tile::OffsetTile<Dot, OffsetShift<K, Dot>()>(sp, a, ts, out);
        } else {
          signed8_tile::Tile<Dot>(sp, a, ts, out);
        }
      });
}

// Rows [p0, p0 + n_rows) (n_rows <= 8; the rest zeros, scale 0) into a Q6_K or Q5_K 8-row panel
// (gemm_kquant8_tile.h). Q3_K goes in as Q6_K: its value (q - 4) x (scale - 32) x d is a Q6_K
// value with the code q + 28 and the scale (scale - 32), so Q6_K's formula gives its exact
// integers (codes <= 35, scales -32..31: within Q6_K's bounds).
template <Kind K>
EMBER_AVX2 void UnpackKQuant8Panel(const uint8_t* w, uint64_t row_bytes, int64_t p0, int n_rows, int64_t nb,
                                   const kquant8_tile::Panel& p) {
  for (int64_t b = 0; b < nb; ++b) {
    __m256i c[8][8];
    alignas(32) float d[8], dmin[8];
    int8_t sc6[8][16];
    uint8_t sc5[8][8], mn5[8][8];
    for (int r = 0; r < 8; ++r) {
      d[r] = dmin[r] = 0.0f;
      if (r >= n_rows) {
        for (int k = 0; k < 8; ++k) c[r][k] = _mm256_setzero_si256();
        std::memset(sc6[r], 0, 16);
        std::memset(sc5[r], 0, 8);
        std::memset(mn5[r], 0, 8);
        continue;
      }
      const uint8_t* row = w + static_cast<uint64_t>(p0 + r) * row_bytes;
      if constexpr (K == Kind::kQ6K) {
        const auto& x = reinterpret_cast<const BlockQ6K*>(row)[b];
        DecodeQ6KCodes(x, c[r]);
        std::memcpy(sc6[r], x.scales, 16);
        d[r] = H2F(x.d);
      } else if constexpr (K == Kind::kQ3K) {
        const auto& x = reinterpret_cast<const BlockQ3K*>(row)[b];
        DecodeQ3KAsQ6KCodes(x, c[r]);
        UnpackScalesQ3K(x.scales, sc6[r]);
        d[r] = H2F(x.d);
      } else {
        const auto& x = reinterpret_cast<const BlockQ5K*>(row)[b];
        DecodeQ45KCodes<K>(x, c[r]);
        UnpackScalesMinsK4(x.scales, sc5[r], mn5[r]);
        d[r] = H2F(x.d);
        dmin[r] = H2F(x.dmin);
      }
    }
    kquant8_tile::StoreCodes(p, b, c);
    if constexpr (K == Kind::kQ6K || K == Kind::kQ3K) {
      kquant8_tile::StoreQ6KScales(p, b, sc6, d);
    } else {
      kquant8_tile::StoreQ5KScales(p, b, sc5, mn5, d, dmin);
    }
  }
}

// IQ4_XS's default prompt tile on CPUs with VNNI: the Q5_K 8-row tile on levels + 128
// (gemm_kquant8_tile.h, StoreIQ4XSScales). The exact 4-row tile (gemm_kquant_low_avx2.cpp) keeps
// the row dot's 8 lanes per (row, token), so each 32-element chunk costs a sign move, maddubs,
// madd by the scale and an add per token, and ran at 188-210 GFLOP/s on Zen 4 (TinyLlama-shaped
// pp512 95-100 t/s against llama.cpp's 210, whose prompt kernels for the K-quants and IQ types
// moved to a tiled path in 2026); here 8 rows share each step and the scale is one 32-bit
// multiply per sub-block and token. Not on AVX2 alone: maddubs would saturate on the offset
// levels. Results differ from the row dots' in the last bits (one rounding per super-block).
EMBER_AVX2 void UnpackIQ4XS8Panel(const uint8_t* w, uint64_t row_bytes, int64_t p0, int n_rows, int64_t nb,
                                  const kquant8_tile::Panel& p) {
  const __m128i values = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
  const __m128i m4 = _mm_set1_epi8(0x0F);
  const __m256i offset = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; ++b) {
    __m256i c[8][8];
    alignas(32) float d[8];
    int16_t ls[8][8];
    for (int r = 0; r < 8; ++r) {
      d[r] = 0.0f;
      if (r >= n_rows) {
        for (int k = 0; k < 8; ++k) c[r][k] = _mm256_setzero_si256();
        std::memset(ls[r], 0, sizeof(ls[r]));
        continue;
      }
      const auto& x = reinterpret_cast<const BlockIQ4XS*>(w + static_cast<uint64_t>(p0 + r) * row_bytes)[b];
      for (int ib = 0; ib < 8; ++ib) {
        const int lo = (x.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
        const int hi = (x.scales_h >> (2 * ib)) & 0x03;
        ls[r][ib] = static_cast<int16_t>((lo | (hi << 4)) - 32);
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.qs + 16 * ib));
        const __m256i lv = _mm256_set_m128i(_mm_shuffle_epi8(values, _mm_and_si128(_mm_srli_epi16(v, 4), m4)),
                                            _mm_shuffle_epi8(values, _mm_and_si128(v, m4)));
        c[r][ib] = _mm256_xor_si256(lv, offset);  // level + 128
      }
      d[r] = H2F(x.d);
    }
    kquant8_tile::StoreCodes(p, b, c);
    kquant8_tile::StoreIQ4XSScales(p, b, ls, d);
  }
}

// The K-quant 8-row tile (Q6_K, Q5_K, Q3_K as Q6_K, and IQ4_XS on VNNI: UnpackIQ4XS8Panel).
template <Kind K, class Dot>
EMBER_AVX2 void RowsKQuant8(const GemmActs& a, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                            int64_t n_tok, float* y, int64_t ldy) {
  const int64_t nb = a.nb;
  const uint64_t panel_bytes = kquant8_tile::PanelBytes(nb);
  uint8_t* scratch = ThreadScratch(2 * panel_bytes);
  const kquant8_tile::Panel tp[2] = {kquant8_tile::PanelAt(scratch, nb), kquant8_tile::PanelAt(scratch + panel_bytes, nb)};
  const auto unpack = [&](int i, int64_t p0, int n_rows) {
    if constexpr (K == Kind::kIQ4XS) {
      UnpackIQ4XS8Panel(w, row_bytes, p0, n_rows, nb, tp[i]);
    } else {
      UnpackKQuant8Panel<K>(w, row_bytes, p0, n_rows, nb, tp[i]);
    }
  };
  constexpr bool kFive = K == Kind::kQ5K || K == Kind::kIQ4XS;  // Q5_K's formula (mins, dmin)
  static_assert(K != Kind::kIQ4XS || !std::is_same_v<Dot, int8_step::MaddDot>, "offset IQ4_XS levels need vpdpbusd");
#if defined(EMBER_K16_TILE)
  // With AVX-512 VNNI, whole 16-row steps take the 512-bit tile; the last rows (fewer than 16)
  // the 8-row one.
  if constexpr (std::is_same_v<Dot, int8_step::VnniDot>) {
    const int64_t r16 = r0 + (r1 - r0) / 16 * 16;
    RowsEightRowTile<2>(nb * 256, r0, r16, n_tok, y, ldy, unpack, [&](const int64_t* ts, float* out) {
      kquant8_tile::Tile16<kFive>(tp[0], tp[1], a, ts, out);
    });
    r0 = r16;
    if (r0 == r1) return;
  }
#endif
  RowsEightRowTile(nb * 256, r0, r1, n_tok, y, ldy, unpack,
                   [&](const int64_t* ts, float* out) { kquant8_tile::Tile<Dot, kFive>(tp[0], a, ts, out); });
}

// Rows [p0, p0 + n_rows) (n_rows <= 32; the rest zeros, scale 0) into a 32-row AMX panel
// (gemm_amx_tile.h): signed codes, one 32-byte row per (block, row).
template <Kind K>
EMBER_AVX2 void UnpackAmxPanel(const uint8_t* w, uint64_t row_bytes, int64_t p0, int n_rows, int64_t nb,
                               const amx_tile::Panel& p) {
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < amx_tile::kRows; ++r) {
      float d = 0.0f, m = 0.0f;
      const __m256i c = r < n_rows ? DecodeLegacyBlock<K>(w + static_cast<uint64_t>(p0 + r) * row_bytes, b, d, m)
                                   : _mm256_setzero_si256();
      StoreA(p.q + (b * amx_tile::kRows + r) * 32, c);
      p.d[b * amx_tile::kRows + r] = d;
    }
  }
}

// Batches at least this long take the AMX tile (a 32-token tile; shorter ones would mostly
// multiply padding). A choice made without an AMX machine to measure on.
constexpr int64_t kAmxMinTokens = 32;

// The AMX driver: token chunks of whole 32-token groups (about 192 KiB of packed activations,
// kept in L2 while every 32-row panel of the range passes over them), each panel unpacked once
// per chunk. Step is amx_tile::AmxInt8 or its model.
template <Kind K, class Step>
EMBER_AVX2 void RowsAmx(const GemmActs& a, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                        int64_t n_tok, float* y, int64_t ldy) {
  using amx_tile::kRows;
  using amx_tile::kToks;
  const int64_t nb = a.nb;
  const uint64_t panel_bytes = amx_tile::PanelBytes(nb), acts_bytes = amx_tile::ActsBytes(nb);
  const int64_t n_groups = (n_tok + kToks - 1) / kToks;
  const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>((192u << 10) / acts_bytes), 1, n_groups);
  uint8_t* scratch = ThreadScratch(panel_bytes + static_cast<uint64_t>(chunk) * acts_bytes);
  const amx_tile::Panel panel = amx_tile::PanelAt(scratch, nb);
  auto acts_of = [&](int64_t i) { return amx_tile::ActsAt(scratch + panel_bytes + static_cast<uint64_t>(i) * acts_bytes, nb); };
  alignas(64) float out[kRows * kToks];
  Step::Begin();
  for (int64_t g0 = 0; g0 < n_groups; g0 += chunk) {
    const int64_t g1 = std::min(n_groups, g0 + chunk);
    for (int64_t g = g0; g < g1; ++g) {
      amx_tile::PackActs(a, g * kToks, static_cast<int>(std::min<int64_t>(kToks, n_tok - g * kToks)), acts_of(g - g0));
    }
    for (int64_t p0 = r0; p0 < r1; p0 += kRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kRows, r1 - p0));
      UnpackAmxPanel<K>(w, row_bytes, p0, n_rows, nb, panel);
      for (int64_t g = g0; g < g1; ++g) {
        amx_tile::Tile<Step>(panel, acts_of(g - g0), nb, out);
        const int64_t n_t = std::min<int64_t>(kToks, n_tok - g * kToks);
        for (int64_t t = 0; t < n_t; ++t) {
          float* yt = y + (g * kToks + t) * ldy + p0;
          for (int r = 0; r < n_rows; ++r) yt[r] = out[kToks * r + t];
        }
      }
    }
  }
  Step::End();
}

// Runs run.template operator()<Dot>() with the int8 step for `isa`: the scalar model of vpdpbusd
// when the tests ask for it, VEX or EVEX vpdpbusd where the CPU has it, else maddubs if kMadd
// (tiles whose bytes would saturate maddubs pass false). Returns whether it ran.
template <bool kMadd, class Run>
bool WithInt8Step(Isa isa, Run&& run) {
  if (VnniModelForTests()) {
    run.template operator()<int8_step::VnniModel>();
  } else if (isa == Isa::kAvxVnni) {
    run.template operator()<int8_step::VexVnniDot>();
  } else if (isa >= Isa::kAvx512) {
    run.template operator()<int8_step::VnniDot>();
  } else if constexpr (kMadd) {
    run.template operator()<int8_step::MaddDot>();
  } else {
    return false;
  }
  return true;
}

template <Kind K, class Dot>
EMBER_AVX2 void RowsWithStep(const GemmActs& a, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0,
                             int64_t r1, int64_t n_tok, float* y, int64_t ldy) {
  if constexpr (IsSigned(K)) {
    if (!ExactGemm()) return RowsSigned8<K, Dot>(a, row_bytes, w, r0, r1, n_tok, y, ldy);
  }
  if constexpr (K == Kind::kQ6K || K == Kind::kQ5K) {
    if (!ExactGemm()) return RowsKQuant8<K, Dot>(a, row_bytes, w, r0, r1, n_tok, y, ldy);
  }
  const int64_t nb = a.nb;
  // About 192 KiB of activation codes per chunk.
  const int64_t chunk = std::max<int64_t>(8, (192 * 1024 / std::max<int64_t>(1, n_in)) / 2 * 2);
  uint8_t* scratch = ThreadScratch(IsK(K) ? KPanelBytes(nb) : legacy_tile::PanelBytes(nb));
  alignas(32) float out[kRows * kToks];
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    for (int64_t p0 = r0; p0 < r1; p0 += kRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kRows, r1 - p0));
      if constexpr (IsK(K)) {
        const KPanel kp = KPanelAt(scratch, nb);
        for (int r = 0; r < kRows; ++r) {
          UnpackKRow<K>(r < n_rows ? w + static_cast<uint64_t>(p0 + r) * row_bytes : nullptr, nb, r, kp);
        }
        for (int64_t t = c0; t < c1; t += kToks) {
          const int64_t tb = std::min(t + 1, c1 - 1);
          KTile<K>(kp, a, t, tb, out);
          for (int tt = 0; tt <= tb - t; ++tt) {
            for (int r = 0; r < n_rows; ++r) y[(t + tt) * ldy + p0 + r] = out[4 * tt + r];
          }
        }
      } else {
        const legacy_tile::Panel lp = legacy_tile::PanelAt(scratch, nb);
        for (int r = 0; r < kRows; ++r) {
          UnpackLegacyRow<K>(r < n_rows ? w + static_cast<uint64_t>(p0 + r) * row_bytes : nullptr, nb, r, lp);
        }
        for (int64_t t = c0; t < c1; t += kToks) {
          const int64_t tb = std::min(t + 1, c1 - 1);
          legacy_tile::Tile<Dot, IsSigned(K), HasMin(K)>(lp, a, t, tb, out);
          for (int tt = 0; tt <= tb - t; ++tt) {
            for (int r = 0; r < n_rows; ++r) y[(t + tt) * ldy + p0 + r] = out[4 * tt + r];
          }
        }
      }
    }
  }
}

// The integer step for `isa` (int8_dot_step.h). The exact K-quant tile has only the AVX2 one:
// each 4-byte lane meets a different 16-element sub-block scale in every chunk, so vpdpbusd
// would replace maddubs + madd by vpdpbusd + a 32-bit multiply and save nothing. The default
// 8-row tiles of Q6_K and Q5_K (gemm_kquant8_tile.h) take VNNI.
template <Kind K>
EMBER_AVX2 void RowsAvx2(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                         const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  const GemmActs a = GemmActsAt(FormatOf(K), n_in, n_tok, packed);
  if constexpr (IsSigned(K)) {
    if (!ExactGemm() && n_tok >= kAmxMinTokens) {
      if (AmxModelForTests()) return RowsAmx<K, amx_tile::AmxInt8Model>(a, row_bytes, w, r0, r1, n_tok, y, ldy);
      if (isa >= Isa::kAmx) return RowsAmx<K, amx_tile::AmxInt8>(a, row_bytes, w, r0, r1, n_tok, y, ldy);
    }
  }
  if constexpr (!IsK(K) || K == Kind::kQ6K || K == Kind::kQ5K) {
    WithInt8Step<true>(isa, [&]<class Dot>() { RowsWithStep<K, Dot>(a, n_in, row_bytes, w, r0, r1, n_tok, y, ldy); });
  } else {
    RowsWithStep<K, int8_step::MaddDot>(a, n_in, row_bytes, w, r0, r1, n_tok, y, ldy);
  }
}

#endif  // EMBER_GEMM_AVX2

}  // namespace

namespace {
// -1: not yet read from the environment.
std::atomic<int> g_exact_gemm{-1};
}  // namespace

bool ExactGemm() {
  int v = g_exact_gemm.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("EMBER_EXACT_GEMM");
    v = (e != nullptr && *e != '\0' && std::strcmp(e, "0") != 0) ? 1 : 0;
    g_exact_gemm.store(v, std::memory_order_relaxed);
  }
  return v == 1;
}

void SetExactGemm(bool exact) { g_exact_gemm.store(exact ? 1 : 0, std::memory_order_relaxed); }

namespace {
std::atomic<bool> g_vnni_model{false};
}  // namespace

void SetVnniModelForTests(bool on) { g_vnni_model.store(on, std::memory_order_relaxed); }
bool VnniModelForTests() { return g_vnni_model.load(std::memory_order_relaxed); }

namespace {
std::atomic<bool> g_amx_model{false};
}  // namespace

void SetAmxModelForTests(bool on) { g_amx_model.store(on, std::memory_order_relaxed); }
bool AmxModelForTests() { return g_amx_model.load(std::memory_order_relaxed); }

bool HasGemm(GgmlType type, Isa isa) {
  if (float_gemm::Handles(type)) return float_gemm::Has(type, isa);
  if (iq4nl_gemm::Handles(type)) return iq4nl_gemm::Has(isa);
  if (klow_gemm::Handles(type)) return klow_gemm::Has(type, isa);
#if defined(EMBER_GEMM_AVX2)
  return isa >= Isa::kAvx2 && KindOf(type) != Kind::kNone;
#else
  (void)type;
  (void)isa;
  return false;
#endif
}

uint64_t GemmPackedBytes(GgmlType type, int64_t n_in, int64_t n_tok) {
  if (float_gemm::Handles(type)) return float_gemm::PackedBytes(type, n_in, n_tok);
  if (iq4nl_gemm::Handles(type)) return iq4nl_gemm::PackedBytes(n_in, n_tok);
  if (klow_gemm::Handles(type)) return klow_gemm::PackedBytes(n_in, n_tok);
  return GemmActsBytes(FormatOf(KindOf(type)), n_in, n_tok);
}

void GemmPackActs(GgmlType type, int64_t n_in, int64_t n_tok, const uint8_t* act,
                  uint64_t act_row_bytes, int64_t t0, int64_t t1, uint8_t* packed) {
  if (float_gemm::Handles(type)) return float_gemm::PackActs(type, n_in, n_tok, act, act_row_bytes, t0, t1, packed);
  if (iq4nl_gemm::Handles(type)) return iq4nl_gemm::PackActs(n_in, n_tok, act, act_row_bytes, t0, t1, packed);
  if (klow_gemm::Handles(type)) return klow_gemm::PackActs(n_in, n_tok, act, act_row_bytes, t0, t1, packed);
#if defined(EMBER_GEMM_AVX2)
  const Kind kind = KindOf(type);
  EMBER_CHECK(kind != Kind::kNone);
  PackGemmActs(FormatOf(kind), n_in, n_tok, act, act_row_bytes, t0, t1, packed);
#else
  (void)type, (void)n_in, (void)n_tok, (void)act, (void)act_row_bytes, (void)t0, (void)t1, (void)packed;
  Fail("no tiled CPU kernels in this build");
#endif
}

void GemmRows(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0,
              int64_t r1, const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  if (float_gemm::Handles(type)) return float_gemm::Rows(type, n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
#if defined(EMBER_GEMM_AVX2)
  if (type == GgmlType::IQ4_NL && !ExactGemm() && isa >= Isa::kAvx2) {
    // The fast signed tile on the levels, as Q8_0's codes (gemm_iq4nl's activations are Q8_0's).
    // TinyLlama-shaped IQ4_NL pp512 -t 2, Zen 4: 91-98 t/s with the exact tile.
    const GemmActs a = GemmActsAt(ActFormat::kQ8_0, n_in, n_tok, packed);
    WithInt8Step<true>(isa, [&]<class Dot>() { RowsSigned8<Kind::kIQ4NL, Dot>(a, row_bytes, w, r0, r1, n_tok, y, ldy); });
    return;
  }
#endif
  if (iq4nl_gemm::Handles(type)) return iq4nl_gemm::Rows(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
#if defined(EMBER_GEMM_AVX2)
  if (type == GgmlType::IQ4_XS && !ExactGemm()) {
    // The 8-row tile where vpdpbusd (or its model, in tests) is there; else the exact one.
    const GemmActs a = GemmActsAt(ActFormat::kQ8K, n_in, n_tok, packed);
    // Offset levels need vpdpbusd (or its model): maddubs would saturate on them.
    if (WithInt8Step<false>(isa, [&]<class Dot>() {
          RowsKQuant8<Kind::kIQ4XS, Dot>(a, row_bytes, w, r0, r1, n_tok, y, ldy);
        })) {
      return;
    }
  }
  if (type == GgmlType::Q3_K && !ExactGemm()) {
    // Q3_K as Q6_K in the 8-row tile (UnpackKQuant8Panel), on every ISA, as Q6_K's. The exact
    // tile (gemm_kquant_low_avx2.cpp) ran TinyLlama-shaped pp512 at 176-193 t/s on Zen 4.
    const GemmActs a = GemmActsAt(ActFormat::kQ8K, n_in, n_tok, packed);
    WithInt8Step<true>(isa, [&]<class Dot>() { RowsKQuant8<Kind::kQ3K, Dot>(a, row_bytes, w, r0, r1, n_tok, y, ldy); });
    return;
  }
#endif
  if (klow_gemm::Handles(type)) return klow_gemm::Rows(type, n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
#if defined(EMBER_GEMM_AVX2)
  switch (KindOf(type)) {
    case Kind::kQ4_0: return RowsAvx2<Kind::kQ4_0>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kQ5_0: return RowsAvx2<Kind::kQ5_0>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kQ8_0: return RowsAvx2<Kind::kQ8_0>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kQ4_1: return RowsAvx2<Kind::kQ4_1>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kQ5_1: return RowsAvx2<Kind::kQ5_1>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kQ4K: return RowsAvx2<Kind::kQ4K>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kQ5K: return RowsAvx2<Kind::kQ5K>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kQ6K: return RowsAvx2<Kind::kQ6K>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy, isa);
    case Kind::kIQ4NL:  // KindOf never gives these
    case Kind::kIQ4XS:
    case Kind::kQ3K:
    case Kind::kNone: break;
  }
#else
  (void)n_in, (void)row_bytes, (void)w, (void)r0, (void)r1, (void)packed, (void)n_tok, (void)y, (void)ldy, (void)isa;
#endif
  Fail("no tiled CPU kernel for weight type {}", GgmlTypeName(type));
}

}  // namespace ember::cpu
