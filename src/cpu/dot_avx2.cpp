// AVX2 dot products (with FMA and F16C), compiled for AVX2 through function attributes so the
// file builds in portable mode too; they run only when cpu_features says the CPU has AVX2.
// Each mirrors its scalar reference in dot_scalar.cpp: per-block exact integer sums of 8-bit
// products (maddubs + madd), then one float multiply-add per block.
#include "cpu/dot.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EMBER_HAVE_AVX2_KERNELS 1
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "core/half.h"
#include "cpu/avx2_util.h"
#include "cpu/int8_dot_step.h"
#include "quant/blocks.h"

#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ember::avx2 {
namespace {

// F16 -> F32 with the F16C instruction: exact, like core/half.h's HalfToFloat, but inline (a
// call per block costs more than the block's arithmetic).
EMBER_AVX2 inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

using cpu::Hsum;  // cpu/avx2_util.h

EMBER_AVX2 inline int HsumI32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles first (elements 0..15), then high (16..31).
EMBER_AVX2 inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, 0xFF where bit j is set (byte j <-> bit j).
EMBER_AVX2 inline __m256i BitsToBytes(const uint8_t* p) {
  uint32_t x32;
  std::memcpy(&x32, p, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                         0x0101010101010101, 0x0000000000000000);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x32)), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

// Sum of u8 x s8 products, as 8 int32 lanes.
EMBER_AVX2 inline __m256i DotU8I8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Sum of s8 x s8 products: move x's sign onto y so maddubs sees |x| unsigned.
EMBER_AVX2 inline __m256i DotI8I8(__m256i x, __m256i y) {
  return DotU8I8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// 16 bytes of IQ4 nibbles -> 32 signed levels: low nibbles (elements 0..15), then high (16..31).
// The nibbles as Nibbles() gives them, then one 256-bit table lookup (the 16 levels in both
// 128-bit lanes): 5 vector operations where two 128-bit lookups and their masks took 7.
EMBER_AVX2 inline __m256i Iq4Levels(const uint8_t* qs) {
  const __m256i values = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  return _mm256_shuffle_epi8(values, Nibbles(qs));
}

EMBER_AVX2 inline __m256i Load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

}  // namespace

bool Compiled() { return true; }

namespace {

// The float formats' 8 elements at p as F32 (FloatDot's and FloatRowDots' loads), and one element.
struct LoadF32 {
  using T = float;
  EMBER_AVX2 static __m256 Eight(const float* p) { return _mm256_loadu_ps(p); }
  EMBER_AVX2 static float One(float v) { return v; }
};
struct LoadF16 {
  using T = uint16_t;
  EMBER_AVX2 static __m256 Eight(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  EMBER_AVX2 static float One(uint16_t v) { return HalfToFloat(v); }
};
// BF16 widened to F32 by a 16-bit shift, as llamafile's tinyBLAS on AVX2 (llama.cpp's path for
// BF16 weights there).
struct LoadBF16 {
  using T = uint16_t;
  EMBER_AVX2 static __m256 Eight(const uint16_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  EMBER_AVX2 static float One(uint16_t v) { return Bf16ToFloat(v); }
};

// One accumulator, as llamafile's tinyBLAS: lane l sums elements i = l (mod 8) in order by fused
// multiply-adds, then Hsum and the last n mod 8 products in order.
template <class L>
EMBER_AVX2 inline float FloatTail(float sum, int64_t i, int64_t n, const typename L::T* x, const typename L::T* y) {
  for (; i < n; ++i) sum += L::One(x[i]) * L::One(y[i]);
  return sum;
}
template <class L>
EMBER_AVX2 inline float FloatDot(int64_t n, const typename L::T* x, const typename L::T* y) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(L::Eight(x + i), L::Eight(y + i), acc);
  return FloatTail<L>(Hsum(acc), i, n, x, y);
}

// FloatDot on two rows at a time, from the two halves of the range as LegacyRowDots (each row
// the bits of its own FloatDot): one row's accumulator is a chain of dependent multiply-adds, 4
// cycles per 8 elements, which held one core to 16 bytes of F16 per 4 cycles (Zen 4: 15.8 GB/s
// from memory, 20.5 in cache); two chains share the activations' loads and conversions, and each
// row prefetches its own bytes kPrefetchAhead ahead, one line per 64 bytes.
template <class L>
EMBER_AVX2 inline void FloatRowDots(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
                                    const void* a, float* y) {
  using T = typename L::T;
  constexpr int64_t kLine = 64 / sizeof(T);  // elements per cache line
  const auto* ya = static_cast<const T*>(a);
  const auto row = [&](int64_t r) { return reinterpret_cast<const T*>(w + static_cast<uint64_t>(r) * row_bytes); };
  const int64_t half = (r1 - r0) / 2;
  for (int64_t t = 0; t < half; ++t) {
    const T* x0 = row(r0 + t);
    const T* x1 = row(r0 + half + t);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + kLine <= n; i += kLine) {
      cpu::PrefetchAhead(x0 + i, 1);
      cpu::PrefetchAhead(x1 + i, 1);
      for (int64_t j = i; j < i + kLine; j += 8) {
        const __m256 vy = L::Eight(ya + j);
        acc0 = _mm256_fmadd_ps(L::Eight(x0 + j), vy, acc0);
        acc1 = _mm256_fmadd_ps(L::Eight(x1 + j), vy, acc1);
      }
    }
    for (; i + 8 <= n; i += 8) {
      const __m256 vy = L::Eight(ya + i);
      acc0 = _mm256_fmadd_ps(L::Eight(x0 + i), vy, acc0);
      acc1 = _mm256_fmadd_ps(L::Eight(x1 + i), vy, acc1);
    }
    y[t] = FloatTail<L>(Hsum(acc0), i, n, x0, ya);
    y[half + t] = FloatTail<L>(Hsum(acc1), i, n, x1, ya);
  }
  if ((r1 - r0) % 2 != 0) y[r1 - 1 - r0] = FloatDot<L>(n, row(r1 - 1), ya);
}

}  // namespace

EMBER_AVX2 float DotF32F32(int64_t n, const float* x, const float* y) { return FloatDot<LoadF32>(n, x, y); }

EMBER_AVX2 float DotF32(int64_t n, const void* w, const void* a) {
  return FloatDot<LoadF32>(n, static_cast<const float*>(w), static_cast<const float*>(a));
}

EMBER_AVX2 float DotF16(int64_t n, const void* w, const void* a) {
  return FloatDot<LoadF16>(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a));
}

EMBER_AVX2 float DotBF16(int64_t n, const void* w, const void* a) {
  return FloatDot<LoadBF16>(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a));
}

// BF16 on CPUs with AVX-512 BF16: one 8-lane accumulator of vdpbf16ps steps (lane l adds the
// products of elements 16k + 2l and 16k + 2l + 1 over the whole 16-element steps k), then Hsum
// and the last n mod 16 products in order. float_gemm's BF16 tile keeps the same order.
EMBER_AVX2 inline float Bf16PairsTail(float sum, int64_t i, int64_t n, const uint16_t* x, const uint16_t* y) {
  for (; i < n; ++i) sum += Bf16ToFloat(x[i]) * Bf16ToFloat(y[i]);
  return sum;
}
EMBER_AVX2 float DotBF16Pairs(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) cpu::DpBf16(acc, Load256(x + i), Load256(y + i));
  return Bf16PairsTail(Hsum(acc), i, n, x, y);
}
// Two rows at a time from the two halves of the range (FloatRowDots' walk), each row the bits of
// DotBF16Pairs. Zen 4, 2026-11-30, one core, 1024 x 512 in cache: 29.7 -> 53.4 GB/s (the FMA
// pairs before); from memory bandwidth-bound either way.
EMBER_AVX2 void RowDotsBF16Pairs(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
                                 const void* a, float* y) {
  const auto* ya = static_cast<const uint16_t*>(a);
  const auto row = [&](int64_t r) { return reinterpret_cast<const uint16_t*>(w + static_cast<uint64_t>(r) * row_bytes); };
  const int64_t half = (r1 - r0) / 2;
  for (int64_t t = 0; t < half; ++t) {
    const uint16_t* x0 = row(r0 + t);
    const uint16_t* x1 = row(r0 + half + t);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      cpu::PrefetchAhead(x0 + i, 1);
      cpu::PrefetchAhead(x1 + i, 1);
      const __m256i y0 = Load256(ya + i), y1 = Load256(ya + i + 16);
      cpu::DpBf16(acc0, Load256(x0 + i), y0);
      cpu::DpBf16(acc1, Load256(x1 + i), y0);
      cpu::DpBf16(acc0, Load256(x0 + i + 16), y1);
      cpu::DpBf16(acc1, Load256(x1 + i + 16), y1);
    }
    for (; i + 16 <= n; i += 16) {
      const __m256i y0 = Load256(ya + i);
      cpu::DpBf16(acc0, Load256(x0 + i), y0);
      cpu::DpBf16(acc1, Load256(x1 + i), y0);
    }
    y[t] = Bf16PairsTail(Hsum(acc0), i, n, x0, ya);
    y[half + t] = Bf16PairsTail(Hsum(acc1), i, n, x1, ya);
  }
  if ((r1 - r0) % 2 != 0) y[r1 - 1 - r0] = DotBF16Pairs(n, row(r1 - 1), ya);
}

