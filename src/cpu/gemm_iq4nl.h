// Tiled prompt kernel for IQ4_NL weights behind gemm.h's four entry points (gemm_avx2.cpp
// forwards the type here). Same contract: every (row, token) result has the row dot's bits.
#pragma once

#include <cstdint>

#include "cpu/cpu_features.h"
#include "gguf/ggml_type.h"

namespace ember::cpu::iq4nl_gemm {

inline bool Handles(GgmlType type) { return type == GgmlType::IQ4_NL; }

// gemm.h's HasGemm / GemmPackedBytes / GemmPackActs / GemmRows for IQ4_NL.
bool Has(Isa isa);
uint64_t PackedBytes(int64_t n_in, int64_t n_tok);
void PackActs(int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes, int64_t t0,
              int64_t t1, uint8_t* packed);
void Rows(int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0, int64_t r1,
          const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa);

}  // namespace ember::cpu::iq4nl_gemm
