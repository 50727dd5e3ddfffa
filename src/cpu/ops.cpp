#include "cpu/ops.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/error.h"
#include "core/half.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_OPS_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace ember::cpu {

void MatMul(ThreadPool& pool, Isa isa, const MatrixRef& w, const float* x, int64_t n_tokens,
            float* y, std::vector<uint8_t>& scratch) {
  const DotKernel& k = GetDotKernel(w.type, isa);
  const uint64_t act_bytes = ActRowBytes(k, w.n_in);
  const uint64_t rows_bytes = act_bytes * static_cast<uint64_t>(n_tokens);
  // Prompt batches: tiled matrix-matrix kernels (the row dot products' bits, except the default
  // tile of Q4_0/Q5_0/Q8_0: gemm.h).
  const bool tiled = n_tokens >= kGemmMinTokens && HasGemm(w.type, isa);
  const uint64_t packed_bytes = tiled ? GemmPackedBytes(w.type, w.n_in, n_tokens) : 0;
  scratch.resize(rows_bytes + packed_bytes);
  uint8_t* act = scratch.data();
  uint8_t* packed = act + rows_bytes;
  pool.ParallelFor(n_tokens, std::max<int64_t>(1, n_tokens / (4 * pool.size())),
                   [&](int64_t t0, int64_t t1) {
                     for (int64_t t = t0; t < t1; ++t) {
                       k.quantize(x + t * w.n_in, act + static_cast<uint64_t>(t) * act_bytes, w.n_in);
                     }
                     if (tiled) GemmPackActs(w.type, w.n_in, n_tokens, act, act_bytes, t0, t1, packed);
                   });
  if (tiled) {
    // Groups of 8 rows (one panel of the signed 8-row tile, two of the 4-row ones); several
    // groups per thread so that uneven cores still balance.
    const int64_t n_panels = (w.n_out + 7) / 8;
    const int64_t grain = std::max<int64_t>(1, n_panels / (8 * pool.size()));
    pool.ParallelFor(n_panels, grain, [&](int64_t p0, int64_t p1) {
      GemmRows(w.type, w.n_in, w.row_bytes, w.data, 8 * p0, std::min(w.n_out, 8 * p1), packed,
               n_tokens, y, w.n_out, isa);
    });
    return;
  }
  // Blocks of weight rows against every token: a block stays in cache while the tokens pass.
  const int64_t kRowBlock = 16;
  const int64_t n_blocks = (w.n_out + kRowBlock - 1) / kRowBlock;
  const int64_t grain = std::max<int64_t>(1, n_blocks / (8 * pool.size()));
  pool.ParallelFor(n_blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * kRowBlock;
    const int64_t r1 = std::min(w.n_out, b1 * kRowBlock);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const uint8_t* a = act + static_cast<uint64_t>(t) * act_bytes;
      float* yt = y + t * w.n_out;
      DotRows(k, w.n_in, w.data, w.row_bytes, r0, r1, a, yt);
    }
  });
}

void MatVecShared(ThreadPool& pool, Isa isa, std::span<const MatVecJob> jobs, const float* x,
                  std::vector<uint8_t>& scratch) {
  if (jobs.empty()) return;
  const int64_t n_in = jobs[0].w.n_in;
  // One converted copy of x per activation type (at most a few: Q8_0, Q8_1, Q8_K, ...).
  struct Act {
    GgmlType type;
    uint64_t offset;
  };
  std::vector<Act> acts;
  std::vector<size_t> act_of(jobs.size());
  std::vector<const DotKernel*> kernels(jobs.size());
  uint64_t act_total = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    EMBER_CHECK(jobs[j].w.n_in == n_in);
    kernels[j] = &GetDotKernel(jobs[j].w.type, isa);
    size_t a = 0;
    while (a < acts.size() && acts[a].type != kernels[j]->act_type) ++a;
    if (a == acts.size()) {
      acts.push_back({kernels[j]->act_type, act_total});
      act_total += (ActRowBytes(*kernels[j], n_in) + 63) / 64 * 64;
    }
    act_of[j] = a;
  }
  scratch.resize(act_total);
  std::vector<bool> converted(acts.size(), false);
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (!converted[act_of[j]]) {
      kernels[j]->quantize(x, scratch.data() + acts[act_of[j]].offset, n_in);
      converted[act_of[j]] = true;
    }
  }
  // Blocks of 16 rows over all matrices, in order.
  constexpr int64_t kRowBlock = 16;
  std::vector<int64_t> first_block(jobs.size() + 1, 0);
  for (size_t j = 0; j < jobs.size(); ++j) {
    first_block[j + 1] = first_block[j] + (jobs[j].w.n_out + kRowBlock - 1) / kRowBlock;
  }
  const int64_t n_blocks = first_block.back();
  const int64_t grain = std::max<int64_t>(1, n_blocks / (8 * pool.size()));
  pool.ParallelFor(n_blocks, grain, [&](int64_t b0, int64_t b1) {
    size_t j = static_cast<size_t>(std::upper_bound(first_block.begin(), first_block.end(), b0) -
                                   first_block.begin()) - 1;
    for (int64_t b = b0; b < b1;) {
      while (b >= first_block[j + 1]) ++j;
      const int64_t e = std::min(b1, first_block[j + 1]);  // this matrix's blocks in [b0, b1)
      const MatrixRef& w = jobs[j].w;
      const uint8_t* act = scratch.data() + acts[act_of[j]].offset;
      const int64_t r0 = (b - first_block[j]) * kRowBlock;
      const int64_t r1 = std::min(w.n_out, (e - first_block[j]) * kRowBlock);
      DotRows(*kernels[j], n_in, w.data, w.row_bytes, r0, r1, act, jobs[j].y);
      b = e;
    }
  });
}