EMBER_AVX2 void RowDotsF32(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                           float* y) {
  FloatRowDots<LoadF32>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsF16(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                           float* y) {
  FloatRowDots<LoadF16>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsBF16(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                            float* y) {
  FloatRowDots<LoadBF16>(n, w, row_bytes, r0, r1, a, y);
}

namespace {

// d_x * d_y of two blocks that start with an F16 scale (followed by at least 2 more bytes of the
// block), broadcast: one 4-byte load and one conversion per value. The separate 2-byte inserts
// it replaces cost a shuffle each, and these loops are short of vector ports, not of loads.
EMBER_AVX2 inline __m256 ScaleProduct(const uint16_t* xd, const uint16_t* yd) {
  int32_t xb, yb;
  std::memcpy(&xb, xd, 4);
  std::memcpy(&yb, yd, 4);
  return _mm256_broadcastss_ps(_mm_mul_ss(_mm_cvtph_ps(_mm_cvtsi32_si128(xb)), _mm_cvtph_ps(_mm_cvtsi32_si128(yb))));
}

// Q4_1 / Q5_1 against Q8_1: both blocks start with two F16 values, (d, m) and (d, s). One 4-byte
// load and one conversion per block each: lane 0 of their product is the scale d_x * d_y,
// broadcast, and lane 1 of `mins` runs ggml's `summs += m * s` (a product of two F16 values is
// exact in float, so fused or not gives the same bits; lane 0 of `mins` is unused). Before, each
// of the four halves took an insert and a conversion of its own: ~17 vector operations per
// block, now ~11 (kernel_bench Decode/Q4_1, one core: 7.9 -> 12.5 GB/s).
EMBER_AVX2 inline __m256 ScaleAndMin(const uint16_t* x_dm, const uint16_t* y_ds, __m128& mins) {
  int32_t xb, yb;
  std::memcpy(&xb, x_dm, 4);
  std::memcpy(&yb, y_ds, 4);
  const __m128 xs = _mm_cvtph_ps(_mm_cvtsi32_si128(xb));
  const __m128 ys = _mm_cvtph_ps(_mm_cvtsi32_si128(yb));
  mins = _mm_fmadd_ps(xs, ys, mins);
  return _mm256_broadcastss_ps(_mm_mul_ps(xs, ys));
}

// The legacy formats' per-block step as ggml's AVX2 vec_dots do it: the block's 8 int32 lane
// sums (lane l taking elements 4l..4l+3), converted and multiplied-added by d_x * d_y into one
// 8-lane accumulator, blocks in order; Q4_1/Q5_1 also run the min term. (LegacyRowDots runs two
// rows side by side, from the two halves of its range: two adjacent rows, each one's prefetch
// landing on the other, were slower from memory.)
struct StepQ4_0 {
  using X = BlockQ4_0;
  using Y = BlockQ8_0;
  static constexpr bool kMin = false;
  EMBER_AVX2 static __m256i Lanes(const X& x, const Y& y) {
    return DotI8I8(_mm256_sub_epi8(Nibbles(x.qs), _mm256_set1_epi8(8)), Load256(y.qs));
  }
};
struct StepQ4_1 {
  using X = BlockQ4_1;
  using Y = BlockQ8_1;
  static constexpr bool kMin = true;
  EMBER_AVX2 static __m256i Lanes(const X& x, const Y& y) { return DotU8I8(Nibbles(x.qs), Load256(y.qs)); }
};
struct StepQ5_0 {
  using X = BlockQ5_0;
  using Y = BlockQ8_0;
  static constexpr bool kMin = false;
  EMBER_AVX2 static __m256i Lanes(const X& x, const Y& y) {
    // Where the 5th bit is clear, nibble | 0xF0 is nibble - 16 as a signed byte.
    const __m256i hi = _mm256_andnot_si256(BitsToBytes(x.qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    return DotI8I8(_mm256_or_si256(Nibbles(x.qs), hi), Load256(y.qs));
  }
};
struct StepQ5_1 {
  using X = BlockQ5_1;
  using Y = BlockQ8_1;
  static constexpr bool kMin = true;
  EMBER_AVX2 static __m256i Lanes(const X& x, const Y& y) {
    const __m256i hi = _mm256_and_si256(BitsToBytes(x.qh), _mm256_set1_epi8(0x10));
    return DotU8I8(_mm256_or_si256(Nibbles(x.qs), hi), Load256(y.qs));
  }
};
struct StepQ8_0 {
  using X = BlockQ8_0;
  using Y = BlockQ8_0;
  static constexpr bool kMin = false;
  EMBER_AVX2 static __m256i Lanes(const X& x, const Y& y) { return DotI8I8(Load256(x.qs), Load256(y.qs)); }
};
// IQ4_NL as Q4_0 with a table lookup for the levels. That is also the order of llamafile's
// tinyBLAS_Q0_AVX, which llama.cpp runs for IQ4_NL prompt batches (without weight repacking), so
// prompt logits can match llama.cpp's bits. (llama.cpp's single-token ggml_vec_dot_iq4_nl_q8_0
// splits even and odd blocks over two accumulators instead: its decode and prefill differ in the
// last bits, ember's do not.)
struct StepIQ4NL {
  using X = BlockIQ4NL;
  using Y = BlockQ8_0;
  static constexpr bool kMin = false;
  EMBER_AVX2 static __m256i Lanes(const X& x, const Y& y) { return DotI8I8(Iq4Levels(x.qs), Load256(y.qs)); }
};

template <class S>
EMBER_AVX2 inline void LegacyStep(const typename S::X& x, const typename S::Y& y, __m256& acc, __m128& mins) {
  const __m256i dot = S::Lanes(x, y);
  __m256 d;
  if constexpr (S::kMin) {
    d = ScaleAndMin(&x.d, &y.d, mins);
  } else {
    d = ScaleProduct(&x.d, &y.d);
  }
  acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
}

template <class S>
EMBER_AVX2 inline float LegacyResult(__m256 acc, __m128 mins) {
  if constexpr (S::kMin) return Hsum(acc) + _mm_cvtss_f32(_mm_movehdup_ps(mins));
  return Hsum(acc);
}

template <class S>
EMBER_AVX2 inline float LegacyDot(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const typename S::X*>(w);
  const auto* y = static_cast<const typename S::Y*>(a);
  __m256 acc = _mm256_setzero_ps();
  __m128 mins = _mm_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    cpu::PrefetchAhead(x + i, 1);  // blocks of 18-34 bytes: one line per block covers them all
    LegacyStep<S>(x[i], y[i], acc, mins);
  }
  return LegacyResult<S>(acc, mins);
}


// Consecutive rows in one loop, each row's steps exactly as LegacyDot's (the same bits): no call
// through the kernel pointer per row, and a row's horizontal sum overlaps the next row's first
// blocks. Measured tg -t 2, alternating runs: SmolLM2 Q4_1 (576-wide rows, in cache) 163-167 ->
// 185-188 t/s; TinyLlama Q8_0 and Gemma 3 (streaming from memory) unchanged.
//
// Two rows at a time, from the two halves of the range: each row's accumulator is one chain of
// dependent multiply-adds (4 cycles a block), so one row at a time left the core waiting on it
// (Q8_0, one core, in cache: 29 GB/s, the chain's bound at 34 bytes per 4 cycles). Rows far apart
// keep two plain streams, each prefetching its own next row (PrefetchAhead); two adjacent rows
// had each prefetch land on the other row, and read from memory at 9 GB/s. Zen 4, 2026-11-30,
// Q8_0 5632 x 2048: one core in cache 29.0 -> 31.9 GB/s, from memory 19.8-21.2 -> 24.8-25.3;
// end to end in one process, alternating, tg -t 2, median of paired ratios: SmolLM2 (Q4_1)
// 1.095, Gemma 3 (Q8_0 output matrix) 1.138, TinyLlama Q8_0 1.095 and 1.096.
template <class S>
EMBER_AVX2 inline void LegacyRowDots(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
                                     const void* a, float* y) {
  const auto* ya = static_cast<const typename S::Y*>(a);
  const auto row = [&](int64_t r) { return reinterpret_cast<const typename S::X*>(w + static_cast<uint64_t>(r) * row_bytes); };
  const int64_t half = (r1 - r0) / 2;
  for (int64_t t = 0; t < half; ++t) {
    const auto* x0 = row(r0 + t);
    const auto* x1 = row(r0 + half + t);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m128 mins0 = _mm_setzero_ps(), mins1 = _mm_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
      cpu::PrefetchAhead(x0 + i, 1);
      cpu::PrefetchAhead(x1 + i, 1);
      LegacyStep<S>(x0[i], ya[i], acc0, mins0);
      LegacyStep<S>(x1[i], ya[i], acc1, mins1);
    }
    y[t] = LegacyResult<S>(acc0, mins0);
    y[half + t] = LegacyResult<S>(acc1, mins1);
  }
  if ((r1 - r0) % 2 != 0) y[r1 - 1 - r0] = LegacyDot<S>(n, row(r1 - 1), a);
}
}  // namespace

EMBER_AVX2 float DotQ4_0(int64_t n, const void* w, const void* a) { return LegacyDot<StepQ4_0>(n, w, a); }
EMBER_AVX2 float DotQ4_1(int64_t n, const void* w, const void* a) { return LegacyDot<StepQ4_1>(n, w, a); }
EMBER_AVX2 float DotQ5_0(int64_t n, const void* w, const void* a) { return LegacyDot<StepQ5_0>(n, w, a); }
EMBER_AVX2 float DotQ5_1(int64_t n, const void* w, const void* a) { return LegacyDot<StepQ5_1>(n, w, a); }
EMBER_AVX2 float DotQ8_0(int64_t n, const void* w, const void* a) { return LegacyDot<StepQ8_0>(n, w, a); }
EMBER_AVX2 float DotIQ4NL(int64_t n, const void* w, const void* a) { return LegacyDot<StepIQ4NL>(n, w, a); }
EMBER_AVX2 void RowDotsQ4_0(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                          float* y) {
  LegacyRowDots<StepQ4_0>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ4_1(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                          float* y) {
  LegacyRowDots<StepQ4_1>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ5_0(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                          float* y) {
  LegacyRowDots<StepQ5_0>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ5_1(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                          float* y) {
  LegacyRowDots<StepQ5_1>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ8_0(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                          float* y) {
  LegacyRowDots<StepQ8_0>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsIQ4NL(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                             float* y) {
  LegacyRowDots<StepIQ4NL>(n, w, row_bytes, r0, r1, a, y);
}

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
// GCC 12 reports "'__Y' may be used uninitialized" inside its own 512-bit intrinsics (their
// undefined pass-through operands) once they are inlined here: a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace {

// LegacyRowDots with its two rows side by side in one 512-bit register (row 0 in lanes 0-7, row
// 1 in lanes 8-15), for CPUs with AVX-512 BW and VNNI (Isa::kAvx512). Every operation of the
// 256-bit step serves both rows: one code unpack, one vpdpbusd (the same int32 lane sums as
// maddubs + madd: 4 products per lane, no 16-bit pair reaches saturation), one conversion and
// one multiply-add, where the 256-bit code ran each twice. Each row's 8 lanes take the same
// float operations in the same order as LegacyStep's, so every row keeps its dot's bits.

// y's 32 codes in both halves.
EMBER_AVX2 inline __m512i BroadcastCodes(const int8_t* qs) { return _mm512_broadcast_i64x4(Load256(qs)); }

// [row 0's 32 bytes | row 1's].
EMBER_AVX2 inline __m512i PairOf256(const void* p0, const void* p1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(Load256(p0)), Load256(p1), 1);
}

// [Nibbles(q0) | Nibbles(q1)]: both rows' 16 bytes in one 256-bit register, shifted once, and the
// low and high halves interleaved by one two-source permute.
EMBER_AVX2 inline __m512i NibblePair(const uint8_t* q0, const uint8_t* q1) {
  const __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q0))),
                                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)), 1);
  const __m256i h = _mm256_srli_epi16(t, 4);
  const __m512i order = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);  // q0 low, q0 >> 4, q1 low, q1 >> 4
  const __m512i both = _mm512_permutex2var_epi64(_mm512_castsi256_si512(t), order, _mm512_castsi256_si512(h));
  return _mm512_and_si512(both, _mm512_set1_epi8(0x0F));
}

