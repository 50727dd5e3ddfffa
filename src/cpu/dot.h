// Row dot products between a weight row of any supported type and an activation row, the inner
// loop of every matrix product. As in ggml, activations are first converted to the format that
// pairs with the weight type (its "vec_dot_type"): Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for
// Q4_1/Q5_1 (it carries d * sum(q) for the min term), Q8_K for the K-quants and IQ4_XS, F16/BF16
// for F16/BF16, F32 for F32. Integer dot products of 8-bit activations against the weight codes are both what makes
// quantized inference fast and what makes ember's numbers track llama.cpp's.
//
// One table per ISA; every entry has a scalar reference that the SIMD versions are tested against.
#pragma once

#include <cstdint>

#include "cpu/cpu_features.h"
#include "gguf/ggml_type.h"

namespace ember {

// y receives the activation row x (n elements) converted to the kernel's act_type.
using QuantizeActFn = void (*)(const float* x, void* y, int64_t n);
// Dot product of a weight row w (n elements) with an activation row a (act_type, n elements).
using VecDotFn = float (*)(int64_t n, const void* w, const void* a);

// y[r - r0] = dot(n, w + r * row_bytes, a) for the rows r in [r0, r1), in order.
using RowDotsFn = void (*)(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
                           const void* a, float* y);

struct DotKernel {
  GgmlType weight_type;
  GgmlType act_type;
  QuantizeActFn quantize;
  VecDotFn dot;
  RowDotsFn rows = nullptr;  // where a kernel runs whole row ranges itself (see DotRows)
};

bool HasDotKernel(GgmlType weight_type);
// The kernel for `weight_type` at `isa` (falling back to scalar where no SIMD version exists).
// An unsupported weight type is an ember::Error naming it.
const DotKernel& GetDotKernel(GgmlType weight_type, Isa isa);
// Bytes of one activation row of n elements in the kernel's act_type.
uint64_t ActRowBytes(const DotKernel& k, int64_t n);
// y[r] = k.dot(n, row r of w, a) for r in [r0, r1), through k.rows where there is one.
void DotRows(const DotKernel& k, int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
             const void* a, float* y);

// Activation converters (scalar; ggml's x86 rounding: Q8_0/Q8_1 scale by 127/amax and round
// half to even, Q8_K by -127/max-with-sign as quantize_row_q8_K_ref).
void QuantizeActF32(const float* x, void* y, int64_t n);
void QuantizeActF16(const float* x, void* y, int64_t n);
void QuantizeActBF16(const float* x, void* y, int64_t n);
void QuantizeActQ8_0(const float* x, void* y, int64_t n);
void QuantizeActQ8_1(const float* x, void* y, int64_t n);
void QuantizeActQ8K(const float* x, void* y, int64_t n);

// The horizontal sum of 8 lanes in the order of ggml's AVX2 hsum: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
inline float Tree8(const float* l) {
  return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

namespace scalar {
float DotF32(int64_t n, const void* w, const void* a);
float DotF16(int64_t n, const void* w, const void* a);
float DotBF16(int64_t n, const void* w, const void* a);
float DotQ4_0(int64_t n, const void* w, const void* a);
float DotQ4_1(int64_t n, const void* w, const void* a);
float DotQ5_0(int64_t n, const void* w, const void* a);
float DotQ5_1(int64_t n, const void* w, const void* a);
float DotQ8_0(int64_t n, const void* w, const void* a);
// K-quants: the weight super-block dequantized (quant/DequantizeRow) times the Q8_K values.
float DotQ2K(int64_t n, const void* w, const void* a);
float DotQ3K(int64_t n, const void* w, const void* a);
float DotQ4K(int64_t n, const void* w, const void* a);
float DotQ5K(int64_t n, const void* w, const void* a);
float DotQ6K(int64_t n, const void* w, const void* a);
// IQ4_NL against Q8_0 and IQ4_XS against Q8_K (ggml's vec_dot_types for them).
float DotIQ4NL(int64_t n, const void* w, const void* a);
float DotIQ4XS(int64_t n, const void* w, const void* a);
}  // namespace scalar

namespace avx2 {
bool Compiled();  // false when the compiler cannot target AVX2
float DotF32(int64_t n, const void* w, const void* a);
float DotF16(int64_t n, const void* w, const void* a);
float DotQ4_0(int64_t n, const void* w, const void* a);
float DotQ4_1(int64_t n, const void* w, const void* a);
float DotQ5_0(int64_t n, const void* w, const void* a);
float DotQ5_1(int64_t n, const void* w, const void* a);
float DotQ8_0(int64_t n, const void* w, const void* a);
float DotQ4K(int64_t n, const void* w, const void* a);
float DotQ5K(int64_t n, const void* w, const void* a);
float DotQ6K(int64_t n, const void* w, const void* a);
float DotBF16(int64_t n, const void* w, const void* a);
float DotQ2K(int64_t n, const void* w, const void* a);
float DotQ3K(int64_t n, const void* w, const void* a);
float DotIQ4NL(int64_t n, const void* w, const void* a);
float DotIQ4XS(int64_t n, const void* w, const void* a);
// Row ranges (RowDotsFn) for the float formats, the legacy formats, IQ4_NL and Q6_K: the row dots inlined
// into one loop, two rows at a time (one from each half of the range), each row with the bits of
// its own dot.
void RowDotsF32(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsF16(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsBF16(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
// BF16 with vdpbf16ps (CPUs with AVX-512 BF16; Isa::kAvx512's table there): 8 lanes of pair
// sums over 16-element steps, Hsum, then the tail in order -- float_gemm's BF16 tile's order.
float DotBF16Pairs(int64_t n, const void* w, const void* a);
void RowDotsBF16Pairs(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ4_0(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ4_1(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ5_0(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ5_1(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ8_0(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ6K(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsIQ4NL(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
// The legacy formats' and IQ4_NL's row ranges with both rows of a pair in one 512-bit register and
// one vpdpbusd per block (each row the bits of its AVX2 dot), for Isa::kAvx512 and up; compiled
// only where this file is built with AVX-512 (ZmmRowDotsCompiled()).
bool ZmmRowDotsCompiled();
void RowDotsQ4_0Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ4_1Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ5_0Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ5_1Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsQ8_0Zmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
void RowDotsIQ4NLZmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
// Q3_K's, the same way (dot_avx2.cpp).
void RowDotsQ3KZmm(int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1, const void* a, float* y);
// F32 dot of two float vectors (attention).
float DotF32F32(int64_t n, const float* a, const float* b);
// The Q8_0 / Q8_1 / Q8_K activation converters, bit-identical to the scalar ones.
void QuantizeActQ8_0(const float* x, void* y, int64_t n);
void QuantizeActQ8_1(const float* x, void* y, int64_t n);
void QuantizeActQ8K(const float* x, void* y, int64_t n);
}  // namespace avx2

}  // namespace ember

namespace ember {
// y[i] += a * x[i] for F16 / F32 x (attention's weighted sum of values), dispatched by ISA.
void AxpyF16(Isa isa, int64_t n, float a, const uint16_t* x, float* y);
void AxpyF32(Isa isa, int64_t n, float a, const float* x, float* y);
// F16 x F16 and F32 x F32 dot products (attention scores), dispatched by ISA.
float DotF16F16(Isa isa, int64_t n, const uint16_t* x, const uint16_t* y);
float DotF32F32(Isa isa, int64_t n, const float* x, const float* y);
namespace avx2 {
void AxpyF16(int64_t n, float a, const uint16_t* x, float* y);
void AxpyF32(int64_t n, float a, const float* x, float* y);
// F32 -> F16 (round to nearest even) and back with F16C: the same bits as core/half.h.
void FloatsToHalves(const float* x, uint16_t* y, int64_t n);
float RoundToHalf(float x);  // HalfToFloat(FloatToHalf(x))
// Attention over an F16 cache, hd a multiple of 8. out[j] = DotF16(hd, k + j * k_stride, q) for
// j < n_keys, the same bits.
// Memory for a kernel to prefetch while it computes, spread evenly over its steps: a burst of
// prefetches at once stalls on the core's miss buffers until most have landed, so the transfer
// and the arithmetic take turns instead of overlapping.
struct PrefetchSpan {
  const char* begin = nullptr;
  int64_t bytes = 0;
};
void DotsF16(int64_t n_keys, int64_t hd, const uint16_t* k, int64_t k_stride, const uint16_t* q,
             float* out, PrefetchSpan prefetch = {});
// out[d] = Tree8 over lanes l of (sum over j = l mod 8, first <= j <= last, in order, of
// w[j] * v[j * v_stride + d] by fused multiply-adds from 0): llama.cpp's weighted sum of values,
// the same bits as AxpyF16 into 8 lane rows followed by Tree8.
void WeightedSumF16Lanes(int64_t first, int64_t last, const float* w, const uint16_t* v,
                         int64_t v_stride, int64_t hd, float* out);
// WeightedSumF16Lanes in pieces, for callers that walk the positions in tiles: adds positions
// [jb0, jb1) of [first, last] (jb0 a multiple of 8; jb1 too, or past last) of n_cols columns (a
// multiple of 8, from v) into `lanes` (n_cols x 8 floats: per 8 columns, the 8 position lanes'
// vectors), which carry the sums from one piece to the next; WeightedSumF16LanesFinish then
// gives out[n_cols]. Zeroed lanes, pieces in increasing order, then Finish: WeightedSumF16Lanes'
// bits.
void WeightedSumF16LanesPart(int64_t jb0, int64_t jb1, int64_t first, int64_t last, const float* w,
                             const uint16_t* v, int64_t v_stride, int64_t n_cols, float* lanes);
void WeightedSumF16LanesFinish(const float* lanes, int64_t n_cols, float* out);
// DotsF16 and WeightedSumF16LanesPart for two queries over the same keys and values (two heads
// that share a K/V head): each K and V vector is converted once for both; every result has the
// one-query kernel's bits.
void DotsF16Pair(int64_t n_keys, int64_t hd, const uint16_t* k, int64_t k_stride, const uint16_t* q0,
                 const uint16_t* q1, float* out0, float* out1, PrefetchSpan prefetch = {});
void WeightedSumF16LanesPartPair(int64_t jb0, int64_t jb1, int64_t first, int64_t last, const float* w0,
                                 const float* w1, const uint16_t* v, int64_t v_stride, int64_t n_cols,
                                 float* lanes0, float* lanes1);
}  // namespace avx2
}  // namespace ember