void RmsNorm(const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* y) {
  // ggml sums the squares in double, one after another: a chain of dependent additions (~4
  // cycles each), so 4 rows' sums are run side by side, each in its own order (the same bits).
  std::vector<double> sums(static_cast<size_t>(rows));
  int64_t r4 = 0;
  for (; r4 + 4 <= rows; r4 += 4) {
    const float* x0 = x + r4 * n;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      s0 += static_cast<double>(x0[i] * x0[i]);
      s1 += static_cast<double>(x0[n + i] * x0[n + i]);
      s2 += static_cast<double>(x0[2 * n + i] * x0[2 * n + i]);
      s3 += static_cast<double>(x0[3 * n + i] * x0[3 * n + i]);
    }
    sums[static_cast<size_t>(r4)] = s0;
    sums[static_cast<size_t>(r4 + 1)] = s1;
    sums[static_cast<size_t>(r4 + 2)] = s2;
    sums[static_cast<size_t>(r4 + 3)] = s3;
  }
  for (; r4 < rows; ++r4) {
    const float* xr = x + r4 * n;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i] * xr[i]);
    sums[static_cast<size_t>(r4)] = sum;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const double sum = sums[static_cast<size_t>(r)];
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    if (weight != nullptr) {
      for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] * scale) * weight[i];
    } else {
      for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale;
    }
  }
}

void Rope(float* x, int64_t n_tokens, int64_t n_heads, const int32_t* pos, const RopeArgs& a) {
  EMBER_CHECK(a.n_dims % 2 == 0 && a.n_dims <= a.head_dim);
  const int64_t half = a.n_dims / 2;
  // theta_i = pos * freq_scale * base^(-2i/n_dims) / factor_i, computed as ggml does (a running
  // product of theta_scale) so the float rounding is the same.
  const float theta_scale = std::pow(a.freq_base, -2.0f / static_cast<float>(a.n_dims));
  // YaRN's correction dimensions (ggml_rope_yarn_corr_dims): below the first, frequencies keep
  // their original value (extrapolation); past the second, they are interpolated; a linear ramp
  // blends the two in between.
  float corr0 = 0.0f, corr1 = 0.0f, mscale = a.attn_factor;
  if (a.ext_factor != 0.0f) {
    const auto corr_dim = [&](float n_rot) {
      return static_cast<float>(a.n_dims) *
             std::log(static_cast<float>(a.n_ctx_orig) / (n_rot * 2 * static_cast<float>(M_PI))) /
             (2 * std::log(a.freq_base));
    };
    corr0 = std::max(0.0f, std::floor(corr_dim(a.beta_fast)));
    corr1 = std::min(static_cast<float>(a.n_dims - 1), std::ceil(corr_dim(a.beta_slow)));
    mscale *= 1.0f + 0.1f * std::log(1.0f / a.freq_scale);
  }
  std::vector<float> cos_sin(static_cast<size_t>(a.n_dims));
  for (int64_t t = 0; t < n_tokens; ++t) {
    float theta = static_cast<float>(pos[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float ff = a.freq_factors ? a.freq_factors[i] : 1.0f;
      const float extrap = theta / ff;
      float th = a.freq_scale * extrap;
      if (a.ext_factor != 0.0f) {
        const float y = (static_cast<float>(i) - corr0) / std::max(0.001f, corr1 - corr0);
        const float ramp_mix = (1 - std::min(1.0f, std::max(0.0f, y))) * a.ext_factor;
        th = th * (1 - ramp_mix) + extrap * ramp_mix;
      }
      cos_sin[2 * i] = std::cos(th) * mscale;
      cos_sin[2 * i + 1] = std::sin(th) * mscale;
      theta *= theta_scale;
    }
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * a.head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t i0 = a.neox ? i : 2 * i;
        const int64_t i1 = a.neox ? i + half : 2 * i + 1;
        const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
        const float x0 = v[i0], x1 = v[i1];
        v[i0] = x0 * c - x1 * s;
        v[i1] = x0 * s + x1 * c;
      }
    }
  }
}

float ExpGgml(float x) {
  // ggml_v_expf (ggml-cpu/vec.h, MIT license) one lane at a time: a range reduction to
  // 2^n * exp(b) and a degree-5 polynomial, with every fused multiply-add kept.
  const float r = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, r);
  const float n = z - r;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const uint32_t e = std::bit_cast<uint32_t>(z) << 23;
  const float k = std::bit_cast<float>(e + std::bit_cast<uint32_t>(1.0f));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, 0x1.ffffecp-1f * b);
  if (!(std::fabs(n) > 126.0f)) return std::fma(j, k, k);
  const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
  const float s1 = std::bit_cast<float>(g + 0x7f000000u);
  const float s2 = std::bit_cast<float>(e - g);
  if (std::fabs(n) > 192.0f) return s1 * s1;
  return std::fma(s2, j, s2) * s1;
}

namespace {

#if defined(EMBER_OPS_AVX2)
bool HaveAvx2() {
  static const bool have = DetectIsa() != Isa::kScalar;
  return have;
}

// ExpGgml on 8 lanes: the same steps (ggml_v_expf's), so the same bits, including its blended
// branch for lanes near overflow or underflow (|n| > 126), which scores far below the maximum
// reach often (random-weight models: a scalar redo of those lanes took 7% of a prompt).
EMBER_AVX2 inline __m256 Exp8(__m256 x) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 big = _mm256_cmp_ps(abs_n, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
  const __m256 res = _mm256_fmadd_ps(j, k, k);
  if (_mm256_movemask_ps(big) == 0) return res;
  const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                     _mm256_set1_epi32(static_cast<int>(0x82000000u)));
  const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
  const __m256 huge = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_blendv_ps(res, _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1), big),
                          _mm256_mul_ps(s1, s1), huge);
}

EMBER_AVX2 int64_t ExpShiftedAvx2(float* x, int64_t n, float shift) {
  int64_t i = 0;
  const __m256 s = _mm256_set1_ps(shift);
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(x + i, Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
  }
  return i;
}

// 8 floats at offset i of each of NQ (1 or 2) rows, for the multi-query attention kernels. With
// two, both are held in registers (KeepInRegister) -- GCC otherwise reloads one of them in every
// multiply-add -- and in named variables: GCC stores an array that inline asm touches to the
// stack. (v1 repeats v0 when NQ is 1.)
struct Pinned {
  __m256 v0, v1;
};
template <int NQ>
  requires(NQ == 1 || NQ == 2)