// Both rows' 5th bits: bit j of row 0's qh for byte j, of row 1's for byte 32 + j.
EMBER_AVX2 inline __mmask64 HighBitsPair(const uint8_t* qh0, const uint8_t* qh1) {
  uint32_t a, b;
  std::memcpy(&a, qh0, 4);
  std::memcpy(&b, qh1, 4);
  return _cvtu64_mask64(uint64_t{a} | (uint64_t{b} << 32));
}

// Unsigned codes u (0..31) against y: 16 int32 lanes of 4 products each.
EMBER_AVX2 inline __m512i DotU8I8Pair(__m512i u, __m512i y) {
  __m512i acc = _mm512_setzero_si512();
  cpu::int8_step::Dpbusd512(acc, u, y);
  return acc;
}

// Signed codes x against y: |x| times y with x's sign (DotI8I8's trick; AVX-512 has no vpsignb,
// so y is negated under x's sign mask -- where x is 0 the product is 0 either way).
EMBER_AVX2 inline __m512i DotI8I8Pair(__m512i x, __m512i y) {
  const __m512i ys = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), _mm512_setzero_si512(), y);
  return DotU8I8Pair(_mm512_abs_epi8(x), ys);
}

EMBER_AVX2 inline __m512i LanesPair(const BlockQ4_0& x0, const BlockQ4_0& x1, const BlockQ8_0& y) {
  return DotI8I8Pair(_mm512_sub_epi8(NibblePair(x0.qs, x1.qs), _mm512_set1_epi8(8)), BroadcastCodes(y.qs));
}
EMBER_AVX2 inline __m512i LanesPair(const BlockQ4_1& x0, const BlockQ4_1& x1, const BlockQ8_1& y) {
  return DotU8I8Pair(NibblePair(x0.qs, x1.qs), BroadcastCodes(y.qs));
}
EMBER_AVX2 inline __m512i LanesPair(const BlockQ5_0& x0, const BlockQ5_0& x1, const BlockQ8_0& y) {
  // Where the 5th bit is clear the code is nibble - 16.
  const __m512i nib = NibblePair(x0.qs, x1.qs);
  const __m512i q = _mm512_mask_sub_epi8(nib, _knot_mask64(HighBitsPair(x0.qh, x1.qh)), nib, _mm512_set1_epi8(16));
  return DotI8I8Pair(q, BroadcastCodes(y.qs));
}
EMBER_AVX2 inline __m512i LanesPair(const BlockQ5_1& x0, const BlockQ5_1& x1, const BlockQ8_1& y) {
  const __m512i nib = NibblePair(x0.qs, x1.qs);
  const __m512i q = _mm512_mask_add_epi8(nib, HighBitsPair(x0.qh, x1.qh), nib, _mm512_set1_epi8(16));
  return DotU8I8Pair(q, BroadcastCodes(y.qs));
}
EMBER_AVX2 inline __m512i LanesPair(const BlockQ8_0& x0, const BlockQ8_0& x1, const BlockQ8_0& y) {
  return DotI8I8Pair(PairOf256(x0.qs, x1.qs), BroadcastCodes(y.qs));
}
EMBER_AVX2 inline __m512i LanesPair(const BlockIQ4NL& x0, const BlockIQ4NL& x1, const BlockQ8_0& y) {
  const __m512i values = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  return DotI8I8Pair(_mm512_shuffle_epi8(values, NibblePair(x0.qs, x1.qs)), BroadcastCodes(y.qs));
}

