// Small helpers shared by the CPU kernel files (dot_avx2, gemm_*_avx2, ops): one definition of
// each. The AVX2 ones carry their own target attribute ("avx2,fma", a subset of what every
// kernel function is compiled for), so files built without -mavx2 can inline them into their
// AVX2 functions; they exist only where <immintrin.h> does (x86-64 GCC/Clang).
#pragma once

#include <cstdint>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_HAVE_AVX2_UTIL 1
#endif

namespace ember::cpu {

inline constexpr uint64_t kAlign = 64;

inline uint64_t AlignUp(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// A thread's scratch, grown on demand and 64-byte aligned. One buffer per thread for all tile
// kernels: a task uses it from its start to its end, and tasks do not nest.
inline uint8_t* ThreadScratch(uint64_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes + kAlign) buf.resize(bytes + kAlign);
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.data()) + kAlign - 1) / kAlign * kAlign);
}

#if defined(EMBER_HAVE_AVX2_UTIL)

// Decode reads every weight byte once, straight from memory. The hardware prefetchers alone left
// both cores waiting on it: TinyLlama 1.1B Q8_0 tg32 -t 2 went from 15.7-18.5 to 20.1-24.4 t/s
// (4 alternating runs) when the row dots request the bytes kPrefetchAhead ahead of the block
// they work on; 512 bytes ahead gained little, 1 KiB some, 2 KiB most, 4-8 KiB no more. Other
// rows in the same runs: Gemma 3 270M 62-68 -> 66-82 t/s (its Q8_0 output matrix), SmolLM2
// 126-149 -> 136-155, TinyLlama Q8_0 -t 1 10.0-11.2 -> 13.6-15.5. Used by the row dots only: the
// repacked decode kernels already keep 4 streams per core in flight, and prefetching those too
// made TinyLlama Q4_K_M slower (32-39 -> 24-34 t/s).
inline constexpr uint64_t kPrefetchAhead = 2048;

// Prefetches the cache lines of [p + kPrefetchAhead, p + kPrefetchAhead + bytes). A prefetch
// never faults, so reading past the end of the matrix is harmless.
inline void PrefetchAhead(const void* p, uint64_t bytes) {
  const char* c = static_cast<const char*>(p) + kPrefetchAhead;
  for (uint64_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
}

// vdpbf16ps on 256-bit registers (AVX-512 BF16 with VL, EVEX): acc lane l += a[2l] b[2l] +
// a[2l+1] b[2l+1], BF16 pairs, F32 sums. Inline assembly (as int8_dot_step.h's vpdpbusd) so that
// callers need no AVX-512 target; call only where cpu_features' HasAvx512Bf16().
__attribute__((target("avx2,fma"))) inline void DpBf16(__m256& acc, __m256i a, __m256i b) {
  __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
}

// The 8 lanes' sum in ggml's hsum_float_8 order ((lo + hi), then pairs, then the last two): the
// final step of every dot product whose bits must be llama.cpp's.
__attribute__((target("avx2,fma"))) inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Hsum of 8 vectors at once: lane k of the result is Hsum(v[k]), with the same
// additions on the same operands -- (l0+l4, l1+l5, l2+l6, l3+l7), then (s0+s2, s1+s3), then
// t0+t1 -- so the same bits, in 20 operations against 8 x 6 and 8 scalar stores.
// The vectors are passed by value: an array passed by reference kept GCC storing the callers'
// accumulators to the stack in every step of their loops.
__attribute__((target("avx2,fma"))) inline __m256 HalvesSummed(__m256 a, __m256 b) {
  // [a's halves summed | b's halves summed]
  return _mm256_add_ps(_mm256_insertf128_ps(a, _mm256_castps256_ps128(b), 1), _mm256_permute2f128_ps(a, b, 0x31));
}
__attribute__((target("avx2,fma"))) inline __m256 Hsum8(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 v4,
                                                      __m256 v5, __m256 v6, __m256 v7) {
  const __m256 x[4] = {HalvesSummed(v0, v4), HalvesSummed(v1, v5), HalvesSummed(v2, v6), HalvesSummed(v3, v7)};
  // Per 128-bit half: (s0+s2, s1+s3) of vectors k and k+1 side by side.
  const __m256 y01 = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(x[0]), _mm256_castps_pd(x[1]))),
                                   _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(x[0]), _mm256_castps_pd(x[1]))));
  const __m256 y23 = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(x[2]), _mm256_castps_pd(x[3]))),
                                   _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(x[2]), _mm256_castps_pd(x[3]))));
  // t0 + t1 of vectors 0-3 in the low half, 4-7 in the high one.
  return _mm256_add_ps(_mm256_shuffle_ps(y01, y23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm256_shuffle_ps(y01, y23, _MM_SHUFFLE(3, 1, 3, 1)));
}

__attribute__((target("avx2,fma"))) inline __m256i Load(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
__attribute__((target("avx2,fma"))) inline __m256i LoadA(const void* p) {
  return _mm256_load_si256(static_cast<const __m256i*>(p));
}
__attribute__((target("avx2,fma"))) inline void StoreA(void* p, __m256i v) {
  _mm256_store_si256(static_cast<__m256i*>(p), v);
}

// A loaded vector the compiler must keep in a register: GCC otherwise folds the load into every
// instruction that reads it (one more memory operand per use), and 256-bit loads, 2 per cycle
// on Zen 3, become the bound of the tile kernels (the K-quant prompt tile, the attention scores).
__attribute__((target("avx2,fma"))) inline void KeepInRegister(__m256i& v) { __asm__("" : "+v"(v)); }
__attribute__((target("avx2,fma"))) inline void KeepInRegister(__m256& v) { __asm__("" : "+v"(v)); }

// In place, the 8 x 8 transpose of 32-bit elements: afterwards v[k] holds element k of each of
// the 8 input vectors, in order (gemm_signed8_tile.h's panel, gemm_amx_tile.h's repacked rows).
__attribute__((target("avx2,fma"))) inline void Transpose8x8Epi32(__m256i* v) {
  const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(v[4], v[5]), t5 = _mm256_unpackhi_epi32(v[4], v[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(v[6], v[7]), t7 = _mm256_unpackhi_epi32(v[6], v[7]);
  // u0: elements 0 (low half) and 4 (high half) of inputs 0..3; u4 the same of inputs 4..7; etc.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  v[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  v[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  v[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  v[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  v[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  v[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  v[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  v[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

#endif

}  // namespace ember::cpu