EMBER_AVX2 inline Pinned LoadPinned(const float* const (&rows)[NQ], int64_t i) {
  __m256 v0 = _mm256_loadu_ps(rows[0] + i), v1 = v0;
  if constexpr (NQ > 1) {
    v1 = _mm256_loadu_ps(rows[1] + i);
    KeepInRegister(v0);
    KeepInRegister(v1);
  }
  return {v0, v1};
}

// avx2::DotsF16 on keys already converted to F32 (the conversion is exact), for NQ queries that
// share the key range: the same products and sums, 8 / NQ keys at a time, one accumulator per
// (query, key), hd a multiple of 8. Each K load serves NQ queries (one query: 9 loads per 8
// multiply-adds; two: 6 per 8, with both the query and the key vectors held in registers, else
// GCC reloads one of them in every multiply-add). The 8 accumulators are summed together
// (Hsum8): one at a time, the horizontal sums took as long as the multiply-adds (SmolLM2 pp512
// at depth 4096, where these scores were 44% of the time).
template <int NQ>
  requires(NQ == 1 || NQ == 2)
EMBER_AVX2 void DotsF32Keys(int64_t n_keys, int64_t hd, const float* k, int64_t k_stride,
                            const float* const (&q)[NQ], float* const (&out)[NQ]) {
  constexpr int kKeys = 8 / NQ;
  int64_t j = 0;
  for (; j + kKeys <= n_keys; j += kKeys) {
    // Fully unrolled, so that the accumulators stay in registers (else GCC stored all 8 to the
    // stack in every step).
    __m256 acc[8];
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) acc[u] = _mm256_setzero_ps();
    for (int64_t i = 0; i < hd; i += 8) {
      const Pinned qv = LoadPinned<NQ>(q, i);
      const __m256 vq[2] = {qv.v0, qv.v1};
#pragma GCC unroll 8
      for (int u = 0; u < kKeys; ++u) {
        __m256 vk = _mm256_loadu_ps(k + (j + u) * k_stride + i);
        if (NQ > 1) KeepInRegister(vk);
#pragma GCC unroll 2
        for (int n = 0; n < NQ; ++n) acc[n * kKeys + u] = _mm256_fmadd_ps(vk, vq[n], acc[n * kKeys + u]);
      }
    }
    const __m256 sums = Hsum8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]);
    if constexpr (NQ == 1) {
      _mm256_storeu_ps(out[0] + j, sums);
    } else {
      _mm_storeu_ps(out[0] + j, _mm256_castps256_ps128(sums));
      _mm_storeu_ps(out[1] + j, _mm256_extractf128_ps(sums, 1));
    }
  }
  for (; j < n_keys; ++j) {
    for (int n = 0; n < NQ; ++n) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t i = 0; i < hd; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(k + j * k_stride + i), _mm256_loadu_ps(q[n] + i), acc);
      out[n][j] = Hsum(acc);
    }
  }
}

// avx2::WeightedSumF16Lanes (the decode path) for 8 columns of one query, on values converted to
// F32 and stored column by column (vt: column k's values for every position contiguous,
// vt_stride apart): each column's 8 position lanes (lane l taking positions = l mod 8) accumulate
// the same products in the same order as that kernel's acc[l] does for the column, and are summed
// in the same tree (Tree8), so the same bits. One load of 8 weights serves the 8 columns of a
// step, where rows of 8 columns per position needed a broadcast of each weight: half the loads
// per multiply-add (Gemma 3 pp512 -t 1: attention 13.4% -> 12.1% of the time). Positions outside
// [first, last] in the two edge blocks are blended away, as that kernel skips them (SoftmaxScores
// zeroes their weights, so this matters only for non-finite values).
template <int NQ, int NC>
  requires(NQ == 1 || NQ == 2)
EMBER_AVX2 inline void ColumnsStep(const float* const (&w)[NQ], const float* col, int64_t vt_stride, int64_t jb,
                                   __m256 mask, bool masked, __m256 (&acc)[NQ][NC]) {
  const Pinned wp = LoadPinned<NQ>(w, jb);
  const __m256 wv[2] = {wp.v0, wp.v1};
  for (int k = 0; k < NC; ++k) {
    __m256 v = _mm256_loadu_ps(col + k * vt_stride + jb);
    if constexpr (NQ > 1) KeepInRegister(v);  // else GCC loads it again for each query
    for (int n = 0; n < NQ; ++n) {
      const __m256 next = _mm256_fmadd_ps(wv[n], v, acc[n][k]);
      acc[n][k] = masked ? _mm256_blendv_ps(acc[n][k], next, mask) : next;
    }
  }
}

// Lanes of positions idx inside [f, l], as a blend mask.
EMBER_AVX2 inline __m256 EdgeMask(__m256i idx, __m256i f, __m256i l) {
  const __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi32(f, idx), _mm256_cmpgt_epi32(idx, l));
  return _mm256_castsi256_ps(_mm256_andnot_si256(outside, _mm256_set1_epi32(-1)));
}

// NC columns for NQ queries with the same positions [first, last] (the heads of one token): one
// load of a column's 8 values serves the NQ queries (one query and 8 columns: 9 loads per 8
// multiply-adds; two queries and 4 columns: 6 per 8).
template <int NQ, int NC>
EMBER_AVX2 void WeightedSumColumns(int64_t first, int64_t last, const float* const (&w)[NQ], const float* vt,
                                   int64_t vt_stride, float* const (&out)[NQ]) {
  __m256 acc[NQ][NC];
  for (auto& row : acc) {
    for (auto& x : row) x = _mm256_setzero_ps();
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lo = _mm256_set1_epi32(static_cast<int32_t>(first)), hi = _mm256_set1_epi32(static_cast<int32_t>(last));
  int64_t jb = first / 8 * 8;
  if (jb < first || jb + 7 > last) {
    const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(jb)), lane);
    ColumnsStep<NQ, NC>(w, vt, vt_stride, jb, EdgeMask(idx, lo, hi), true, acc);
    jb += 8;
  }
  for (; jb + 7 <= last; jb += 8) ColumnsStep<NQ, NC>(w, vt, vt_stride, jb, _mm256_setzero_ps(), false, acc);
  if (jb <= last) {
    const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(jb)), lane);
    ColumnsStep<NQ, NC>(w, vt, vt_stride, jb, EdgeMask(idx, lo, hi), true, acc);
  }
  for (int n = 0; n < NQ; ++n) {
    alignas(32) float lanes[NC][8];
    for (int k = 0; k < NC; ++k) _mm256_store_ps(lanes[k], acc[n][k]);
    for (int k = 0; k < NC; ++k) out[n][k] = Tree8(lanes[k]);
  }
}

