// Interleaved ("repacked") weight layouts: a matrix is stored as groups of 8 rows whose blocks
// sit side by side, so that one pass over a block position computes 8 rows at once -- the
// integer sums of the 8 rows land in the 8 lanes of one vector, and each block costs one float
// multiply-add for all 8 rows instead of one per row. The copy is made once per matrix (on first
// use; model/weights.h's WeightPack holds it) and is the size of the original (Q4_0), or 1/36
// larger (Q4_K: its 6-bit sub-block scales and mins stored decoded, a byte each).
//
// The arithmetic is llama.cpp's for its repacked CPU layouts on AVX2 (ggml-cpu/repack.cpp:
// Q4_0 as "q4_0_8x8", Q4_K as "q4_K_8x8"), which llama.cpp uses by default for these types
// whenever the row count is a multiple of 8: for every row and token, the exact integer sum of a
// block (or, for Q4_K, of each sub-block times its scale) is converted to float and added with
// one fused multiply-add of (weight scale x activation scale), blocks in order. So ember's
// results for these types are llama.cpp's bits. For Q4_0 they are the same for one token
// (decode) as for a batch (prefill); for Q4_K llama.cpp's batch kernel (gemm, used for the first
// n_tok - n_tok % 4 tokens of a batch) adds once per pair of sub-blocks and its one-token kernel
// (gemv: decode and the batch's last n_tok % 4 tokens) once per super-block, and ember does the
// same split. These are not the bits of the row dot products in dot.h (which keep 8 partial
// lanes per row), hence the layout is chosen per matrix, and EMBER_NO_REPACK=1 turns it off.
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "gguf/ggml_type.h"