// [d0 * dy in lanes 0-7 | d1 * dy in lanes 8-15]: each the one rounded product ScaleProduct forms.
EMBER_AVX2 inline __m512 ScalesPair(const uint16_t* x0d, const uint16_t* x1d, const uint16_t* yd) {
  const __m128 xs = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(uint32_t{*x0d} | (uint32_t{*x1d} << 16))));
  const __m128 ys = _mm_cvtph_ps(_mm_set1_epi16(static_cast<short>(*yd)));
  return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                               _mm512_castps128_ps512(_mm_mul_ps(xs, ys)));
}

// ScaleAndMin for both rows: lanes 1 and 3 of `mins` run row 0's and row 1's `summs += m * s`.
EMBER_AVX2 inline __m512 ScalesAndMinsPair(const uint16_t* x0_dm, const uint16_t* x1_dm, const uint16_t* y_ds,
                                           __m128& mins) {
  uint32_t a, b, c;
  std::memcpy(&a, x0_dm, 4);
  std::memcpy(&b, x1_dm, 4);
  std::memcpy(&c, y_ds, 4);
  const __m128 xs = _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(uint64_t{a} | (uint64_t{b} << 32))));
  const __m128 ys = _mm_cvtph_ps(_mm_set1_epi32(static_cast<int>(c)));  // (d, s) twice
  mins = _mm_fmadd_ps(xs, ys, mins);
  return _mm512_permutexvar_ps(_mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0),
                               _mm512_castps128_ps512(_mm_mul_ps(xs, ys)));
}

template <class S>
EMBER_AVX2 inline void LegacyRowDotsZmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
                                        const void* a, float* y) {
  const auto* ya = static_cast<const typename S::Y*>(a);
  const auto row = [&](int64_t r) { return reinterpret_cast<const typename S::X*>(w + static_cast<uint64_t>(r) * row_bytes); };
  const int64_t half = (r1 - r0) / 2;
  for (int64_t t = 0; t < half; ++t) {
    const auto* x0 = row(r0 + t);
    const auto* x1 = row(r0 + half + t);
    __m512 acc = _mm512_setzero_ps();
    __m128 mins = _mm_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
      cpu::PrefetchAhead(x0 + i, 1);
      cpu::PrefetchAhead(x1 + i, 1);
      const __m512i dot = LanesPair(x0[i], x1[i], ya[i]);
      __m512 d;
      if constexpr (S::kMin) {
        d = ScalesAndMinsPair(&x0[i].d, &x1[i].d, &ya[i].d, mins);
      } else {
        d = ScalesPair(&x0[i].d, &x1[i].d, &ya[i].d);
      }
      acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dot), acc);
    }
    const __m256 acc0 = _mm512_castps512_ps256(acc);
    const __m256 acc1 = _mm512_extractf32x8_ps(acc, 1);
    if constexpr (S::kMin) {
      y[t] = Hsum(acc0) + _mm_cvtss_f32(_mm_movehdup_ps(mins));
      y[half + t] = Hsum(acc1) + _mm_cvtss_f32(_mm_shuffle_ps(mins, mins, 3));
    } else {
      y[t] = Hsum(acc0);
      y[half + t] = Hsum(acc1);
    }
  }
  if ((r1 - r0) % 2 != 0) y[r1 - 1 - r0] = LegacyDot<S>(n, row(r1 - 1), a);
}

}  // namespace
#pragma GCC diagnostic pop

bool ZmmRowDotsCompiled() { return true; }
EMBER_AVX2 void RowDotsQ4_0Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                               float* y) {
  LegacyRowDotsZmm<StepQ4_0>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ4_1Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                               float* y) {
  LegacyRowDotsZmm<StepQ4_1>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ5_0Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                               float* y) {
  LegacyRowDotsZmm<StepQ5_0>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ5_1Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                               float* y) {
  LegacyRowDotsZmm<StepQ5_1>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsQ8_0Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                               float* y) {
  LegacyRowDotsZmm<StepQ8_0>(n, w, row_bytes, r0, r1, a, y);
}
EMBER_AVX2 void RowDotsIQ4NLZmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
                                const void* a, float* y) {
  LegacyRowDotsZmm<StepIQ4NL>(n, w, row_bytes, r0, r1, a, y);
}
#else
// Built without AVX-512: the dispatch table never selects these.
bool ZmmRowDotsCompiled() { return false; }
void RowDotsQ4_0Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ4_1Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ5_0Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ5_1Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ8_0Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsIQ4NLZmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
#endif

namespace {

// Shared by Q4_K and Q5_K: the codes of sub-blocks 2c and 2c+1 are the low and high nibbles of
// qs[32c .. 32c+32), optionally with a 5th bit from qh. The float side follows ggml's AVX2
// kernels exactly (per-lane d * sums accumulated across blocks; the min term in 4 lanes for
// Q4_K, a running scalar for Q5_K) so that results are bit-identical to llama.cpp's.
template <bool kFive, typename Block>
EMBER_AVX2 inline float DotQ45K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const Block*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  float summs = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    cpu::PrefetchAhead(x + i, sizeof(x[i]));
    // The 8 scales and 8 mins as 16-bit lanes (UnpackScalesMinsK4, four bytes at a time), the
    // mins' products with the pair sums of bsums by one madd, and each sub-block's scale by one
    // byte shuffle: the same integers as the byte-wise unpacking and scalar products this replaced,
    // which cost ~65 cycles a super-block (Q5_K rows, one core in cache: 10 GB/s).
    constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
    uint32_t u[3];
    std::memcpy(u, x[i].scales, 12);
    const uint32_t sc_lo = u[0] & kLow6;                                     // scales 0..3
    const uint32_t sc_hi = (u[2] & kLow4) | (((u[0] >> 6) & kLow2) << 4);    // scales 4..7
    const uint32_t mn_lo = u[1] & kLow6;                                     // mins 0..3
    const uint32_t mn_hi = ((u[2] >> 4) & kLow4) | (((u[1] >> 6) & kLow2) << 4);  // mins 4..7
    const __m128i sm8 = _mm_set_epi32(static_cast<int>(mn_hi), static_cast<int>(mn_lo), static_cast<int>(sc_hi),
                                      static_cast<int>(sc_lo));
    const __m256i sm16 = _mm256_cvtepu8_epi16(sm8);  // scales in lanes 0..7, mins in 8..15
    const float d = y[i].d * HalfToFloat(x[i].d);
    const float dmin = -y[i].d * HalfToFloat(x[i].dmin);
    // Lane k of prod: m[2k] q8s[2k] + m[2k+1] q8s[2k+1], q8s[j] = bsums[2j] + bsums[2j+1].
    const __m256i bs = Load256(y[i].bsums);
    const __m128i q8s = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    const __m128i prod = _mm_madd_epi16(_mm256_extracti128_si256(sm16, 1), q8s);
    if constexpr (kFive) {
      const __m128i s2 = _mm_add_epi32(prod, _mm_unpackhi_epi64(prod, prod));
      const int32_t total = _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 1)));
      summs += dmin * static_cast<float>(total);
    } else {
      acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
    }
    const __m256i scales = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm16));
    __m256i sumi = _mm256_setzero_si256();
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFive) qh = Load256(x[i].qh);
    for (int c = 0; c < 4; ++c) {
      const __m256i q = Load256(x[i].qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (kFive) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      }
      // Every 16-bit lane the scale of sub-block 2c (then 2c + 1): bytes 4c, 4c + 1 (4c + 2, 4c + 3).
      const __m256i s_lo = _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<short>(0x0100 * (4 * c + 1) + 4 * c)));
      const __m256i s_hi = _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<short>(0x0100 * (4 * c + 3) + 4 * c + 2)));
      const __m256i plo = _mm256_maddubs_epi16(lo, Load256(y[i].qs + 64 * c));
      const __m256i phi = _mm256_maddubs_epi16(hi, Load256(y[i].qs + 64 * c + 32));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(plo, s_lo));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(phi, s_hi));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  if constexpr (kFive) {
    return Hsum(acc) + summs;
  } else {
    acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    return Hsum(acc) + _mm_cvtss_f32(acc_m);
  }
}

}  // namespace

