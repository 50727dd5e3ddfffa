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
// vector 4 rows. The integer sums are exact and the float steps the same, so are the bits.
#include "cpu/gemm_iq4nl.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm_acts.h"

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

constexpr int kRows = 4;  // weight rows per panel
constexpr int kToks = 2;  // tokens per inner step

#if defined(EMBER_GEMM_IQ4NL_AVX2)

// A panel of 4 rows: levels [b][row][32], their absolute values [b][row][32], and the rows'
// scales [b][8] (4 rows, twice: lane 4 * token + row).
struct Panel {
  uint8_t* q;
  uint8_t* aq;
  float* dx8;
};

uint64_t PanelBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return 2 * AlignUp(n * kRows * 32) + AlignUp(n * 32);
}

Panel PanelAt(uint8_t* p, int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  Panel pn;
  pn.q = p;
  pn.aq = p + AlignUp(n * kRows * 32);
  pn.dx8 = reinterpret_cast<float*>(pn.aq + AlignUp(n * kRows * 32));
  return pn;
}

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

// Row r of the panel against both tokens of a tile, block b: each level vector loaded once.
EMBER_AVX2 inline void RowStep(const Panel& p, int64_t b, int r, __m256i y0, __m256i y1, const float* scales,
                               __m256& c0, __m256& c1) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i q = LoadA(p.q + (b * kRows + r) * 32);
  const __m256i aq = LoadA(p.aq + (b * kRows + r) * 32);
  const __m256i p0 = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(y0, q));
  const __m256i p1 = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(y1, q));
  c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(scales + r), _mm256_cvtepi32_ps(_mm256_madd_epi16(p0, ones)), c0);
  c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(scales + 4 + r), _mm256_cvtepi32_ps(_mm256_madd_epi16(p1, ones)), c1);
}

// 4 rows x 2 tokens (tb may equal ta for an odd count): out[4 * token + row]. Named
// accumulators keep the 8 of them in registers (GCC stores an array of them every block).
EMBER_AVX2 void Tile(const Panel& p, const GemmActs& a, int64_t ta, int64_t tb, float* out) {
  const int64_t nb = a.nb;
  const int8_t* ya = a.qs + ta * nb * 32;
  const int8_t* yb = a.qs + tb * nb * 32;
  const float* da = a.d4 + ta * nb * 4;
  const float* db = a.d4 + tb * nb * 4;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  alignas(32) float scales[8];
  for (int64_t b = 0; b < nb; ++b) {
    // d_w * d_a per (row, token), one multiply as the row dot's.
    const __m256 dy = _mm256_set_m128(_mm_load_ps(db + b * 4), _mm_load_ps(da + b * 4));
    _mm256_store_ps(scales, _mm256_mul_ps(_mm256_load_ps(p.dx8 + b * 8), dy));
    const __m256i y0 = LoadA(ya + b * 32);
    const __m256i y1 = LoadA(yb + b * 32);
    RowStep(p, b, 0, y0, y1, scales, c00, c01);
    RowStep(p, b, 1, y0, y1, scales, c10, c11);
    RowStep(p, b, 2, y0, y1, scales, c20, c21);
    RowStep(p, b, 3, y0, y1, scales, c30, c31);
  }
  const __m256 acc[kToks][kRows] = {{c00, c10, c20, c30}, {c01, c11, c21, c31}};
  for (int t = 0; t < kToks; ++t) {
    for (int r = 0; r < kRows; ++r) out[4 * t + r] = Hsum(acc[t][r]);
  }
}

// Chunks of tokens whose codes (about 192 KiB) stay in L2; each panel is unpacked once per chunk.
EMBER_AVX2 void RowsAvx2(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
                         const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
  const GemmActs a = GemmActsAt(ActFormat::kQ8_0, n_in, n_tok, packed);
  const int64_t nb = a.nb;
  const int64_t chunk = std::max<int64_t>(8, (192 * 1024 / std::max<int64_t>(1, n_in)) / 2 * 2);
  const Panel p = PanelAt(ThreadScratch(PanelBytes(nb)), nb);
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
        Tile(p, a, t, tb, out);
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
          const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
#if defined(EMBER_GEMM_IQ4NL_AVX2)
  RowsAvx2(n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
#else
  (void)n_in, (void)row_bytes, (void)w, (void)r0, (void)r1, (void)packed, (void)n_tok, (void)y, (void)ldy;
  Fail("no tiled CPU kernels in this build");
#endif
}

}  // namespace ember::cpu::iq4nl_gemm