__attribute__((target("avx2,fma,f16c"))) void HalvesToFloats(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  }
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}

// e[j] = RoundToHalf(e[j] * inv) for j in [first, last], 8 at a time with F16C (the same bits).
__attribute__((target("avx2,fma,f16c"))) void ScaleRoundToHalf(float* e, int64_t first, int64_t last, float inv) {
  const __m256 s = _mm256_set1_ps(inv);
  int64_t j = first;
  for (; j + 8 <= last + 1; j += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(e + j), s), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(e + j, _mm256_cvtph_ps(h));
  }
  for (; j <= last; ++j) e[j] = _cvtsh_ss(_cvtss_sh(e[j] * inv, _MM_FROUND_TO_NEAREST_INT));
}

EMBER_AVX2 int64_t SwiGluAvx2(const float* gate, const float* up, int64_t n8, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n8; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 ex = Exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, ex)), _mm256_loadu_ps(up + i)));
  }
  return i;
}

// SoftmaxScores' first loop without a soft-cap, 8 scores at a time: e[j] *= scale for j in
// [first, p] and max of them (the same products; the maximum whatever the order). Returns the
// first j not done.
EMBER_AVX2 int64_t ScaleAndMaxAvx2(float* e, int64_t first, int64_t p, float scale, float& max) {
  const __m256 s = _mm256_set1_ps(scale);
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t j = first;
  for (; j + 8 <= p + 1; j += 8) {
    const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(e + j), s);
    _mm256_storeu_ps(e + j, x);
    m = _mm256_max_ps(m, x);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  for (float x : lanes) max = std::max(max, x);
  return j;
}

// sum += double(Tree8(e + b)) for the blocks of 8 from b0 on, in order, their tree sums formed 8
// blocks at a time (Hsum8, the same bits as Tree8). Returns the first block not done.
EMBER_AVX2 int64_t AddBlockSumsAvx2(const float* e, int64_t b0, int64_t end, double& sum) {
  int64_t b = b0;
  for (; b + 64 <= end; b += 64) {
    alignas(32) float t[8];
    _mm256_store_ps(t, Hsum8(_mm256_loadu_ps(e + b), _mm256_loadu_ps(e + b + 8), _mm256_loadu_ps(e + b + 16),
                             _mm256_loadu_ps(e + b + 24), _mm256_loadu_ps(e + b + 32), _mm256_loadu_ps(e + b + 40),
                             _mm256_loadu_ps(e + b + 48), _mm256_loadu_ps(e + b + 56)));
    for (float x : t) sum += static_cast<double>(x);
  }
  return b;
}
#endif

}  // namespace

void ExpShifted(float* x, int64_t n, float shift) {
  int64_t i = 0;
#if defined(EMBER_OPS_AVX2)
  if (HaveAvx2()) i = ExpShiftedAvx2(x, n, shift);
#endif
  for (; i < n; ++i) x[i] = ExpGgml(x[i] - shift);
}

