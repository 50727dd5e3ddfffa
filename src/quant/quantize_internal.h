// Per-format reference quantizers, shared by quantize.cpp's dispatch and nothing else.
//
// Every function quantizes n elements (a multiple of the format's block size) from x to y.
#pragma once

#include <cstdint>

#include "quant/blocks.h"

namespace ember::quant_internal {

// quantize_legacy.cpp: F16, BF16 and the 32-element formats, plus Q8_K.
void QuantizeF16(const float* x, uint16_t* y, int64_t n);
void QuantizeBf16(const float* x, uint16_t* y, int64_t n);
void QuantizeQ4_0(const float* x, BlockQ4_0* y, int64_t n);
void QuantizeQ4_1(const float* x, BlockQ4_1* y, int64_t n);
void QuantizeQ5_0(const float* x, BlockQ5_0* y, int64_t n);
void QuantizeQ5_1(const float* x, BlockQ5_1* y, int64_t n);
void QuantizeQ8_0(const float* x, BlockQ8_0* y, int64_t n);
void QuantizeQ8_1(const float* x, BlockQ8_1* y, int64_t n);
void QuantizeQ8K(const float* x, BlockQ8K* y, int64_t n);

// quantize_k.cpp: the K-quants.
void QuantizeQ2K(const float* x, BlockQ2K* y, int64_t n);
void QuantizeQ3K(const float* x, BlockQ3K* y, int64_t n);
void QuantizeQ4K(const float* x, BlockQ4K* y, int64_t n);
void QuantizeQ5K(const float* x, BlockQ5K* y, int64_t n);
void QuantizeQ6K(const float* x, BlockQ6K* y, int64_t n);

// quantize_iq4.cpp: the non-linear 4-bit formats.
void QuantizeIQ4NL(const float* x, BlockIQ4NL* y, int64_t n);
void QuantizeIQ4XS(const float* x, BlockIQ4XS* y, int64_t n);

// ggml's nearest_int: round to nearest, ties to even, by adding 1.5 * 2^23 (valid for
// |v| <= 4194303; other inputs give some integer, never undefined behaviour).
int NearestInt(float v);

}  // namespace ember::quant_internal
