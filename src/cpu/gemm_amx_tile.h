// The AMX prompt tile of the signed 32-element formats (Q4_0, Q5_0, Q8_0): 32 weight rows x 32
// tokens, one block of 32 codes at a time, on Intel AMX (Sapphire Rapids and later) where the
// CPU and the kernel allow it (cpu_features.h, Isa::kAmx).
//
// Per block, four TDPBSSD (signed x signed bytes, 4-byte dot products added into int32) give
// the exact integer block sums of 2 x 2 tiles of 16 rows x 16 tokens -- 32 x 32 x 32 products --
// which are stored and then, with AVX2, converted and added with one fused multiply-add of
// (d_w x d_a) per (row, token): the float steps of gemm_signed8_tile.h, in the same order, so
// the same bits as the default AVX2 and VNNI prompt tiles of these formats. The blocks' scales
// differ, so each block's sums leave the tiles before the next block: AMX cannot add blocks up
// itself.
//
// Tile registers (one configuration, loaded once per task): tmm0..3 the int32 sums (16 rows x
// 64 bytes), tmm4..5 the weights of rows 0..15 and 16..31 (16 rows x 32 signed codes), tmm6..7
// the activations of tokens 0..15 and 16..31 in the layout TDPBSSD reads (8 rows x 64 bytes: row
// k holds codes 4k..4k+3 of each of the 16 tokens side by side).
//
// How it is tested without AMX hardware: the integer step is a template parameter. AmxInt8 runs
// the instructions; AmxInt8Model computes TDPBSSD's definition (Intel SDM: dst[m][n] += sum over
// k, i of sext(a[m][4k+i]) x sext(b[k][4n+i])) with plain loops on the same memory. The tests run
// the tile with the model on any AVX2 CPU and require the AVX2 tile's bits (gemm.h,
// SetAmxModelForTests), and check the tile configuration's shapes against TDPBSSD's rules.
//
// Header-only, x86-64 GCC/Clang, like gemm_signed8_tile.h.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu/avx2_util.h"
#include "cpu/gemm_acts.h"

namespace ember::cpu::amx_tile {

constexpr int kRows = 32;  // weight rows per tile
constexpr int kToks = 32;  // tokens per tile

// The palette-1 tile configuration (64 bytes, LDTILECFG's operand).
struct alignas(64) TileConfig {
  uint8_t palette = 0;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of tmm0..15 (only 0..7 exist)
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// The configuration Tile uses (see the header comment).
inline TileConfig Config() {
  TileConfig c;
  c.palette = 1;
  for (int t = 0; t < 4; ++t) c.rows[t] = 16, c.colsb[t] = 64;  // int32 sums
  for (int t = 4; t < 6; ++t) c.rows[t] = 16, c.colsb[t] = 32;  // weights: 16 rows x one block
  for (int t = 6; t < 8; ++t) c.rows[t] = 8, c.colsb[t] = 64;   // activations: 8 x (16 tokens x 4)
  return c;
}

// Whether TDPBSSD dst, a, b is legal under configuration c (Intel SDM: a's rows are dst's,
// b's bytes per row are dst's, a's bytes per row are 4 x b's rows; at most 16 rows and 64 bytes
// per row, palette 1). An illegal shape raises #UD on the CPU; the tests check Tile's shapes.
inline bool DpShapeIsLegal(const TileConfig& c, int dst, int a, int b) {
  auto ok = [&](int t) { return c.rows[t] >= 1 && c.rows[t] <= 16 && c.colsb[t] >= 4 && c.colsb[t] <= 64 && c.colsb[t] % 4 == 0; };
  return c.palette == 1 && ok(dst) && ok(a) && ok(b) && c.rows[a] == c.rows[dst] && c.colsb[b] == c.colsb[dst] &&
         c.colsb[a] == 4 * c.rows[b];
}

// A panel of 32 weight rows: for block b, row r's 32 signed codes at q + (32 b + r) x 32 (so the
// two weight tiles of block b are 16 rows of 32 bytes each, 32 bytes apart), and its scale.
struct Panel {
  int8_t* q;  // [b][row][32]
  float* d;   // [b][row]
};

inline uint64_t PanelBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return AlignUp(n * kRows * 32) + AlignUp(n * kRows * 4);
}

inline Panel PanelAt(uint8_t* p, int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return Panel{reinterpret_cast<int8_t*>(p), reinterpret_cast<float*>(p + AlignUp(n * kRows * 32))};
}

// 32 tokens' activations: for block b, the two activation tiles (tokens 0..15, 16..31) of 8 rows
// x 64 bytes at q + (2 b + j) x 512, and the 32 tokens' scales.
struct Acts {
  int8_t* q;  // [b][j][k][token][4]
  float* d;   // [b][token]
};

inline uint64_t ActsBytes(int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return AlignUp(n * kToks * 32) + AlignUp(n * kToks * 4);
}

inline Acts ActsAt(uint8_t* p, int64_t nb) {
  const auto n = static_cast<uint64_t>(nb);
  return Acts{reinterpret_cast<int8_t*>(p), reinterpret_cast<float*>(p + AlignUp(n * kToks * 32))};
}

// n_t <= 32 tokens of Q8_0 activations (the rest zeros, scale 0): codes(n, b) gives token n's 32
// codes of block b, scale(n, b) its scale as a float.
template <class Codes, class Scale>
inline void PackActs(int64_t nb, int n_t, const Codes& codes, const Scale& scale, const Acts& out) {
  for (int64_t b = 0; b < nb; ++b) {
    for (int n = 0; n < kToks; ++n) {
      const bool real = n < n_t;
      const int8_t* src = real ? codes(n, b) : nullptr;
      int8_t* tile = out.q + (2 * b + n / 16) * 512 + 4 * (n % 16);
      for (int k = 0; k < 8; ++k) {
        if (real) {
          std::memcpy(tile + 64 * k, src + 4 * k, 4);
        } else {
          std::memset(tile + 64 * k, 0, 4);
        }
      }
      out.d[b * kToks + n] = real ? scale(n, b) : 0.0f;
    }
  }
}

// Tokens [t0, t0 + n_t) of the packed activations of gemm_acts.h.
inline void PackActs(const GemmActs& a, int64_t t0, int n_t, const Acts& out) {
  const int64_t nb = a.nb;
  PackActs(
      nb, n_t, [&](int n, int64_t b) { return a.qs + ((t0 + n) * nb + b) * 32; },
      [&](int n, int64_t b) { return a.d4[((t0 + n) * nb + b) * 4]; }, out);
}

// TDPBSSD's definition on the tile memory: c[m][n] (32 x 32, row-major) = the block sums of
// weight rows m against tokens n, from the weight tiles at w (32 rows, 32 bytes apart) and the
// two activation tiles at x (512 bytes apart).
struct AmxInt8Model {
  static void Begin() {}
  static void End() {}
  static void BlockSums(const int8_t* w, const int8_t* x, int32_t* c) {
    for (int m = 0; m < kRows; ++m) {
      for (int n = 0; n < kToks; ++n) {
        const int8_t* xt = x + (n / 16) * 512 + 4 * (n % 16);
        uint32_t sum = 0;  // int32 lanes wrap, as the instruction's (never reached here)
        for (int k = 0; k < 8; ++k) {
          for (int i = 0; i < 4; ++i) {
            sum += static_cast<uint32_t>(int32_t{w[32 * m + 4 * k + i]} * int32_t{xt[64 * k + i]});
          }
        }
        c[kToks * m + n] = static_cast<int32_t>(sum);
      }
    }
  }
};

}  // namespace ember::cpu::amx_tile

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define EMBER_AMX_TILE_AVX2 __attribute__((target("avx2,fma,f16c")))
#define EMBER_AMX_TILE_AMX __attribute__((target("amx-tile,amx-int8")))