namespace {

// llama.cpp's soft_max on one query's scores e[first..p] (in place): scale (and soft-cap), max,
// ggml_v_expf, the exponentials summed 8 positions at a time (blocks aligned to position 0,
// masked positions exact zeros) into a double. Returns 1 / sum.
float SoftmaxScores(float* e, int64_t first, int64_t p, float scale, float softcap) {
  float max = -INFINITY;
  int64_t j = first;
#if defined(EMBER_OPS_AVX2)
  if (softcap <= 0.0f && HaveAvx2()) j = ScaleAndMaxAvx2(e, first, p, scale, max);
#endif
  for (; j <= p; ++j) {
    float s = e[j] * scale;
    if (softcap > 0.0f) s = softcap * std::tanh(s / softcap);
    e[j] = s;
    max = std::max(max, s);
  }
  const int64_t block0 = first / 8 * 8;
  const int64_t block_end = (p + 1 + 7) / 8 * 8;
  for (int64_t i = block0; i < first; ++i) e[i] = 0.0f;
  ExpShifted(e + first, p + 1 - first, max);
  for (int64_t i = p + 1; i < block_end; ++i) e[i] = 0.0f;
  double sum = 0.0;
  int64_t b = block0;
#if defined(EMBER_OPS_AVX2)
  if (HaveAvx2()) b = AddBlockSumsAvx2(e, block0, block_end, sum);
#endif
  for (; b < block_end; b += 8) sum += static_cast<double>(Tree8(&e[b]));
  return static_cast<float>(1.0 / sum);
}

#if defined(EMBER_OPS_AVX2)
// Prompt batches with the cache rows already in F32: kf row by row as the cache, vt column by
// column (column c of the V rows for every position, vt_stride floats apart). The queries of a few tokens and of every head that shares
// one K/V head are attended together, so that each K/V row comes from memory once per block of
// queries rather than once per query (a long prompt's rows do not fit in L2; measured on Gemma 3
// pp512, attention was memory-bound at ~4 cycles per 8-lane multiply-add). Scores go key tile by
// key tile (the tile's K rows stay in L1 across the queries); weighted sums go 8 columns at a
// time, whose values stay in L1 across the queries (V rows 1 KiB apart touched 32 bytes at a
// time had made the same loop wait on L2). Every query gets exactly the
// per-query loop's products, softmax and sums, in the same order: the same bits.
void PromptAttentionShared(ThreadPool& pool, const float* q, int64_t n_tokens, int64_t pos0,
                           const AttentionArgs& a, const float* kf, int64_t kw, const float* vt,
                           int64_t vt_stride, float* out) {
  const int64_t group = a.n_head / a.n_head_kv;
  const int64_t hd = a.head_dim;
  const int64_t n_kv_max = pos0 + n_tokens;
  // About 16 queries per block, fewer tokens per block when the threads would lack blocks.
  int64_t block_tokens = std::max<int64_t>(1, 16 / group);
  while (block_tokens > 1 &&
         (n_tokens + block_tokens - 1) / block_tokens * a.n_head_kv < 4 * static_cast<int64_t>(pool.size())) {
    block_tokens /= 2;
  }
  const int64_t n_blocks = (n_tokens + block_tokens - 1) / block_tokens;
  const int64_t key_tile = std::max<int64_t>(4, 4096 / hd / 4 * 4);  // 16 KiB of K rows
  const int64_t e_stride = n_kv_max + 8;
  pool.ParallelFor(n_blocks * a.n_head_kv, 1, [&](int64_t task0, int64_t task1) {
    const int64_t max_q = block_tokens * group;
    std::vector<float> e(static_cast<size_t>(max_q * e_stride));
    std::vector<float> qf(static_cast<size_t>(max_q * hd));
    std::vector<uint16_t> q16(static_cast<size_t>(hd));
    std::vector<int64_t> firsts(static_cast<size_t>(max_q)), lasts(static_cast<size_t>(max_q));
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t kvh = task % a.n_head_kv;
      const int64_t t0 = task / a.n_head_kv * block_tokens;
      const int64_t nq = (std::min(n_tokens, t0 + block_tokens) - t0) * group;
      // Query i: token t0 + i / group, head kvh * group + i % group.
      const auto q_of = [&](int64_t i) { return (t0 + i / group) * a.n_head + kvh * group + i % group; };
      // Queries i and i + 1 are heads of one token (the same positions): their kernels run together.
      const auto paired = [&](int64_t i) { return i % group + 1 < group && i + 1 < nq; };
      int64_t lo = n_kv_max, hi = 0;
      for (int64_t i = 0; i < nq; ++i) {
        avx2::FloatsToHalves(q + q_of(i) * hd, q16.data(), hd);
        HalvesToFloats(q16.data(), qf.data() + i * hd, hd);
        const int64_t p = pos0 + t0 + i / group;
        lasts[i] = p;
        firsts[i] = a.window > 0 ? std::max<int64_t>(0, p - a.window + 1) : 0;
        lo = std::min(lo, firsts[i]);
        hi = std::max(hi, p);
      }
      for (int64_t j0 = lo; j0 <= hi; j0 += key_tile) {
        const int64_t j1 = std::min(hi + 1, j0 + key_tile);
        for (int64_t i = 0; i < nq; i += paired(i) ? 2 : 1) {
          const int64_t b = std::max(j0, firsts[i]), end = std::min(j1, lasts[i] + 1);
          if (b >= end) continue;
          const float* k_rows = kf + b * kw + kvh * hd;
          if (paired(i)) {
            DotsF32Keys<2>(end - b, hd, k_rows, kw, {qf.data() + i * hd, qf.data() + (i + 1) * hd},
                           {e.data() + i * e_stride + b, e.data() + (i + 1) * e_stride + b});
          } else {
            DotsF32Keys<1>(end - b, hd, k_rows, kw, {qf.data() + i * hd}, {e.data() + i * e_stride + b});
          }
        }
      }
      for (int64_t i = 0; i < nq; ++i) {
        float* ei = e.data() + i * e_stride;
        const float inv = SoftmaxScores(ei, firsts[i], lasts[i], a.scale, a.softcap);
        ScaleRoundToHalf(ei, firsts[i], lasts[i], inv);
      }
      for (int64_t c = 0; c < hd; c += 8) {
        const float* cols = vt + (kvh * hd + c) * vt_stride;
        for (int64_t i = 0; i < nq; i += paired(i) ? 2 : 1) {
          const float* w0 = e.data() + i * e_stride;
          float* o0 = out + q_of(i) * hd + c;
          if (paired(i)) {
            const float* w1 = e.data() + (i + 1) * e_stride;
            float* o1 = out + q_of(i + 1) * hd + c;
            WeightedSumColumns<2, 4>(firsts[i], lasts[i], {w0, w1}, cols, vt_stride, {o0, o1});
            WeightedSumColumns<2, 4>(firsts[i], lasts[i], {w0, w1}, cols + 4 * vt_stride, vt_stride, {o0 + 4, o1 + 4});
          } else {
            WeightedSumColumns<1, 8>(firsts[i], lasts[i], {w0}, cols, vt_stride, {o0});
          }
        }
      }
    }
  });
}

