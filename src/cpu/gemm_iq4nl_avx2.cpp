// AVX2 tiled prompt kernel for IQ4_NL weights against Q8_0 activations (gemm.h, gemm_iq4nl.h),
// compiled for AVX2 through function attributes like dot_avx2.cpp.
//
// IQ4_NL: blocks of 32 weights, an F16 scale d and 16 bytes of 4-bit indices (low nibbles are
// elements 0..15, high nibbles 16..31) into the 16 signed levels kIq4nlValues; w = d * level.
//
// Exactness. avx2::DotIQ4NL does, per block, the 8 int32 lane sums of level x code (the sign
// trick: maddubs(|level|, sign(code, level)), then madd by 1) and one fused multiply-add of
// d_w * d_a (rounded once) times those lanes into one 8-lane accumulator; then the lane sum.
// The tile does the same per (row, token) with the levels looked up once per panel of 4 rows
// (and |level| stored beside them), each level vector feeding 2 tokens and each activation
// vector 4 rows (legacy_tile::Tile, the tile of gemm_avx2's 32-element formats). The integer
// sums are exact and the float steps the same, so are the bits.
#include "cpu/gemm_iq4nl.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm.h"
#include "cpu/gemm_acts.h"
#include "cpu/gemm_legacy_tile.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "quant/blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_GEMM_IQ4NL_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu::iq4nl_gemm {
namespace {

using legacy_tile::kRows;  // weight rows per panel (the K-quant tiles use the same shape)
using legacy_tile::kToks;  // tokens per inner step

#if defined(EMBER_GEMM_IQ4NL_AVX2)

// A panel of 4 rows in legacy_tile's layout: levels [b][row][32], their absolute values, and the
// rows' scales [b][8] (4 rows, twice); IQ4_NL levels are signed, so the tile's sign trick.
using legacy_tile::Panel;

// One weight row (or zeros, for the padding rows of the last panel) into slot r.
EMBER_AVX2 void UnpackRow(const uint8_t* row, int64_t nb, int r, const Panel& p) {
  const __m128i values = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
  const __m128i m4 = _mm_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i lv = _mm256_setzero_si256();
    float d = 0.0f;
    if (row != nullptr) {
      const auto& x = reinterpret_cast<const BlockIQ4NL*>(row)[b];
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.qs));
      lv = _mm256_set_m128i(_mm_shuffle_epi8(values, _mm_and_si128(_mm_srli_epi16(q, 4), m4)),
                            _mm_shuffle_epi8(values, _mm_and_si128(q, m4)));
      d = _cvtsh_ss(x.d);
    }
    StoreA(p.q + (b * kRows + r) * 32, lv);
    StoreA(p.aq + (b * kRows + r) * 32, _mm256_sign_epi8(lv, lv));
    p.dx8[b * 8 + r] = p.dx8[b * 8 + 4 + r] = d;
  }
}

// Chunks of tokens whose codes (about 192 KiB) stay in L2; each panel is unpacked once per chunk.
// Dot: the tile's integer step (int8_dot_step.h).
template <class Dot>
EMBER_AVX2 void RowsWithStep(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                             const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
  const GemmActs a = GemmActsAt(ActFormat::kQ8_0, n_in, n_tok, packed);
  const int64_t nb = a.nb;
  const int64_t chunk = std::max<int64_t>(8, (192 * 1024 / std::max<int64_t>(1, n_in)) / 2 * 2);
  const Panel p = legacy_tile::PanelAt(ThreadScratch(legacy_tile::PanelBytes(nb)), nb);
  alignas(32) float out[kRows * kToks];
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    for (int64_t p0 = r0; p0 < r1; p0 += kRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kRows, r1 - p0));
      for (int r = 0; r < kRows; ++r) {
        UnpackRow(r < n_rows ? w + static_cast<uint64_t>(p0 + r) * row_bytes : nullptr, nb, r, p);
      }
      for (int64_t t = c0; t < c1; t += kToks) {
        const int64_t tb = std::min(t + 1, c1 - 1);
        legacy_tile::Tile<Dot, true, false>(p, a, t, tb, out);
        for (int tt = 0; tt <= tb - t; ++tt) {
          for (int r = 0; r < n_rows; ++r) y[(t + tt) * ldy + p0 + r] = out[4 * tt + r];
        }
      }
    }
  }
}

#endif  // EMBER_GEMM_IQ4NL_AVX2

}  // namespace

bool Has(Isa isa) {
#if defined(EMBER_GEMM_IQ4NL_AVX2)
  return isa >= Isa::kAvx2;
#else
  (void)isa;
  return false;
#endif
}

uint64_t PackedBytes(int64_t n_in, int64_t n_tok) { return GemmActsBytes(ActFormat::kQ8_0, n_in, n_tok); }

void PackActs(int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes, int64_t t0,
              int64_t t1, uint8_t* packed) {
  PackGemmActs(ActFormat::kQ8_0, n_in, n_tok, act, act_row_bytes, t0, t1, packed);
}

void Rows(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
          const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
#if defined(EMBER_GEMM_IQ4NL_AVX2)
  if (VnniModelForTests()) return RowsWithStep<int8_step::VnniModel>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  if (isa == Isa::kAvxVnni) return RowsWithStep<int8_step::VexVnniDot>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  if (isa >= Isa::kAvx512) return RowsWithStep<int8_step::VnniDot>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
  RowsWithStep<int8_step::MaddDot>(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
#else
  (void)n_in, (void)row_bytes, (void)w, (void)r0, (void)r1, (void)packed, (void)n_tok, (void)y, (void)ldy, (void)isa;
  Fail("no tiled CPU kernels in this build");
#endif
}

}  // namespace ember::cpu::iq4nl_gemm