EMBER_AVX2 float DotQ4K(int64_t n, const void* w, const void* a) {
  return DotQ45K<false, BlockQ4K>(n, w, a);
}

EMBER_AVX2 float DotQ5K(int64_t n, const void* w, const void* a) {
  return DotQ45K<true, BlockQ5K>(n, w, a);
}

namespace {

// One Q6_K super-block of DotQ6K into its float accumulator.
EMBER_AVX2 inline void Q6KStep(const BlockQ6K& x, const BlockQ8K& y, __m256& facc) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  cpu::PrefetchAhead(&x, sizeof(x));
  // The 16 scales once: each 32-element chunk's multiplier (scale s in lanes 0..7, s+1 in
  // 8..15) is one byte shuffle and one widening away, and the +32 code offset's correction
  // (32 x bsums . scales, lane k taking sub-blocks 2k and 2k+1) one madd -- vector work in
  // place of per-chunk scalar broadcasts and 8 scalar products stored and reloaded (a
  // store-forwarding stall every super-block).
  const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
  const __m256i sub = _mm256_slli_epi32(_mm256_madd_epi16(Load256(y.bsums), _mm256_cvtepi8_epi16(sc)), 5);
  __m256i acc = _mm256_setzero_si256();
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = x.ql + 64 * half;
    const __m256i qh = Load256(x.qh + 32 * half);
    const __m256i ql0 = Load256(ql);
    const __m256i ql1 = Load256(ql + 32);
    __m256i q[4];
    q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
    for (int k = 0; k < 4; ++k) {
      const int s = 8 * half + 2 * k;  // scale index of elements 16s .. 16s+31
      const __m128i pick = _mm_set_epi64x(0x0101010101010101LL * (s + 1), 0x0101010101010101LL * s);
      const __m256i scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, pick));
      const __m256i p = _mm256_maddubs_epi16(q[k], Load256(y.qs + 128 * half + 32 * k));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale));
    }
  }
  acc = _mm256_sub_epi32(acc, sub);
  facc = _mm256_fmadd_ps(_mm256_set1_ps(y.d * HalfToFloat(x.d)), _mm256_cvtepi32_ps(acc), facc);
}

}  // namespace

EMBER_AVX2 float DotQ6K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6K*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  __m256 facc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) Q6KStep(x[i], y[i], facc);
  return Hsum(facc);
}

// Two rows at a time from the two halves of the range, as LegacyRowDots (each row the bits of
// DotQ6K). Q6_K is not bound by its accumulator chain (one multiply-add per 256 elements), but
// two streams from memory keep more lines in flight than one. Zen 4, 2026-11-30, 2048 x 5632:
// one core in cache 27.9 -> 28.5-29.0 GB/s, from memory 22.3-22.4 -> 24.4; -t 2 from memory
// 31.8-32.8 -> 33.4-34.1. TinyLlama Q4_K_M (24% of its bytes Q6_K) tg -t 2 in one process,
// alternating, median of paired ratios 1.020 (12 rounds) and 1.038 (16 rounds, each above 1).
EMBER_AVX2 void RowDotsQ6K(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                           float* y) {
  const auto* ya = static_cast<const BlockQ8K*>(a);
  const auto row = [&](int64_t r) { return reinterpret_cast<const BlockQ6K*>(w + static_cast<uint64_t>(r) * row_bytes); };
  const int64_t half = (r1 - r0) / 2;
  for (int64_t t = 0; t < half; ++t) {
    const BlockQ6K* x0 = row(r0 + t);
    const BlockQ6K* x1 = row(r0 + half + t);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK_K; ++i) {
      Q6KStep(x0[i], ya[i], acc0);
      Q6KStep(x1[i], ya[i], acc1);
    }
    y[t] = Hsum(acc0);
    y[half + t] = Hsum(acc1);
  }
  if ((r1 - r0) % 2 != 0) y[r1 - 1 - r0] = DotQ6K(n, row(r1 - 1), a);
}

namespace {

// scales_j holds the int16 scales of sub-blocks 8j..8j+7 in both 128-bit lanes; chunk k (elements
// 32k..32k+31 of a 128-element group) needs sub-block 8j+2k in its low lane and 8j+2k+1 in its
// high lane: a byte shuffle, as ggml's get_scale_shuffle_q3k.
EMBER_AVX2 inline __m256i ScalePair(__m256i scales_j, int k) {
  const auto lo = static_cast<int16_t>((4 * k) | (4 * k + 1) << 8);
  const auto hi = static_cast<int16_t>((4 * k + 2) | (4 * k + 3) << 8);
  return _mm256_shuffle_epi8(scales_j, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
}

}  // namespace

// Q2_K: 16 sub-blocks of 16 with 4-bit scales and mins. As ggml's AVX2 kernel: per super-block,
// first the min term (8 int32 lanes, lane k = m[2k] bsums[2k] + m[2k+1] bsums[2k+1]) multiplied
// by -d8 dmin into the float accumulator, then the scaled code sums (lane l of a 32-element chunk
// taking its elements 4l..4l+3) multiplied by d8 d. The int32 lanes are the same integers as
// ggml's, and the float operations the same in the same order: llama.cpp's bits.
EMBER_AVX2 float DotQ2K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2K*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m128i m4 = _mm_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    cpu::PrefetchAhead(x + i, sizeof(x[i]));
    const float d = y[i].d * HalfToFloat(x[i].d);
    const float dmin = -y[i].d * HalfToFloat(x[i].dmin);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
    const __m256i prod = _mm256_madd_epi16(mins, Load256(y[i].bsums));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(prod), acc);
    const __m256i s16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, m4));
    const __m256i scales[2] = {_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)};
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < kQK_K / 128; ++j) {
      const __m256i q2 = Load256(x[i].qs + 32 * j);
      for (int k = 0; k < 4; ++k) {
        // Chunk k of group j: sub-blocks 8j+2k (low 128-bit lane) and 8j+2k+1 (high lane).
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(q2, 2 * k), m3);
        const __m256i p = _mm256_maddubs_epi16(q, Load256(y[i].qs + 128 * j + 32 * k));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(ScalePair(scales[j], k), p));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return Hsum(acc);
}

namespace {

// A Q3_K super-block's 16 scales as int16, in sub-block order: UnpackScalesQ3K in registers (its
// four 32-bit words, then minus the bias of 32 per byte). Through a byte array (16 stores, then
// one 16-byte load that could not be forwarded from them) the row dot ran at 4 GB/s on one core.
EMBER_AVX2 inline __m256i Q3KScales16(const BlockQ3K& x) {
  uint32_t aux[3];
  std::memcpy(aux, x.scales, 12);
  constexpr uint32_t kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  const uint32_t s0 = (aux[0] & kLow4) | ((aux[2] & kLow2) << 4);
  const uint32_t s1 = (aux[1] & kLow4) | (((aux[2] >> 2) & kLow2) << 4);
  const uint32_t s2 = ((aux[0] >> 4) & kLow4) | (((aux[2] >> 4) & kLow2) << 4);
  const uint32_t s3 = ((aux[1] >> 4) & kLow4) | (((aux[2] >> 6) & kLow2) << 4);
  const __m128i s8 = _mm_sub_epi8(_mm_set_epi32(static_cast<int>(s3), static_cast<int>(s2), static_cast<int>(s1),
                                                static_cast<int>(s0)),
                                  _mm_set1_epi8(32));
  return _mm256_cvtepi8_epi16(s8);
}

}  // namespace