// One token with a cache of 128 positions or more (decode past the first turn): the heads that
// share a K/V head go together, so that each K/V row comes from memory once per K/V head rather
// than once per query head (the per-head loop reads them `group` times, and each V row once per
// 8 columns). One token's attention over all layers at depth 4096, 2 threads, 10 alternating
// passes (Zen 4, 2026-11-29):
// TinyLlama's shape (22 layers, 32 heads, 4 K/V heads) 41.8 -> 31.7 ms; Gemma 3's (one K/V head
// of 256 columns, all 18 layers global) 22.3 -> 11.8 ms; SmolLM2's (30 layers, 9 heads, 3 K/V
// heads) 13.6 -> 13.4 ms, level: there a layer's rows fit in cache (0.2 ms a layer when they
// do), so the re-reads were not its bound. Then the group's heads two at a time, each K and V
// vector converted once for both (avx2::DotsF16Pair, WeightedSumF16LanesPartPair), in the same
// alternating passes: TinyLlama's shape 24.7 -> 19.9 and 21.4 -> 17.3 ms, SmolLM2's 20.1 ->
// 20.1 and 10.2 -> 9.6 ms (one layer in cache: 0.19 -> 0.16 ms). Three passes, each over all
// threads:
// - scores: tasks of whole K rows (a range of keys, every K/V head), key tile by key tile (a
//   tile's rows stay in L2 while each K/V head's queries take them; the next tile's rows are
//   prefetched, a share in each kernel call, a few lines per 4 keys), each query's scores by
//   avx2::DotsF16(Pair), whose every key has DotF16's bits wherever a call starts;
// - softmax per head, as the per-head loop;
// - weighted sums: each thread one contiguous range of 32-column blocks across the V row (all
//   K/V heads), position tile by position tile, each query's lanes carried between tiles
//   (avx2::WeightedSumF16LanesPart(Pair)): the same products in the same order, so the same
//   bits as the per-head loop.
// Whole rows and contiguous ranges rather than one K/V head's slice of every row per task: a
// plain read of 128 bytes of each 384-byte row (a SmolLM2 K/V head) ran at 20 GB/s where whole
// rows read 47-50 (-t 2, 30 layers of 4096 rows). Over all layers at depth 4096, -t 2, 20
// alternating passes (ms): SmolLM2's shape 10.55 -> 8.83, TinyLlama's 19.20 -> 15.93, Gemma 3's
// 9.35 -> 7.24; one thread, SmolLM2 17.9 -> 13.7; one layer in cache, level (0.16-0.49 ms). End
// to end, SmolLM2 tg32 at depth 4096 -t 2, 5 alternating rounds of 3: median 69.4 -> 77.1 t/s.
// The next tile's prefetch spread through the kernels rather than issued at once before them
// (2026-11-30, in one process, 15 alternating passes, medians of the score pass over all layers
// at depth 4096 / 2048, -t 2): SmolLM2's shape 3.44 -> 2.96, 3.06 -> 2.92, 3.18 -> 3.01 ms;
// TinyLlama's 3.67 -> 3.54; Gemma 3's 3.23 -> 3.20. With no software prefetch at all: 3.40 ->
// 3.57. Prefetching V rows during the scores, or the next V tile during the sums, cost more than
// it saved.
void DecodeAttentionShared(ThreadPool& pool, const float* q, int64_t p, const AttentionArgs& a, float* out) {
  const int64_t group = a.n_head / a.n_head_kv;
  const int64_t hd = a.head_dim;
  const int64_t first = a.window > 0 ? std::max<int64_t>(0, p - a.window + 1) : 0;
  const int64_t e_stride = p + 1 + 8;
  const auto* k = reinterpret_cast<const uint16_t*>(a.k);
  const auto* v = reinterpret_cast<const uint16_t*>(a.v);
  const auto kw = static_cast<int64_t>(a.k_stride / 2), vw = static_cast<int64_t>(a.v_stride / 2);
  std::vector<float> e(static_cast<size_t>(a.n_head * e_stride));
  std::vector<uint16_t> q16(static_cast<size_t>(a.n_head * hd));
  for (int64_t h = 0; h < a.n_head; ++h) avx2::FloatsToHalves(q + h * hd, q16.data() + h * hd, hd);
  constexpr int64_t kTile = 256;  // positions: 256 rows of K in L2 across the K/V heads
  const int64_t n_keys = p + 1 - first;
  const int64_t threads = static_cast<int64_t>(pool.size());
  // Key ranges of 64 keys or more, 4 per thread where there are enough.
  const int64_t key_parts = std::clamp<int64_t>(4 * threads, 1, std::max<int64_t>(1, n_keys / 64));
  const int64_t calls = a.n_head_kv * ((group + 1) / 2);  // score kernel calls per tile
  pool.ParallelFor(key_parts, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t part = t0; part < t1; ++part) {
      const int64_t j0 = first + n_keys * part / key_parts, j1 = first + n_keys * (part + 1) / key_parts;
      for (int64_t jt = j0; jt < j1; jt += kTile) {
        const int64_t n = std::min(kTile, j1 - jt);
        // The next tile's rows, an equal share in each kernel call of this tile.
        const auto* next = reinterpret_cast<const char*>(k + (jt + n) * kw);
        const int64_t next_bytes = reinterpret_cast<const char*>(k + std::min(jt + n + kTile, j1) * kw) - next;
        const int64_t share = (next_bytes / 64 + calls - 1) / calls * 64;
        int64_t call = 0;
        for (int64_t kvh = 0; kvh < a.n_head_kv; ++kvh) {
          const uint16_t* kt = k + jt * kw + kvh * hd;
          for (int64_t h = kvh * group; h < (kvh + 1) * group; h += 2, ++call) {
            const int64_t off = std::min(next_bytes, call * share);
            const avx2::PrefetchSpan pf{next + off, std::min(share, next_bytes - off)};
            if (h + 1 < (kvh + 1) * group) {
              avx2::DotsF16Pair(n, hd, kt, kw, q16.data() + h * hd, q16.data() + (h + 1) * hd,
                                e.data() + h * e_stride + jt, e.data() + (h + 1) * e_stride + jt, pf);
            } else {
              avx2::DotsF16(n, hd, kt, kw, q16.data() + h * hd, e.data() + h * e_stride + jt, pf);
            }
          }
        }
      }
    }
  });
  pool.ParallelFor(a.n_head, 1, [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      float* eh = e.data() + h * e_stride;
      ScaleRoundToHalf(eh, first, p, SoftmaxScores(eh, first, p, a.scale, a.softcap));
    }
  });
  const int64_t cols = hd % 32 == 0 ? 32 : 8;
  const int64_t col_parts = hd / cols;
  const int64_t n_blocks = a.n_head_kv * col_parts;  // column blocks along the V row
  pool.ParallelFor(n_blocks, (n_blocks + threads - 1) / threads, [&](int64_t b0, int64_t b1) {
    // Lanes of block b, query g of its K/V head: (b - b0) * group + g.
    std::vector<float> lanes(static_cast<size_t>((b1 - b0) * group * cols * 8));
    for (int64_t jt = first / 8 * 8; jt <= p; jt += kTile) {
      const int64_t jt1 = std::min(jt + kTile, p + 1);
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t kvh = b / col_parts, c0 = b % col_parts * cols;
        const uint16_t* vc = v + kvh * hd + c0;
        float* lb = lanes.data() + (b - b0) * group * cols * 8;
        for (int64_t g = 0; g < group; g += 2) {
          const int64_t h = kvh * group + g;
          if (g + 1 < group) {
            avx2::WeightedSumF16LanesPartPair(jt, jt1, first, p, e.data() + h * e_stride, e.data() + (h + 1) * e_stride, vc,
                                              vw, cols, lb + g * cols * 8, lb + (g + 1) * cols * 8);
          } else {
            avx2::WeightedSumF16LanesPart(jt, jt1, first, p, e.data() + h * e_stride, vc, vw, cols, lb + g * cols * 8);
          }
        }
      }
    }
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t kvh = b / col_parts, c0 = b % col_parts * cols;
      for (int64_t g = 0; g < group; ++g) {
        avx2::WeightedSumF16LanesFinish(lanes.data() + ((b - b0) * group + g) * cols * 8, cols,
                                        out + (kvh * group + g) * hd + c0);
      }
    }
  });
}
#endif

