// Tiled prompt kernels for the weight types that gemm_avx2.cpp's quantized tiles do not cover
// (F32, F16, BF16), behind the same four entry points as gemm.h: gemm_avx2.cpp forwards these
// types here. Same contract: every (row, token) result has the row dot product's bits (BF16's
// on CPUs with AVX-512 BF16: the vdpbf16ps ones of both).
#pragma once

#include <cstdint>

#include "cpu/cpu_features.h"
#include "gguf/ggml_type.h"

namespace ember::cpu::float_gemm {

// Whether `type` is one of this file's types (whatever the ISA).
bool Handles(GgmlType type);

// gemm.h's HasGemm / GemmPackedBytes / GemmPackActs / GemmRows for a type Handles() accepts.
bool Has(GgmlType type, Isa isa);
uint64_t PackedBytes(GgmlType type, int64_t n_in, int64_t n_tok);
void PackActs(GgmlType type, int64_t n_in, int64_t n_tok, const uint8_t* act,
              uint64_t act_row_bytes, int64_t t0, int64_t t1, uint8_t* packed);
// isa: BF16 takes vdpbf16ps from kAvx512 up where the CPU has AVX-512 BF16, as its row dots do.
void Rows(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0,
          int64_t r1, const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa);

}  // namespace ember::cpu::float_gemm