// Q3_K: codes (q & 3) - 4 where the hmask bit is clear, 16 signed 6-bit scales (stored +32).
// Integer lanes as Q2_K's (ggml computes maddubs(q & 3) - maddubs(4 * !h): the same 16-bit pair
// sums), one multiply-add by d8 d per super-block: llama.cpp's bits.
EMBER_AVX2 float DotQ3K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3K*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    cpu::PrefetchAhead(x + i, sizeof(x[i]));
    const float d = y[i].d * HalfToFloat(x[i].d);
    // The 16 scales as int16, sub-blocks 8j..8j+7 repeated in both 128-bit lanes of scales[j];
    // chunk k takes sub-block 8j+2k in its low lane and 8j+2k+1 in its high lane by a shuffle.
    const __m256i s16 = Q3KScales16(x[i]);
    const __m256i scales[2] = {_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)};
    const __m256i hbits = Load256(x[i].hmask);
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < kQK_K / 128; ++j) {
      const __m256i q3 = Load256(x[i].qs + 32 * j);
      for (int k = 0; k < 4; ++k) {
        const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << (4 * j + k)));
        const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q3, 2 * k), m3);
        // 4 where the high bit is clear, else 0.
        const __m256i h4 = _mm256_andnot_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit), bit),
                                               _mm256_set1_epi8(4));
        const __m256i q8 = Load256(y[i].qs + 128 * j + 32 * k);
        const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, q8), _mm256_maddubs_epi16(h4, q8));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(ScalePair(scales[j], k), p));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return Hsum(acc);
}

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Q3_K's row ranges with a pair's two rows in one 512-bit register (row 0 in the low half), for
// Isa::kAvx512: Q3_K's row dot is bound by vector operations (9.2 GB/s on one Zen 4 core in
// cache, llama.cpp's the same), ~11 per 32 codes. Here each serves both rows, and the high bit
// goes in by a mask: u = (q & 3) + 4 where the hmask bit is set (0..7), and
// maddubs(u, q8) - maddubs(4, q8) is, pair for pair, the int16 DotQ3K forms (each <= 1792 in
// magnitude: no saturation). Each row's int32 lanes and float steps are DotQ3K's: its bits.
EMBER_AVX2 void RowDotsQ3KZmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a,
                              float* y) {
  const auto* ya = static_cast<const BlockQ8K*>(a);
  const auto row = [&](int64_t r) { return reinterpret_cast<const BlockQ3K*>(w + static_cast<uint64_t>(r) * row_bytes); };
  const __m512i m3 = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
  const int64_t half = (r1 - r0) / 2;
  for (int64_t t = 0; t < half; ++t) {
    const BlockQ3K* x0 = row(r0 + t);
    const BlockQ3K* x1 = row(r0 + half + t);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / kQK_K; ++i) {
      cpu::PrefetchAhead(x0 + i, sizeof(x0[i]));
      cpu::PrefetchAhead(x1 + i, sizeof(x1[i]));
      const __m512 d = _mm512_insertf32x8(_mm512_set1_ps(ya[i].d * HalfToFloat(x0[i].d)),
                                          _mm256_set1_ps(ya[i].d * HalfToFloat(x1[i].d)), 1);
      // [row 0's scales | row 1's] by 128-bit quarters: s0 lo, s0 hi, s1 lo, s1 hi; scales[j] holds
      // each row's sub-blocks 8j..8j+7 in both quarters of its half, as DotQ3K's scales[j].
      const __m512i s = _mm512_inserti64x4(_mm512_castsi256_si512(Q3KScales16(x0[i])), Q3KScales16(x1[i]), 1);
      const __m512i scales[2] = {_mm512_shuffle_i64x2(s, s, 0xA0), _mm512_shuffle_i64x2(s, s, 0xF5)};
      const __m512i hbits = PairOf256(x0[i].hmask, x1[i].hmask);
      __m512i sumi = _mm512_setzero_si512();
      for (int j = 0; j < kQK_K / 128; ++j) {
        const __m512i q3 = PairOf256(x0[i].qs + 32 * j, x1[i].qs + 32 * j);
        for (int k = 0; k < 4; ++k) {
          const __m512i lo = _mm512_and_si512(_mm512_srli_epi16(q3, 2 * k), m3);
          const __mmask64 h = _mm512_test_epi8_mask(hbits, _mm512_set1_epi8(static_cast<char>(1 << (4 * j + k))));
          const __m512i u = _mm512_mask_add_epi8(lo, h, lo, four);
          const __m512i q8 = BroadcastCodes(ya[i].qs + 128 * j + 32 * k);
          const __m512i p = _mm512_sub_epi16(_mm512_maddubs_epi16(u, q8), _mm512_maddubs_epi16(four, q8));
          const auto lo_pick = static_cast<int16_t>((4 * k) | (4 * k + 1) << 8);
          const auto hi_pick = static_cast<int16_t>((4 * k + 2) | (4 * k + 3) << 8);
          const __m512i pick = _mm512_broadcast_i64x4(_mm256_set_m128i(_mm_set1_epi16(hi_pick), _mm_set1_epi16(lo_pick)));
          sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(_mm512_shuffle_epi8(scales[j], pick), p));
        }
      }
      acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sumi), acc);
    }
    y[t] = Hsum(_mm512_castps512_ps256(acc));
    y[half + t] = Hsum(_mm512_extractf32x8_ps(acc, 1));
  }
  if ((r1 - r0) % 2 != 0) y[r1 - 1 - r0] = DotQ3K(n, row(r1 - 1), a);
}
#pragma GCC diagnostic pop
#else
void RowDotsQ3KZmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
#endif

// IQ4_XS as ggml's AVX2 kernel: the scaled level sums of the 8 sub-blocks in 8 int32 lanes (lane
// l of a sub-block taking its elements 4l..4l+3), one multiply-add by d d8 per super-block.
EMBER_AVX2 float DotIQ4XS(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockIQ4XS*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    cpu::PrefetchAhead(x + i, sizeof(x[i]));
    __m256i sumi = _mm256_setzero_si256();
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const int lo = (x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
      const int hi = (x[i].scales_h >> (2 * ib)) & 0x03;
      const auto ls = static_cast<int16_t>((lo | (hi << 4)) - 32);
      const __m256i q = Iq4Levels(x[i].qs + 16 * ib);
      const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(Load256(y[i].qs + 32 * ib), q));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, _mm256_set1_epi16(ls)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return Hsum(acc);
}

EMBER_AVX2 void AxpyF16(int64_t n, float a, const uint16_t* x, float* y) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vx = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, vx, _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] = std::fma(HalfToFloat(x[i]), a, y[i]);
}

EMBER_AVX2 void AxpyF32(int64_t n, float a, const float* x, float* y) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] = std::fma(x[i], a, y[i]);
}

namespace {

// One block of 32 floats to Q8 codes exactly as quantize_act.cpp's QuantizeQ8Block (amax / 127,
// round half to even of x * (127 / amax)); returns the scale and the sum of the codes.
EMBER_AVX2 inline float QuantizeQ8Block32(const float* x, int8_t* qs, uint16_t* d16, int* sum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float a = _mm_cvtss_f32(m);
  const float d = a / 127.0f;
  const __m256 id = _mm256_set1_ps(a != 0.0f ? 127.0f / a : 0.0f);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) {
    q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  if (sum != nullptr) *sum = HsumI32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
  // int32 -> int8 (values are within -127..127): packs interleave 128-bit lanes; undo with a permute.
  const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
  const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
  const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), _mm256_permutevar8x32_epi32(p8, order));
  *d16 = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  return d;
}

}  // namespace

EMBER_AVX2 void QuantizeActQ8_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(y);
  for (int64_t i = 0; i < n / kQK8_0; ++i) QuantizeQ8Block32(x + i * kQK8_0, b[i].qs, &b[i].d, nullptr);
}

