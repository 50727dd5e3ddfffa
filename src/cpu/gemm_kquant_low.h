// Tiled prompt kernels for Q2_K, Q3_K and IQ4_XS weights (Q8_K activations) behind gemm.h's four
// entry points (gemm_avx2.cpp forwards these types here). Same contract: every (row, token)
// result has the AVX2 row dot's bits.
#pragma once

#include <cstdint>

#include "cpu/cpu_features.h"
#include "gguf/ggml_type.h"

namespace ember::cpu::klow_gemm {

inline bool Handles(GgmlType type) {
  return type == GgmlType::Q2_K || type == GgmlType::Q3_K || type == GgmlType::IQ4_XS;
}

// gemm.h's HasGemm / GemmPackedBytes / GemmPackActs / GemmRows for a type Handles() accepts.
bool Has(GgmlType type, Isa isa);
uint64_t PackedBytes(int64_t n_in, int64_t n_tok);
void PackActs(int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes, int64_t t0,
              int64_t t1, uint8_t* packed);
// isa picks Q2_K's and Q3_K's integer step (vpdpbusd from kAvxVnni / kAvx512 up, the same integers).
void Rows(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
          const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa);

}  // namespace ember::cpu::klow_gemm