namespace ember::cpu::amx_tile {

// The instructions. Begin loads the configuration into this thread's tile state; End releases
// it (so the thread's context switches stop saving 8 KiB of tiles). GCC's AMX intrinsics are
// assembly statements that do not tell the compiler they read or write memory, so a memory
// barrier before the loads and after the stores keeps the panel and activation stores before
// them and the reads of the sums after them, whatever gets inlined.
struct AmxInt8 {
  EMBER_AMX_TILE_AMX static void Begin() {
    static const TileConfig config = Config();
    __asm__ volatile("" ::: "memory");
    _tile_loadconfig(&config);
  }
  EMBER_AMX_TILE_AMX static void End() { _tile_release(); }
  EMBER_AMX_TILE_AMX static void BlockSums(const int8_t* w, const int8_t* x, int32_t* c) {
    __asm__ volatile("" ::: "memory");
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, w, 32);
    _tile_loadd(5, w + 16 * 32, 32);
    _tile_loadd(6, x, 64);
    _tile_loadd(7, x + 512, 64);
    _tile_dpbssd(0, 4, 6);  // rows 0..15 x tokens 0..15
    _tile_dpbssd(1, 4, 7);  // rows 0..15 x tokens 16..31
    _tile_dpbssd(2, 5, 6);  // rows 16..31 x tokens 0..15
    _tile_dpbssd(3, 5, 7);  // rows 16..31 x tokens 16..31
    _tile_stored(0, c, 4 * kToks);
    _tile_stored(1, c + 16, 4 * kToks);
    _tile_stored(2, c + 16 * kToks, 4 * kToks);
    _tile_stored(3, c + 16 * kToks + 16, 4 * kToks);
    __asm__ volatile("" ::: "memory");
  }
};

// 32 rows x 32 tokens over all nb blocks: out[32 row + token] = sum over blocks, in order, of
// float(block sum) x (d_w x d_a) by fused multiply-adds from 0 -- gemm_signed8_tile.h's steps.
template <class Step>
EMBER_AMX_TILE_AVX2 inline void Tile(const Panel& p, const Acts& x, int64_t nb, float* out) {
  alignas(64) int32_t c[kRows * kToks];
  alignas(64) float acc[kRows * kToks] = {};
  for (int64_t b = 0; b < nb; ++b) {
    Step::BlockSums(p.q + b * kRows * 32, x.q + 2 * b * 512, c);
    __m256 da[kToks / 8];
    for (int v = 0; v < kToks / 8; ++v) da[v] = _mm256_loadu_ps(x.d + b * kToks + 8 * v);
    for (int r = 0; r < kRows; ++r) {
      const __m256 dw = _mm256_set1_ps(p.d[b * kRows + r]);
      for (int v = 0; v < kToks / 8; ++v) {
        float* a = acc + kToks * r + 8 * v;
        const __m256 sum = _mm256_cvtepi32_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(c + kToks * r + 8 * v)));
        _mm256_store_ps(a, _mm256_fmadd_ps(sum, _mm256_mul_ps(dw, da[v]), _mm256_load_ps(a)));
      }
    }
  }
  std::memcpy(out, acc, sizeof(acc));
}

}  // namespace ember::cpu::amx_tile

#undef EMBER_AMX_TILE_AVX2
#undef EMBER_AMX_TILE_AMX

#endif
