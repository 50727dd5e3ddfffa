// Scalar reference (de)quantization of ggml's tensor formats.
//
// Dequantization is bit-identical to PyPI gguf.quants (and to ggml's dequantize_row_*), which
// is what "exact" means in ember's tests. Quantization follows ggml's reference quantizers:
// bit-identical to gguf.quants where that package implements one (F16, BF16, Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0), and the same algorithms as ggml's quantize_row_*_ref / quantize_iq4_* elsewhere.
// This is the plain, exact code that fast kernels are tested against; it is not tuned for speed.
#pragma once

#include <cstdint>

#include "gguf/ggml_type.h"

namespace ember {

bool CanDequantize(GgmlType type);
bool CanQuantize(GgmlType type);

// n elements (a multiple of the type's block size): src holds n / block_size blocks.
void DequantizeRow(GgmlType type, const void* src, float* dst, int64_t n);
// Reference quantizer; dst receives n / block_size blocks.
void QuantizeRow(GgmlType type, const float* src, void* dst, int64_t n);

}  // namespace ember