EMBER_AVX2 void QuantizeActQ8_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / kQK8_1; ++i) {
    int sum = 0;
    const float d = QuantizeQ8Block32(x + i * kQK8_1, b[i].qs, &b[i].d, &sum);
    b[i].s = _cvtss_sh(d * static_cast<float>(sum), _MM_FROUND_TO_NEAREST_INT);
  }
}

// Q8_K as quantize_act.cpp's scalar QuantizeActQ8K (quantize_row_q8_K_ref): the signed value of
// largest magnitude, the first one on ties, maps to -127; codes round half to even (the default
// MXCSR rounding of cvtps, as nearbyint) and are clamped at 127; bsums are exact integer sums.
// A block whose largest magnitude is 0, infinite or NaN goes to the scalar code (its own rules).
EMBER_AVX2 void QuantizeActQ8K(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8K*>(y);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    __m256 amax = _mm256_setzero_ps();
    // max(|x|, amax): a NaN |x| leaves amax as it was, as the scalar `ax > amax` does.
    for (int k = 0; k < kQK_K / 8; ++k) amax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), amax);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float a = _mm_cvtss_f32(m);
    if (!(a > 0.0f) || !std::isfinite(a)) {
      ember::QuantizeActQ8K(x, &b[i], kQK_K);
      continue;
    }
    float max = 0.0f;
    const __m256 va = _mm256_set1_ps(a);
    for (int k = 0; k < kQK_K / 8; ++k) {
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), va, _CMP_EQ_OQ));
      if (hit != 0) {
        max = x[8 * k + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    for (int g = 0; g < kQK_K / 32; ++g) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) {
        q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + 32 * g + 8 * k))), top);
      }
      const __m256i p8 = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs + 32 * g), _mm256_permutevar8x32_epi32(p8, order));
      // Sums of codes 0-15 and 16-31 of this group: horizontal adds within 128-bit lanes, then
      // the two lanes added.
      const __m256i s01 = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
      const __m256i s = _mm256_hadd_epi32(s01, s01);
      const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      b[i].bsums[2 * g] = static_cast<int16_t>(_mm_cvtsi128_si32(sums));
      b[i].bsums[2 * g + 1] = static_cast<int16_t>(_mm_extract_epi32(sums, 1));
    }
    b[i].d = 1.0f / iscale;
  }
}

namespace {

// Walks a PrefetchSpan in equal steps of whole lines.
class SpreadPrefetch {
 public:
  SpreadPrefetch(PrefetchSpan s, int64_t n_steps)
      : p_(s.begin), end_(s.begin == nullptr ? nullptr : s.begin + s.bytes),
        per_step_(n_steps > 0 ? (s.bytes / 64 + n_steps - 1) / n_steps * 64 : 0) {}
  void Step() {
    const char* stop = end_ - p_ > per_step_ ? p_ + per_step_ : end_;
    for (; p_ < stop; p_ += 64) _mm_prefetch(p_, _MM_HINT_T0);
  }

 private:
  const char* p_;
  const char* end_;
  int64_t per_step_;
};

}  // namespace

EMBER_AVX2 void DotsF16(int64_t n_keys, int64_t hd, const uint16_t* k, int64_t k_stride,
                        const uint16_t* q, float* out, PrefetchSpan prefetch) {
  // Four keys at a time (independent chains hide the multiply-add latency); each key's own
  // sequence of operations is DotF16's. One step of the prefetch per 4 keys.
  SpreadPrefetch pf(prefetch, n_keys / 4);
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    pf.Step();
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < hd; i += 8) {
      const __m256 vq = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i)));
      for (int u = 0; u < 4; ++u) {
        const uint16_t* kr = k + (j + u) * k_stride + i;
        acc[u] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kr))), vq, acc[u]);
      }
    }
    for (int u = 0; u < 4; ++u) out[j + u] = Hsum(acc[u]);
  }
  for (; j < n_keys; ++j) out[j] = DotF16(hd, k + j * k_stride, q);
}

EMBER_AVX2 void DotsF16Pair(int64_t n_keys, int64_t hd, const uint16_t* k, int64_t k_stride, const uint16_t* q0,
                            const uint16_t* q1, float* out0, float* out1, PrefetchSpan prefetch) {
  SpreadPrefetch pf(prefetch, n_keys / 4);
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    pf.Step();
    __m256 acc[8];  // query 0's 4 keys, then query 1's
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) acc[u] = _mm256_setzero_ps();
    for (int64_t i = 0; i < hd; i += 8) {
      const __m256 vq0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q0 + i)));
      const __m256 vq1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q1 + i)));
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        const __m256 vk = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + (j + u) * k_stride + i)));
        acc[u] = _mm256_fmadd_ps(vk, vq0, acc[u]);
        acc[4 + u] = _mm256_fmadd_ps(vk, vq1, acc[4 + u]);
      }
    }
    const __m256 sums = cpu::Hsum8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]);
    _mm_storeu_ps(out0 + j, _mm256_castps256_ps128(sums));
    _mm_storeu_ps(out1 + j, _mm256_extractf128_ps(sums, 1));
  }
  for (; j < n_keys; ++j) {
    out0[j] = DotF16(hd, k + j * k_stride, q0);
    out1[j] = DotF16(hd, k + j * k_stride, q1);
  }
}

#if defined(__AVX512F__)
// GCC 12 reports "'__Y' is used uninitialized" inside its own 512-bit intrinsics (their undefined
// pass-through operands) where they are inlined, here up to WeightedSumF16LanesPartPair: a
// false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// One column block of the weighted sums in 8 columns (__m256) or, where this file is built with
// AVX-512, 16 (__m512: two 8-column blocks side by side, each column's lanes taking the same
// products in the same order, so the same bits). Lanes keep the 8-column layout of dot.h in
// memory either way: a 16-column block reads and writes two of them.
struct Cols8 {
  using Vec = __m256;
  EMBER_AVX2 static Vec LoadLane(const float* lanes, int l) { return _mm256_loadu_ps(lanes + 8 * l); }
  EMBER_AVX2 static void StoreLane(float* lanes, int l, Vec x) { _mm256_storeu_ps(lanes + 8 * l, x); }
  EMBER_AVX2 static Vec Values(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  EMBER_AVX2 static Vec Fma(float w, Vec v, Vec acc) { return _mm256_fmadd_ps(_mm256_set1_ps(w), v, acc); }
};

#if defined(__AVX512F__)
// Each position costs one conversion and one multiply-add with a broadcast operand per query in
// either width, so 16 columns halve the instructions per product. Zen 4, 2026-11-29: one core,
// lanes of 32 columns for two queries over 256 positions in L1, 47 -> 61 GFLOP/s; one SmolLM2 /
// TinyLlama layer at depth 4096 in cache, -t 2, 6 alternating runs, 0.21-0.23 / 0.69-0.73 ->
// 0.20-0.21 / 0.64-0.67 ms; over all layers from memory, level.
struct Cols16 {
  using Vec = __m512;
  EMBER_AVX2 static Vec LoadLane(const float* lanes, int l) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(lanes + 8 * l)), _mm256_loadu_ps(lanes + 64 + 8 * l), 1);
  }
  EMBER_AVX2 static void StoreLane(float* lanes, int l, Vec x) {
    _mm256_storeu_ps(lanes + 8 * l, _mm512_castps512_ps256(x));
    _mm256_storeu_ps(lanes + 64 + 8 * l, _mm512_extractf32x8_ps(x, 1));
  }
  EMBER_AVX2 static Vec Values(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  EMBER_AVX2 static Vec Fma(float w, Vec v, Vec acc) { return _mm512_fmadd_ps(_mm512_set1_ps(w), v, acc); }
};
#endif

// One block of 8 positions, some outside [first, last] (skipped).
template <class C>
EMBER_AVX2 inline void PartialBlockF16(typename C::Vec* acc, int64_t jb, int64_t first, int64_t last, const float* w,
                                       const uint16_t* v, int64_t v_stride, int64_t c) {
  for (int l = 0; l < 8; ++l) {
    const int64_t j = jb + l;
    if (j < first || j > last) continue;
    acc[l] = C::Fma(w[j], C::Values(v + j * v_stride + c), acc[l]);
  }
}

