// The packed activations every tiled prompt kernel reads (gemm_avx2, gemm_iq4nl_avx2,
// gemm_kquant_low_avx2): one layout per activation format, packed once per batch from the rows
// the row-dot quantizers wrote. Codes are 32-byte aligned ([token][block][32] or
// [token][super-block][256]); scales are floats, 4 copies per block for the 32-element formats
// so that a pair of tokens' scales is one 8-lane load.
#pragma once

#include <cstdint>

namespace ember::cpu {

// The activation formats (the weight types' vec_dot_types): Q8_0 (Q4_0, Q5_0, Q8_0, IQ4_NL),
// Q8_1 (Q4_1, Q5_1), Q8_K (the K-quants and IQ4_XS).
enum class ActFormat : uint8_t { kQ8_0, kQ8_1, kQ8K };

// Pointers into a packed buffer (unused parts empty).
struct GemmActs {
  int64_t nb;            // blocks (32) or super-blocks (256) per token
  const int8_t* qs;      // [t][b][32] or [t][sb][256]
  const float* d4;       // Q8_0/Q8_1: [t][b][4] scale, 4 copies; Q8_K: [t][sb] scale
  const float* s4;       // Q8_1's d * sum(q) as float, [t][b][4]
  const int16_t* bs;     // Q8_K: [t][sb][16] bsums
  const int16_t* bsp;    // Q8_K: [t][sb][8] bsums summed in pairs
  const int32_t* nsum;   // Q8_0: [t][b] minus the sum of the block's 32 codes
};

// Bytes of the packed buffer for n_tok rows of n_in elements (alignment slack included).
uint64_t GemmActsBytes(ActFormat f, int64_t n_in, int64_t n_tok);
// The layout inside `packed` (aligned up to 64 bytes).
GemmActs GemmActsAt(ActFormat f, int64_t n_in, int64_t n_tok, const uint8_t* packed);
// Packs tokens [t0, t1) of `act` (rows of format f, act_row_bytes apart); disjoint token ranges
// may be packed in parallel. Needs AVX2 (only the AVX2 tiled kernels read it).
void PackGemmActs(ActFormat f, int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes,
                  int64_t t0, int64_t t1, uint8_t* packed);

}  // namespace ember::cpu
