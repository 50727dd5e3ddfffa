// AVX2 tiled prompt kernels for F32, F16 and BF16 weights (gemm.h, gemm_float.h), compiled for
// AVX2 through function attributes like dot_avx2.cpp and used only when the CPU has it.
//
// Exactness. The row dots avx2::DotF32 / DotF16 / DotBF16 keep one 8-lane accumulator: lane l
// sums w[i] * a[i] for i = l (mod 8) over the whole 8-element chunks, in order, by fused
// multiply-adds of operands widened to F32 (exact for F16 and BF16); then the 8 lanes are summed
// (Hsum below, the same pairing) and the last n_in % 8 products are added one at a time. Here
// every (row, token) of a tile keeps such an accumulator of its own, fed the same operands in
// the same order, so each result is the row dot's float. Only loads and conversions are shared:
// activations are widened to F32 once per batch, F16/BF16 weight rows once per panel of 4 rows
// and chunk of tokens, and in the inner step each weight vector meets 3 tokens and each
// activation vector 4 rows.
#include "cpu/gemm_float.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_GEMM_FLOAT_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu::float_gemm {
namespace {

constexpr int kRows = 4;  // weight rows per panel
constexpr int kToks = 3;  // tokens per inner step: 12 accumulators + 3 activations + 1 weight
constexpr uint64_t kAlign = 64;

// Floats between packed activation rows (and widened weight rows): 64-byte aligned rows.
int64_t Stride(int64_t n_in) { return (n_in + 15) / 16 * 16; }

#if defined(EMBER_GEMM_FLOAT_AVX2)

template <typename T>
T* AlignPtr(T* p) {
  return reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(p) + kAlign - 1) / kAlign * kAlign);
}

// A thread's scratch for widened weight rows, grown on demand and 64-byte aligned.
float* ThreadScratch(uint64_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats + kAlign / sizeof(float)) buf.resize(floats + kAlign / sizeof(float));
  return AlignPtr(buf.data());
}

EMBER_AVX2 inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// n elements of `type` (F16 or BF16) to F32, exactly.
EMBER_AVX2 void Widen(GgmlType type, const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  if (type == GgmlType::F16) {
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    }
    for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
  } else {
    for (; i + 8 <= n; i += 8) {
      const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
    }
    for (; i < n; ++i) {
      const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
      std::memcpy(dst + i, &bits, 4);
    }
  }
}