// Columns [c, c + C::kCols) of WeightedSumF16LanesPart for NQ queries (1 or 2) that share the
// values: each V vector is converted once for all of them; each query's lanes take the same
// steps as one query's.
template <int NQ, class C>
EMBER_AVX2 inline void LanesBlock(int64_t jb0, int64_t jb1, int64_t first, int64_t last, const float* const (&w)[NQ],
                                  const uint16_t* v, int64_t v_stride, int64_t c, float* const (&lanes)[NQ]) {
  typename C::Vec acc[NQ][8];
  for (int n = 0; n < NQ; ++n) {
    for (int l = 0; l < 8; ++l) acc[n][l] = C::LoadLane(lanes[n] + 8 * c, l);
  }
  // Only the first and last blocks of 8 positions can be partial: the blocks between run
  // without per-position range checks.
  int64_t jb = jb0;
  if (jb < first && jb < jb1) {
    for (int n = 0; n < NQ; ++n) PartialBlockF16<C>(acc[n], jb, first, last, w[n], v, v_stride, c);
    jb += 8;
  }
  for (; jb + 7 <= last && jb < jb1; jb += 8) {
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) {
      const typename C::Vec vv = C::Values(v + (jb + l) * v_stride + c);
      for (int n = 0; n < NQ; ++n) acc[n][l] = C::Fma(w[n][jb + l], vv, acc[n][l]);
    }
  }
  if (jb < jb1 && jb <= last) {
    for (int n = 0; n < NQ; ++n) PartialBlockF16<C>(acc[n], jb, first, last, w[n], v, v_stride, c);
  }
  for (int n = 0; n < NQ; ++n) {
    for (int l = 0; l < 8; ++l) C::StoreLane(lanes[n] + 8 * c, l, acc[n][l]);
  }
}

template <int NQ>
EMBER_AVX2 inline void LanesPart(int64_t jb0, int64_t jb1, int64_t first, int64_t last, const float* const (&w)[NQ],
                                 const uint16_t* v, int64_t v_stride, int64_t n_cols, float* const (&lanes)[NQ]) {
  int64_t c = 0;
#if defined(__AVX512F__)
  for (; c + 16 <= n_cols; c += 16) LanesBlock<NQ, Cols16>(jb0, jb1, first, last, w, v, v_stride, c, lanes);
#endif
  for (; c < n_cols; c += 8) LanesBlock<NQ, Cols8>(jb0, jb1, first, last, w, v, v_stride, c, lanes);
}

EMBER_AVX2 void WeightedSumF16LanesPart(int64_t jb0, int64_t jb1, int64_t first, int64_t last, const float* w,
                                        const uint16_t* v, int64_t v_stride, int64_t n_cols, float* lanes) {
  LanesPart<1>(jb0, jb1, first, last, {w}, v, v_stride, n_cols, {lanes});
}

EMBER_AVX2 void WeightedSumF16LanesPartPair(int64_t jb0, int64_t jb1, int64_t first, int64_t last, const float* w0,
                                            const float* w1, const uint16_t* v, int64_t v_stride, int64_t n_cols,
                                            float* lanes0, float* lanes1) {
  LanesPart<2>(jb0, jb1, first, last, {w0, w1}, v, v_stride, n_cols, {lanes0, lanes1});
}
#if defined(__AVX512F__)
#pragma GCC diagnostic pop
#endif

EMBER_AVX2 void WeightedSumF16LanesFinish(const float* lanes, int64_t n_cols, float* out) {
  for (int64_t c = 0; c < n_cols; c += 8) {
    const float* la = lanes + 8 * c;
    const auto lane = [&](int l) { return _mm256_loadu_ps(la + 8 * l); };
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(lane(0), lane(4)), _mm256_add_ps(lane(2), lane(6))),
                                     _mm256_add_ps(_mm256_add_ps(lane(1), lane(5)), _mm256_add_ps(lane(3), lane(7))));
    _mm256_storeu_ps(out + c, sum);
  }
}

EMBER_AVX2 void WeightedSumF16Lanes(int64_t first, int64_t last, const float* w, const uint16_t* v,
                                    int64_t v_stride, int64_t hd, float* out) {
  for (int64_t c = 0; c < hd; c += 8) {
    alignas(32) float lanes[64] = {};
    WeightedSumF16LanesPart(first / 8 * 8, last + 1, first, last, w, v + c, v_stride, 8, lanes);
    WeightedSumF16LanesFinish(lanes, 8, out + c);
  }
}

EMBER_AVX2 void FloatsToHalves(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

EMBER_AVX2 float RoundToHalf(float x) { return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT)); }

}  // namespace ember::avx2

#else  // no AVX2 compiler support: the dispatch table never selects these

namespace ember::avx2 {
bool Compiled() { return false; }
float DotF32F32(int64_t, const float*, const float*) { return 0.0f; }
float DotF32(int64_t, const void*, const void*) { return 0.0f; }
float DotF16(int64_t, const void*, const void*) { return 0.0f; }
float DotQ4_0(int64_t, const void*, const void*) { return 0.0f; }
float DotQ4_1(int64_t, const void*, const void*) { return 0.0f; }
float DotQ5_0(int64_t, const void*, const void*) { return 0.0f; }
float DotQ5_1(int64_t, const void*, const void*) { return 0.0f; }
float DotQ8_0(int64_t, const void*, const void*) { return 0.0f; }
void RowDotsF32(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsF16(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsBF16(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
float DotBF16Pairs(int64_t, const void*, const void*) { return 0.0f; }
void RowDotsBF16Pairs(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ4_0(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ4_1(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ5_0(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ5_1(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ8_0(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsIQ4NL(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
bool ZmmRowDotsCompiled() { return false; }
void RowDotsQ4_0Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ4_1Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ5_0Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ5_1Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ8_0Zmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsIQ4NLZmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
void RowDotsQ3KZmm(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
float DotQ4K(int64_t, const void*, const void*) { return 0.0f; }
float DotQ5K(int64_t, const void*, const void*) { return 0.0f; }
float DotQ6K(int64_t, const void*, const void*) { return 0.0f; }
void RowDotsQ6K(int64_t, const uint8_t*, uint64_t, int64_t, int64_t, const void*, float*) {}
float DotBF16(int64_t, const void*, const void*) { return 0.0f; }
float DotQ2K(int64_t, const void*, const void*) { return 0.0f; }
float DotQ3K(int64_t, const void*, const void*) { return 0.0f; }
float DotIQ4NL(int64_t, const void*, const void*) { return 0.0f; }
float DotIQ4XS(int64_t, const void*, const void*) { return 0.0f; }
void AxpyF16(int64_t, float, const uint16_t*, float*) {}
void AxpyF32(int64_t, float, const float*, float*) {}
void FloatsToHalves(const float*, uint16_t*, int64_t) {}
void DotsF16(int64_t, int64_t, const uint16_t*, int64_t, const uint16_t*, float*, PrefetchSpan) {}
void WeightedSumF16Lanes(int64_t, int64_t, const float*, const uint16_t*, int64_t, int64_t, float*) {}
void WeightedSumF16LanesPart(int64_t, int64_t, int64_t, int64_t, const float*, const uint16_t*, int64_t, int64_t,
                             float*) {}
void WeightedSumF16LanesFinish(const float*, int64_t, float*) {}
void DotsF16Pair(int64_t, int64_t, const uint16_t*, int64_t, const uint16_t*, const uint16_t*, float*, float*, PrefetchSpan) {}
void WeightedSumF16LanesPartPair(int64_t, int64_t, int64_t, int64_t, const float*, const float*, const uint16_t*,
                                 int64_t, int64_t, float*, float*) {}
void QuantizeActQ8_0(const float*, void*, int64_t) {}
void QuantizeActQ8_1(const float*, void*, int64_t) {}
void QuantizeActQ8K(const float*, void*, int64_t) {}
float RoundToHalf(float) { return 0.0f; }
}  // namespace ember::avx2

#endif
