// Tiled matrix-matrix products for prompt batches: y (tokens, rows) = act (tokens, n_in) W^T with
// W in its GGUF blocks. Each weight block is unpacked once per panel of 4 rows (codes to bytes,
// F16 scales to floats) and then reused against every token of a chunk, 4 rows x 2 tokens per
// inner step, with the activations quantized once per batch (the DotKernel's act_type) and
// repacked so that the inner loop only loads.
//
// Exactness. By default every (row, token) result is the same float, bit for bit, as the ISA's
// row dot product (dot.h) gives for that row and token -- the integer sums are exact and the
// float operations (one multiply-add per block into 8 lanes, the same lane sums at the end) are
// the same ones in the same order, which are also llama.cpp's -- with two exceptions: the signed
// 32-element formats (Q4_0, Q5_0, Q8_0) use a faster 8-row tile (gemm_signed8_tile.h) that sums
// each block in integers and rounds once per block, and Q6_K and Q5_K ones
// (gemm_kquant8_tile.h) that round once per super-block, so their prompt results differ from
// the row dots (and from llama.cpp) in the last bits. ExactGemm() (EMBER_EXACT_GEMM=1, or
// SetExactGemm(true)) keeps those on the exact tile too, for bit-for-bit comparisons.
#pragma once

#include <cstdint>

#include "cpu/cpu_features.h"
#include "gguf/ggml_type.h"

namespace ember::cpu {

// Whether the signed formats' prompt products keep the row dots' bits (see above). Read from
// EMBER_EXACT_GEMM ("1": exact) on first use; SetExactGemm overrides it (tests).
bool ExactGemm();
void SetExactGemm(bool exact);

// Tests only: when set, the 32-element formats' tiles (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) and
// the repacked tiles (repack.h: Q4_0, Q4_K) run their AVX-512 VNNI integer step with a scalar
// model of vpdpbusd (int8_dot_step.h, VnniModel) at every ISA from AVX2 up, so that the VNNI
// variants are tested on CPUs without VNNI too.
void SetVnniModelForTests(bool on);
bool VnniModelForTests();

// Tests only: when set, the signed formats' default prompt tiles (Q4_0 not repacked, Q5_0, Q8_0;
// batches of 32 tokens or more) run the AMX tile (gemm_amx_tile.h) with a scalar model of
// TDPBSSD at every ISA from AVX2 up, so that the AMX variant is tested on CPUs without AMX too.
void SetAmxModelForTests(bool on);
bool AmxModelForTests();

// Whether a tiled kernel exists for `type` at `isa` (AVX2: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K,
// Q5_K, Q6_K; F32, F16, BF16 in gemm_float_avx2.cpp; IQ4_NL in gemm_iq4nl_avx2.cpp; Q2_K, Q3_K,
// IQ4_XS in gemm_kquant_low_avx2.cpp). Other
// types and the scalar path use the row dot products.
bool HasGemm(GgmlType type, Isa isa);

// Bytes of the packed activations of n_tok tokens of n_in elements (plus alignment slack).
uint64_t GemmPackedBytes(GgmlType type, int64_t n_in, int64_t n_tok);

// Repacks tokens [t0, t1) of `act` (rows of the DotKernel's act_type for `type`, act_row_bytes
// apart) into `packed` (GemmPackedBytes(type, n_in, n_tok) bytes; disjoint token ranges may be
// packed concurrently).
void GemmPackActs(GgmlType type, int64_t n_in, int64_t n_tok, const uint8_t* act,
                  uint64_t act_row_bytes, int64_t t0, int64_t t1, uint8_t* packed);

// Weight rows [r0, r1) of w (n_in elements of `type` per row, row_bytes apart) against every
// packed token: y[t * ldy + r]. Different row ranges may run concurrently. `isa` (HasGemm(type,
// isa) must hold) picks the variant: at kAvxVnni and kAvx512 the 32-element formats' tiles form
// their block integers with vpdpbusd (VEX or EVEX; the same integers, so the same bits as at
// kAvx2); at kAmx the
// signed formats' default tiles take 32 x 32 tiles of AMX for batches of 32 tokens or more
// (again the same integers and float steps, so the same bits).
void GemmRows(GgmlType type, int64_t n_in, uint64_t row_bytes, const uint8_t* w, int64_t r0,
              int64_t r1, const uint8_t* packed, int64_t n_tok, float* y, int64_t ldy, Isa isa);

}  // namespace ember::cpu