namespace ember::cpu {

enum class RepackLayout : uint8_t {
  kNone,
  kQ4_0x8,  // Q4_0, n_out % 8 == 0; activations Q8_0
  kQ4Kx8,   // Q4_K, n_out % 8 == 0; activations Q8_K
  kIQ4NLx8, // IQ4_NL, n_out % 8 == 0, VNNI CPUs; Q4_0's layout and kernels with a level lookup
};

const char* RepackLayoutName(RepackLayout l);

// The layout ember uses for a matrix of `type` with n_out rows of n_in elements at `isa`, or
// kNone (the row dot products). kNone for the scalar ISA and when EMBER_NO_REPACK is set.
RepackLayout ChooseRepack(GgmlType type, int64_t n_out, int64_t n_in, Isa isa);

// Bytes of the repacked copy (the original's for Q4_0 and IQ4_NL, 148/144 of it for Q4_K).
uint64_t RepackedBytes(RepackLayout l, int64_t n_out, int64_t n_in);

// Writes the repacked copy of the matrix at `src` (n_out rows, row_bytes apart) into `dst`
// (RepackedBytes bytes), groups of 8 rows spread over the pool.
void Repack(ThreadPool& pool, RepackLayout l, const uint8_t* src, uint64_t row_bytes,
            int64_t n_out, int64_t n_in, uint8_t* dst);

// y (n_tokens, n_out) = x (n_tokens, n_in) W^T with W repacked in layout l; activations are
// quantized into `scratch` first (the same quantizer as the row dot products use). `isa` is the
// backend's (kAvx2 or higher; kAvxVnni and kAvx512 let the prompt tiles use VNNI, with the same
// bits).
void MatMulRepacked(ThreadPool& pool, RepackLayout l, const uint8_t* packed, int64_t n_out,
                    int64_t n_in, const float* x, int64_t n_tokens, float* y,
                    std::vector<uint8_t>& scratch, Isa isa);

// How the repacked decode kernels (one token) walk a call's row groups, several side by side
// (sharing the activation broadcasts):
// - kAdjacent: 8, 4, 2 and 1 neighbouring groups at a time, as the range allows. On Zen 3
//   (AVX2) faster than one at a time (TinyLlama -t 2: Q4_K_M 4 groups ~36 t/s against ~33;
//   Q4_0 4 groups +15%).
// - kSpread: 4 groups a quarter of the range apart, so that each core reads 4 long sequential
//   streams. On Zen 4, adjacent groups lost to one at a time (TinyLlama Q4_K_M -t 1 35-41
//   against 27.6 t/s for 8; Q4_0 -t 1 +11-16%), and a plain read shows why: Zen 4's prefetcher
//   lost a quarter of one core's bandwidth on 8 short streams 9 KiB apart (17.1 against 22.4
//   GB/s for one stream), and gained on 4 long streams far apart (26.7; two cores 32.5 against
//   28.7). Spread against one at a time, 40 repacked 5632 x 2048 matrices in turn, 12
//   alternating passes (2026-11-29): one core 24.9 against 22.6 GB/s (Q4_K); two cores +1% to
//   +20% with the minute's bandwidth (Q4_K 29.2 against 29.0, Q4_0 45.2 against 37.6).
// Without a way to measure the core, the ISA stands in for it: kSpread where the CPU has AVX-512
// (isa >= kAvx512), else kAdjacent.
enum class DecodeWalk : uint8_t { kAdjacent, kSpread };
DecodeWalk DecodeWalkFor(Isa isa);

// Groups [g0, g1) of one token's decode in the walk above: run.template operator()<kG>(g, step)
// takes groups g, g + step, ..., g + (kG - 1) step (step 1 where adjacent).
template <class Run>
void ForDecodeGroups(int64_t g0, int64_t g1, DecodeWalk walk, Run&& run) {
  int64_t g = g0;
  if (walk == DecodeWalk::kSpread) {
    const int64_t step = (g1 - g0) / 4;
    for (int64_t i = 0; i < step; ++i) run.template operator()<4>(g0 + i, step);
    g = g0 + 4 * step;
  } else {
    for (; g + 8 <= g1; g += 8) run.template operator()<8>(g, 1);
    for (; g + 4 <= g1; g += 4) run.template operator()<4>(g, 1);
    for (; g + 2 <= g1; g += 2) run.template operator()<2>(g, 1);
  }
  for (; g < g1; ++g) run.template operator()<1>(g, 1);
}

// Tokens [t0, t1) of a prompt chunk against one call's groups, whose outputs start at column
// col of y: tile4(a, out) for 4 tokens at a time while they end by t4_end, then tile1(a, out) for
// each token left; a[i] and out[i] are token i's activation row and output.
template <class Tile4, class Tile1>
void ForTokenTiles(int64_t t0, int64_t t1, int64_t t4_end, const uint8_t* act, uint64_t act_row_bytes, float* y,
                   int64_t ldy, int64_t col, Tile4&& tile4, Tile1&& tile1) {
  int64_t t = t0;
  for (; t + 4 <= t4_end && t + 4 <= t1; t += 4) {
    const uint8_t* a[4];
    float* out[4];
    for (int i = 0; i < 4; ++i) {
      a[i] = act + static_cast<uint64_t>(t + i) * act_row_bytes;
      out[i] = y + (t + i) * ldy + col;
    }
    tile4(a, out);
  }
  for (; t < t1; ++t) {
    const uint8_t* a[1] = {act + static_cast<uint64_t>(t) * act_row_bytes};
    float* out[1] = {y + t * ldy + col};
    tile1(a, out);
  }
}

// Per-layout kernels (repack_<type>.cpp), called by the functions above. `g0..g1` are groups of
// 8 rows; `act` holds n_tok rows of the layout's activation type, act_row_bytes apart; y is
// (n_tok, ldy) and receives columns [8 g0, 8 g1).
namespace q4_0x8 {
void RepackGroups(const uint8_t* src, uint64_t row_bytes, int64_t n_in, int64_t g0, int64_t g1,
                  uint8_t* dst);
// isa kAvx512: the prompt tile's integers by AVX-512 VNNI; kAmx, batches of UsesAmx: the AMX
// tile of gemm_amx_tile.h, 4 groups at a time (the same bits either way).
void Groups(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
            uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa);
// Whether Groups takes the AMX tile for n_tok tokens at `isa` (or with gemm.h's AMX model on).
bool UsesAmx(int64_t n_tok, Isa isa);
}  // namespace q4_0x8
namespace q4kx8 {
void RepackGroups(const uint8_t* src, uint64_t row_bytes, int64_t n_in, int64_t g0, int64_t g1,
                  uint8_t* dst);
// isa kAvx512: the prompt tiles' integers by AVX-512 VNNI; kAmx, batches of UsesAmx: the batch
// float order's tokens on AMX tiles, 4 groups at a time (the same bits either way).
void Groups(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
            uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa);
bool UsesAmx(int64_t n_tok, Isa isa);
}  // namespace q4kx8
namespace iq4nlx8 {
void RepackGroups(const uint8_t* src, uint64_t row_bytes, int64_t n_in, int64_t g0, int64_t g1,
                  uint8_t* dst);
void Groups(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
            uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa);
bool UsesAmx(int64_t n_tok, Isa isa);
}  // namespace iq4nlx8

// Scalar references of the layouts' arithmetic on the ORIGINAL blocks (one row, one activation
// row): what each (row, token) result of Groups must equal bit for bit. Q4_K has two float orders:
// ReferenceQ4Kx8TiledDot for the first n_tok - n_tok % 4 tokens of a batch, ReferenceQ4Kx8Dot for
// the others (decode included).
float ReferenceQ4_0x8Dot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row);
float ReferenceIQ4NLx8Dot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row);
float ReferenceQ4Kx8Dot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row);
float ReferenceQ4Kx8TiledDot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row);

}  // namespace ember::cpu