// 4 rows x 3 tokens over n elements: out[r][t] = the row dot of w[r] and a[t].
EMBER_AVX2 void Tile(const float* const* w, const float* const* a, int64_t n, float out[kRows][kToks]) {
  __m256 acc[kRows][kToks];
  for (auto& row : acc) {
    for (auto& v : row) v = _mm256_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 av[kToks];
#pragma GCC unroll 3
    for (int t = 0; t < kToks; ++t) av[t] = _mm256_loadu_ps(a[t] + i);
#pragma GCC unroll 4
    for (int r = 0; r < kRows; ++r) {
      const __m256 wv = _mm256_loadu_ps(w[r] + i);
#pragma GCC unroll 3
      for (int t = 0; t < kToks; ++t) acc[r][t] = _mm256_fmadd_ps(wv, av[t], acc[r][t]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int t = 0; t < kToks; ++t) {
      // The row dot's tail, one product at a time after the lane sum (same expression, so the
      // same contraction into fused multiply-adds).
      float sum = Hsum(acc[r][t]);
      for (int64_t j = i; j < n; ++j) sum += w[r][j] * a[t][j];
      out[r][t] = sum;
    }
  }
}

EMBER_AVX2 void PackActsAvx2(GgmlType type, int64_t n_in, const uint8_t* act, uint64_t act_row_bytes,
                             int64_t t0, int64_t t1, uint8_t* packed) {
  float* base = AlignPtr(reinterpret_cast<float*>(packed));
  const int64_t ld = Stride(n_in);
  for (int64_t t = t0; t < t1; ++t) {
    const uint8_t* row = act + static_cast<uint64_t>(t) * act_row_bytes;
    float* dst = base + t * ld;
    if (type == GgmlType::F32) {
      std::memcpy(dst, row, static_cast<size_t>(n_in) * sizeof(float));
    } else {
      Widen(type, reinterpret_cast<const uint16_t*>(row), n_in, dst);
    }
    std::fill(dst + n_in, dst + ld, 0.0f);
  }
}

// Chunks of tokens whose widened activations (about 192 KiB) stay in L2 while the panels pass;
// F16/BF16 panels are widened once per chunk.
EMBER_AVX2 void RowsAvx2(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0,
                         int64_t r1, const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
  const float* acts = AlignPtr(reinterpret_cast<const float*>(packed));
  const int64_t ld = Stride(n_in);
  const int64_t chunk = std::max<int64_t>(kToks, (192 * 1024 / (4 * ld)) / kToks * kToks);
  float* panel = type == GgmlType::F32 ? nullptr : ThreadScratch(static_cast<uint64_t>(kRows * ld));
  float out[kRows][kToks];
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    for (int64_t p0 = r0; p0 < r1; p0 += kRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kRows, r1 - p0));
      // A partial panel repeats its last row (computed, not stored).
      const float* wr[kRows];
      for (int r = 0; r < kRows; ++r) {
        const uint8_t* src = w + static_cast<uint64_t>(p0 + std::min(r, n_rows - 1)) * row_bytes;
        if (type == GgmlType::F32) {
          wr[r] = reinterpret_cast<const float*>(src);
        } else if (r < n_rows) {
          Widen(type, reinterpret_cast<const uint16_t*>(src), n_in, panel + r * ld);
          wr[r] = panel + r * ld;
        } else {
          wr[r] = wr[r - 1];
        }
      }
      for (int64_t t = c0; t < c1; t += kToks) {
        const int n_t = static_cast<int>(std::min<int64_t>(kToks, c1 - t));
        const float* at[kToks];
        for (int k = 0; k < kToks; ++k) at[k] = acts + (t + std::min(k, n_t - 1)) * ld;
        Tile(wr, at, n_in, out);
        for (int k = 0; k < n_t; ++k) {
          for (int r = 0; r < n_rows; ++r) y[(t + k) * ldy + p0 + r] = out[r][k];
        }
      }
    }
  }
}

#endif  // EMBER_GEMM_FLOAT_AVX2

}  // namespace

bool Handles(GgmlType type) {
  return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

bool Has(GgmlType type, Isa isa) {
#if defined(EMBER_GEMM_FLOAT_AVX2)
  return isa >= Isa::kAvx2 && Handles(type);
#else
  (void)type, (void)isa;
  return false;
#endif
}

uint64_t PackedBytes(GgmlType type, int64_t n_in, int64_t n_tok) {
  (void)type;
  return static_cast<uint64_t>(n_tok * Stride(n_in)) * sizeof(float) + kAlign;
}

void PackActs(GgmlType type, int64_t n_in, int64_t n_tok, const uint8_t* act,
              uint64_t act_row_bytes, int64_t t0, int64_t t1, uint8_t* packed) {
  (void)n_tok;
  EMBER_CHECK(Handles(type));
#if defined(EMBER_GEMM_FLOAT_AVX2)
  PackActsAvx2(type, n_in, act, act_row_bytes, t0, t1, packed);
#else
  (void)n_in, (void)act, (void)act_row_bytes, (void)t0, (void)t1, (void)packed;
  Fail("no tiled CPU kernels in this build");
#endif
}

void Rows(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0,
          int64_t r1, const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy) {
  EMBER_CHECK(Handles(type));
#if defined(EMBER_GEMM_FLOAT_AVX2)
  RowsAvx2(type, n_in, row_bytes, w, r0, r1, packed, n_tok, y, ldy);
#else
  (void)n_in, (void)row_bytes, (void)w, (void)r0, (void)r1, (void)packed, (void)n_tok, (void)y, (void)ldy;
  Fail("no tiled CPU kernels in this build");
#endif
}

}  // namespace ember::cpu::float_gemm