// Decode takes DecodeAttentionShared from this many cached positions on (tests move it). Its
// three parallel passes cost more than they save on short caches: one token over all layers,
// -t 2, per-head loop against shared (ms): 8 positions 0.09 / 0.11 (SmolLM2's shape), 64
// positions 0.14 / 0.17, 128 positions 0.29 / 0.24 (TinyLlama's 0.78 / 0.56), 256 0.58 / 0.47.
constexpr int64_t kDecodeSharedMinKeys = 128;
int64_t g_decode_shared_min_keys = kDecodeSharedMinKeys;

}  // namespace

void SetDecodeSharedMinKeysForTests(int64_t n) { g_decode_shared_min_keys = n > 0 ? n : kDecodeSharedMinKeys; }

// Mirrors llama.cpp's CPU attention without flash attention, operation for operation, so that
// the result is bit-identical (its F16 cache path): kq = K q with q rounded to F16 (tinyBLAS
// lane order), kq * scale, softmax with ggml_v_expf summed per 8 positions into a double,
// probabilities rounded to F16, and the weighted sum of values in tinyBLAS lane order over the
// positions (lane l takes positions = l mod 8, then the tree sum of the lanes).
void Attention(ThreadPool& pool, Isa isa, const float* q, int64_t n_tokens, int64_t pos0,
               const AttentionArgs& a, float* out) {
  EMBER_CHECK(a.n_head % a.n_head_kv == 0);
  const int64_t group = a.n_head / a.n_head_kv;
  const int64_t hd = a.head_dim;
  const int64_t n_tasks = n_tokens * a.n_head;
  const int64_t n_kv_max = pos0 + n_tokens;
  // Kernels resolved once (a look-up and a software F16 conversion per key cost more than the
  // 64-element products themselves); F16C gives the same F16 bits as core/half.h.
  const bool simd = isa != Isa::kScalar && avx2::Compiled();
  const VecDotFn dot = GetDotKernel(a.f16 ? GgmlType::F16 : GgmlType::F32, isa).dot;
  // F16 cache with whole 8-element chunks: scores four keys at a time and the weighted sum of
  // values in registers, the same operations per output as the general loop below.
  const bool fast_f16 = simd && a.f16 && hd % 8 == 0 && a.k_stride % 2 == 0 && a.v_stride % 2 == 0;
  // Prompt batches: every cached K/V row is read by up to n_tokens x group tasks, so the rows
  // are converted to F32 once (exact) and the inner loops lose their F16 conversions -- the same
  // products and sums (DotsF32Keys, WeightedSumF32Lanes), so the same bits. Bounded to 64 MiB.
  const int64_t kw = static_cast<int64_t>(a.k_stride / 2), vw = static_cast<int64_t>(a.v_stride / 2);
  const int64_t lo = a.window > 0 ? std::max<int64_t>(0, pos0 - a.window + 1) : 0;
  const bool f32_rows = fast_f16 && n_tokens >= 2 &&
                        static_cast<uint64_t>(n_kv_max - lo) * static_cast<uint64_t>(kw + vw) * 4 <= (64u << 20);
  std::vector<float> kf, vt;
  const int64_t vt_stride = n_kv_max + 8;  // the edge blocks of 8 positions load up to 7 past the last
#if defined(EMBER_OPS_AVX2)
  if (f32_rows) {
    kf.resize(static_cast<size_t>(n_kv_max * kw));
    vt.resize(static_cast<size_t>(vt_stride * a.n_head_kv * hd));
    pool.ParallelFor(n_kv_max - lo, std::max<int64_t>(1, (n_kv_max - lo) / (4 * pool.size())),
                     [&](int64_t j0, int64_t j1) {
      for (int64_t j = lo + j0; j < lo + j1; ++j) {
        HalvesToFloats(reinterpret_cast<const uint16_t*>(a.k + static_cast<uint64_t>(j) * a.k_stride), kf.data() + j * kw, kw);
        const auto* vrow = reinterpret_cast<const uint16_t*>(a.v + static_cast<uint64_t>(j) * a.v_stride);
        for (int64_t strip = 0; strip < a.n_head_kv * hd / 8; ++strip) {
          alignas(32) float v8[8];
          HalvesToFloats(vrow + 8 * strip, v8, 8);
          for (int k = 0; k < 8; ++k) vt[static_cast<size_t>((8 * strip + k) * vt_stride + j)] = v8[k];
        }
      }
    });
    PromptAttentionShared(pool, q, n_tokens, pos0, a, kf.data(), kw, vt.data(), vt_stride, out);
    return;
  }
  if (fast_f16 && n_tokens == 1 && pos0 + 1 - lo >= g_decode_shared_min_keys) {
    DecodeAttentionShared(pool, q, pos0, a, out);
    return;
  }
#endif
  pool.ParallelFor(n_tasks, std::max<int64_t>(1, n_tasks / (4 * pool.size())),
                   [&](int64_t task0, int64_t task1) {
    std::vector<float> e(static_cast<size_t>(n_kv_max + 8));
    std::vector<uint16_t> q16(static_cast<size_t>(hd));
    std::vector<float> lanes(static_cast<size_t>(8 * hd));
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t t = task / a.n_head;
      const int64_t h = task % a.n_head;
      const int64_t kvh = h / group;
      const int64_t p = pos0 + t;
      const int64_t first = a.window > 0 ? std::max<int64_t>(0, p - a.window + 1) : 0;
      const float* qh = q + (t * a.n_head + h) * hd;
      if (a.f16) {
        if (simd) {
          avx2::FloatsToHalves(qh, q16.data(), hd);
        } else {
          for (int64_t d = 0; d < hd; ++d) q16[d] = FloatToHalf(qh[d]);
        }
      }
      if (fast_f16) {
        avx2::DotsF16(p + 1 - first, hd, reinterpret_cast<const uint16_t*>(a.k + first * a.k_stride) + kvh * hd,
                      static_cast<int64_t>(a.k_stride / 2), q16.data(), e.data() + first);
      } else {
        for (int64_t j = first; j <= p; ++j) {
          const uint8_t* krow = a.k + static_cast<uint64_t>(j) * a.k_stride;
          e[j] = a.f16 ? dot(hd, reinterpret_cast<const uint16_t*>(krow) + kvh * hd, q16.data())
                       : dot(hd, reinterpret_cast<const float*>(krow) + kvh * hd, qh);
        }
      }
      const float inv = SoftmaxScores(e.data(), first, p, a.scale, a.softcap);
      float* o = out + (t * a.n_head + h) * hd;
      if (fast_f16) {
#if defined(EMBER_OPS_AVX2)
        ScaleRoundToHalf(e.data(), first, p, inv);
#else
        for (int64_t j = first; j <= p; ++j) e[j] = avx2::RoundToHalf(e[j] * inv);
#endif
        avx2::WeightedSumF16Lanes(first, p, e.data(), reinterpret_cast<const uint16_t*>(a.v) + kvh * hd,
                                  static_cast<int64_t>(a.v_stride / 2), hd, o);
        continue;
      }
      std::fill(lanes.begin(), lanes.end(), 0.0f);
      for (int64_t j = first; j <= p; ++j) {
        float w = e[j] * inv;
        float* acc = lanes.data() + (j % 8) * hd;
        const uint8_t* vrow = a.v + static_cast<uint64_t>(j) * a.v_stride;
        if (a.f16) {
          const auto* vh = reinterpret_cast<const uint16_t*>(vrow) + kvh * hd;
          if (simd) {
            avx2::AxpyF16(hd, avx2::RoundToHalf(w), vh, acc);
          } else {
            AxpyF16(isa, hd, HalfToFloat(FloatToHalf(w)), vh, acc);
          }
        } else {
          AxpyF32(isa, hd, w, reinterpret_cast<const float*>(vrow) + kvh * hd, acc);
        }
      }
      for (int64_t d = 0; d < hd; ++d) {
        const float l[8] = {lanes[d], lanes[hd + d], lanes[2 * hd + d], lanes[3 * hd + d],
                            lanes[4 * hd + d], lanes[5 * hd + d], lanes[6 * hd + d], lanes[7 * hd + d]};
        o[d] = Tree8(l);
      }
    }
  });
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
  // ggml_vec_swiglu_f32: x / (1 + ggml_v_expf(-x)) * up in blocks of 8, expf for the tail.
  const int64_t n8 = n / 8 * 8;
  int64_t i0 = 0;
#if defined(EMBER_OPS_AVX2)
  if (HaveAvx2()) i0 = SwiGluAvx2(gate, up, n8, out);  // the same steps 8 at a time
#endif
  for (int64_t i = i0; i < n; ++i) {
    const float g = gate[i];
    const float ex = i < n8 ? ExpGgml(0.0f - g) : std::exp(-g);
    out[i] = g / (1.0f + ex) * up[i];
  }
}

namespace {

// GELU (tanh form) of every F16 value, rounded to F16, as ggml's table: the gate is rounded to
// F16 first, so 65,536 entries give every result, and a look-up replaces a tanh per element.
const std::vector<uint16_t>& GeluF16Table() {
  static const std::vector<uint16_t> table = [] {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    constexpr float kCoefA = 0.044715f;
    std::vector<uint16_t> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) {
      const float x = HalfToFloat(static_cast<uint16_t>(h));
      const float gelu = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
      t[h] = FloatToHalf(gelu);
    }
    return t;
  }();
  return table;
}

}  // namespace

namespace {
#if defined(EMBER_OPS_AVX2)
// GeGlu 8 at a time: F16C rounds the gates (the same bits as FloatToHalf), the table gives the
// F16 results, and the two ranges outside the table are blended in.
__attribute__((target("avx2,fma,f16c"))) int64_t GeGluAvx2(const uint16_t* table, const float* gate,
                                                         const float* up, int64_t n, float* out) {
  const __m256 lo = _mm256_set1_ps(-10.0f), hi = _mm256_set1_ps(10.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 u = _mm256_loadu_ps(up + i);
    alignas(16) uint16_t h[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(h),
                    _mm256_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (int l = 0; l < 8; ++l) h[l] = table[h[l]];
    const __m256 gelu = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
    __m256 r = _mm256_mul_ps(gelu, u);
    r = _mm256_blendv_ps(r, _mm256_mul_ps(g, u), _mm256_cmp_ps(g, hi, _CMP_GE_OQ));
    r = _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_cmp_ps(g, lo, _CMP_LE_OQ));
    _mm256_storeu_ps(out + i, r);
  }
  return i;
}
#endif
}  // namespace

void GeGlu(const float* gate, const float* up, int64_t n, float* out) {
  const uint16_t* table = GeluF16Table().data();
  int64_t i0 = 0;
#if defined(EMBER_OPS_AVX2)
  if (HaveAvx2()) i0 = GeGluAvx2(table, gate, up, n, out);
#endif
  for (int64_t i = i0; i < n; ++i) {
    const float g = gate[i];
    if (g <= -10.0f) {
      out[i] = 0.0f;
    } else if (g >= 10.0f) {
      out[i] = g * up[i];
    } else {
      out[i] = HalfToFloat(table[FloatToHalf(g)]) * up[i];
    }
  }
}

void Add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void AddRow(float* x, const float* b, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) Add(x + r * n, b, n);
}

void Scale(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void SoftCap(float* x, int64_t n, float cap) {
  // As llama.cpp's graph: scale by 1/cap, tanh, scale by cap.
  const float inv = 1.0f / cap;
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] * inv) * cap;
}

}  // namespace ember::cpu
