// Q4_0 and IQ4_NL in groups of 8 interleaved rows (repack.h), AVX2.
//
// Layout: for group g (rows 8g..8g+7) and block b, 144 bytes at ((g * nb) + b) * 144: the 8
// rows' F16 scales, then 4 vectors of 32 bytes; vector v holds, in its 32-bit lane r, bytes
// qs[4v .. 4v+3] of row r. The low nibbles of vector v are then elements 4v..4v+3 of each row
// and the high nibbles elements 16+4v..16+4v+3: one AND (and one shift) gives 8 rows' codes with
// row r in lane r, ready to multiply against 4 activation bytes broadcast to every lane.
//
// Per block and token: 8 maddubs of unsigned codes 0..15 against signed activations (each 16-bit
// lane <= 2 x 15 x 127, the sum of 8 such <= 30,480 fits int16), one madd to int32, minus 8 x
// the block's activation sum (so the integer is sum((q - 8) a), exact), then one fused
// multiply-add of (d_w x d_a) for all 8 rows -- llama.cpp's q4_0_8x8 float steps. With AVX-512
// VNNI the prompt tile forms the same integer with 8 vpdpbusd into an accumulator that starts at
// minus the offset (int8_dot_step.h): 8 operations per block and token instead of 17, same bits.
//
// IQ4_NL has Q4_0's block (an F16 scale and 16 bytes of nibbles), with a nibble naming one of 16
// levels (-127..113) instead of nibble - 8. Its layout is Q4_0's, and every kernel below runs it
// with one byte lookup (vpshufb) per code vector: the unsigned codes are the levels + 128 (1..241)
// and the activation side table holds 128 x the block's sum, so the integer is sum(level x a),
// exact. A pair of such products (2 x 241 x 127) overflows maddubs' int16, so IQ4_NL takes only
// the VNNI steps (vpdpbusd sums 4 products into int32): ChooseRepack picks the layout on VNNI
// CPUs, and row dots elsewhere. This is llama.cpp's repacked IQ4_NL (iq4_nl_8x8, which it uses on
// every AVX2 CPU) with Q4_0's float steps: one exact integer per block, one multiply-add.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "core/half.h"
#include "cpu/avx2_util.h"
#include "cpu/gemm.h"
#include "cpu/gemm_amx_tile.h"
#include "cpu/int8_dot_step.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_REPACK_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu {
namespace {

constexpr uint64_t kGroupBlockBytes = 8 * sizeof(BlockQ4_0);  // 144
static_assert(kGroupBlockBytes == 144);

// The activation row's side tables (repack.cpp ActBytes): 8 x each block's code sum, and each
// block's scale as a float.
const int32_t* ActOffsets(const uint8_t* act_row, int64_t nb) {
  return reinterpret_cast<const int32_t*>(act_row + static_cast<uint64_t>(nb) * sizeof(BlockQ8_0));
}
const float* ActScales(const uint8_t* act_row, int64_t nb) {
  return reinterpret_cast<const float*>(act_row + static_cast<uint64_t>(nb) * (sizeof(BlockQ8_0) + 4));
}

// Batches of at least amx_tile::kToks tokens take the AMX tile where the CPU has it (or under the
// tests' AMX model).
bool UsesAmxTile(int64_t n_tok, Isa isa) { return n_tok >= amx_tile::kToks && (isa >= Isa::kAmx || AmxModelForTests()); }

// kT activation rows' blocks and side tables, for the prompt tiles.
template <int kT>
struct ActViews {
  const int32_t* offs[kT];
  const float* das[kT];
  const BlockQ8_0* acts[kT];
  ActViews(const uint8_t* const* act, int64_t nb) {
    for (int t = 0; t < kT; ++t) {
      offs[t] = ActOffsets(act[t], nb);
      das[t] = ActScales(act[t], nb);
      acts[t] = reinterpret_cast<const BlockQ8_0*>(act[t]);
    }
  }
};

#if defined(EMBER_REPACK_AVX2)

EMBER_AVX2 inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// What a layout's nibbles (0..15, one per byte) stand for. Unsigned: the bytes the integer steps
// multiply, value + kOffset (the activation side table holds kOffset x each block's sum);
// Signed: the values themselves (the AMX tile's codes).
struct Q4_0Codes {
  static constexpr int32_t kOffset = 8;
  static constexpr bool kLookup = false;
  EMBER_AVX2 static __m256i Unsigned(__m256i nib) { return nib; }
  EMBER_AVX2 static __m256i Signed(__m256i nib) { return _mm256_sub_epi8(nib, _mm256_set1_epi8(8)); }
};
struct LevelTable {
  alignas(16) int8_t v[16];
};
constexpr LevelTable ShiftedLevels(int add) {
  LevelTable t{};
  for (int i = 0; i < 16; ++i) t.v[i] = static_cast<int8_t>(kIq4nlValues[i] + add);  // 241 wraps to -15: a byte
  return t;
}
struct IQ4NLCodes {
  static constexpr int32_t kOffset = 128;
  static constexpr bool kLookup = true;
  static constexpr LevelTable kUnsigned = ShiftedLevels(kOffset), kSigned = ShiftedLevels(0);
  EMBER_AVX2 static __m256i Lookup(const LevelTable& t, __m256i nib) {
    return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t.v))), nib);
  }
  EMBER_AVX2 static __m256i Unsigned(__m256i nib) { return Lookup(kUnsigned, nib); }
  EMBER_AVX2 static __m256i Signed(__m256i nib) { return Lookup(kSigned, nib); }
};

// An empty asm that "changes" v: the sums are then formed in program order. Without it GCC
// reassociates the integer adds, issues all 32 multiplies of a block first and spills their
// results to the stack (measured: ~2x slower).
EMBER_AVX2 inline void KeepInRegister(__m256i& v) { __asm__("" : "+v"(v)); }

// Rows 8g..8g+7 of the group at `gp` against kT tokens: y[t * ldy + r] for the group's rows.
// Each block goes in two halves (the low nibbles of the 4 code vectors, then the high ones), so
// that 4 code vectors, the kT int16 sums and the kT accumulators fit the 16 registers: with all
// 8 code vectors live, GCC kept the accumulators on the stack, and each block's multiply-add then
// waited on the previous block's store (measured ~13 cycles per block and 4 tokens).
// Not inlined: inside GroupsAvx2's loops GCC allocated its registers worse (74 against 85
// GMAC/s on one core, 5632 x 2048 against 128 tokens).
template <int kT, class Dot, class C>
__attribute__((noinline)) EMBER_AVX2 void Tile(const uint8_t* gp, int64_t nb, const uint8_t* const* act,
                                               float* const* y) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kT];
  for (int t = 0; t < kT; ++t) acc[t] = _mm256_setzero_ps();
  const ActViews<kT> views(act, nb);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = gp + static_cast<uint64_t>(b) * kGroupBlockBytes;
    const auto* codes = reinterpret_cast<const __m256i*>(blk + 16);
    __m256i s[kT];
    __m256i w[4];
    for (int v = 0; v < 4; ++v) w[v] = C::Unsigned(_mm256_and_si256(_mm256_loadu_si256(codes + v), m4));
    if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
      for (int t = 0; t < kT; ++t) {
        const int8_t* qs = views.acts[t][b].qs;
        s[t] = _mm256_maddubs_epi16(w[0], Broadcast4(qs));
        for (int v = 1; v < 4; ++v) {
          s[t] = _mm256_add_epi16(s[t], _mm256_maddubs_epi16(w[v], Broadcast4(qs + 4 * v)));
          KeepInRegister(s[t]);
        }
      }
      for (int v = 0; v < 4; ++v) {
        w[v] = C::Unsigned(_mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256(codes + v), 4), m4));
      }
      for (int t = 0; t < kT; ++t) {
        const int8_t* qs = views.acts[t][b].qs + 16;
        for (int v = 0; v < 4; ++v) {
          s[t] = _mm256_add_epi16(s[t], _mm256_maddubs_epi16(w[v], Broadcast4(qs + 4 * v)));
          KeepInRegister(s[t]);
        }
      }
    } else {
      // int32 sums from the start: the offset first, then the 8 code vectors.
      for (int t = 0; t < kT; ++t) {
        const int8_t* qs = views.acts[t][b].qs;
        s[t] = _mm256_set1_epi32(-views.offs[t][b]);
        for (int v = 0; v < 4; ++v) Dot::Add(s[t], w[v], Broadcast4(qs + 4 * v), ones);
      }
      for (int v = 0; v < 4; ++v) {
        w[v] = C::Unsigned(_mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256(codes + v), 4), m4));
      }
      for (int t = 0; t < kT; ++t) {
        const int8_t* qs = views.acts[t][b].qs + 16;
        for (int v = 0; v < 4; ++v) Dot::Add(s[t], w[v], Broadcast4(qs + 4 * v), ones);
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
    for (int t = 0; t < kT; ++t) {
      __m256i isum = s[t];
      if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
        isum = _mm256_sub_epi32(_mm256_madd_epi16(s[t], ones), _mm256_set1_epi32(views.offs[t][b]));
      }
      const __m256 scale = _mm256_mul_ps(dw, _mm256_broadcast_ss(views.das[t] + b));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc[t]);
    }
  }
  for (int t = 0; t < kT; ++t) _mm256_storeu_ps(y[t], acc[t]);
}

// VNNI, two groups (at gp and gp + group_bytes) against kT tokens: each token's broadcasts serve
// both groups, and the 2 kT accumulators are independent chains of vpdpbusd (one group gave kT
// chains of 8, each step waiting on the last). The integers and float steps per group are
// Tile's, so the same bits. 8 code vectors, 2 kT sums and a broadcast are live: AVX-512's 32
// registers (VnniDot), or memory (VnniModel, the tests' stand-in). Zen 4, one core, 1024 x 4096
// x 64 tokens (kernel_bench, 2026-11-29): 234-243 -> 306-308 GFLOP/s.
template <int kT, class Dot, class C>
__attribute__((noinline)) EMBER_AVX2 void TileTwoGroups(const uint8_t* gp, uint64_t group_bytes, int64_t nb,
                                                        const uint8_t* const* act, float* const* y) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[2][kT];
  for (int t = 0; t < kT; ++t) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  const ActViews<kT> views(act, nb);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk[2] = {gp + static_cast<uint64_t>(b) * kGroupBlockBytes,
                             gp + group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes};
    __m256i s[2][kT];
    __m256i w[2][4];
    for (int t = 0; t < kT; ++t) s[0][t] = s[1][t] = _mm256_set1_epi32(-views.offs[t][b]);
    for (int half = 0; half < 2; ++half) {
      for (int g = 0; g < 2; ++g) {
        for (int v = 0; v < 4; ++v) {
          __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[g] + 16 + 32 * v));
          if (half == 1) c = _mm256_srli_epi16(c, 4);
          w[g][v] = C::Unsigned(_mm256_and_si256(c, m4));
        }
      }
      for (int t = 0; t < kT; ++t) {
        const int8_t* qs = views.acts[t][b].qs + 16 * half;
        for (int v = 0; v < 4; ++v) {
          const __m256i av = Broadcast4(qs + 4 * v);
          Dot::Add(s[0][t], w[0][v], av, ones);
          Dot::Add(s[1][t], w[1][v], av, ones);
        }
      }
    }
    for (int g = 0; g < 2; ++g) {
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[g])));
      for (int t = 0; t < kT; ++t) {
        const __m256 scale = _mm256_mul_ps(dw, _mm256_broadcast_ss(views.das[t] + b));
        acc[g][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[g][t]), scale, acc[g][t]);
      }
    }
  }
  for (int t = 0; t < kT; ++t) {
    _mm256_storeu_ps(y[t], acc[0][t]);
    _mm256_storeu_ps(y[t] + 8, acc[1][t]);
  }
}

#if defined(__AVX512F__)
#define EMBER_ZMM_TILE 1
// GCC 12 reports "'__Y' may be used uninitialized" inside its own 512-bit intrinsics (their
// undefined pass-through operands) once they are inlined here: a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// TileTwoGroups<kT, VnniDot> on 512-bit vectors: the two groups' 16 rows in one register (group
// 0 in lanes 0-7), so each vpdpbusd and float step serves both; every lane takes the same
// operations in the same order, so the same bits (as repack_q4k.cpp's TileZmm). Zen 4, one
// core, 1024 x 4096 x 64 tokens: 306-308 -> 291-317 GFLOP/s (noisy); TinyLlama Q4_0 pp512 -t 2,
// 9 samples each, alternating: median 230 -> 243 t/s, -t 1 pp256 123 -> 128.
template <int kT, class C>
__attribute__((noinline)) EMBER_AVX2 void TileZmm(const uint8_t* gp, uint64_t group_bytes, int64_t nb,
                                                 const uint8_t* const* act, float* const* y) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i table = _mm512_broadcast_i64x4(C::Unsigned(_mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                                                            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
  __m512 acc[kT];
  for (int t = 0; t < kT; ++t) acc[t] = _mm512_setzero_ps();
  const ActViews<kT> views(act, nb);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = gp + static_cast<uint64_t>(b) * kGroupBlockBytes;
    __m512i s[kT];
    for (int t = 0; t < kT; ++t) s[t] = _mm512_set1_epi32(-views.offs[t][b]);
    for (int half = 0; half < 2; ++half) {
      __m512i w[4];
      for (int v = 0; v < 4; ++v) {
        __m512i c = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * v))),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + group_bytes + 16 + 32 * v)), 1);
        if (half == 1) c = _mm512_srli_epi16(c, 4);
        w[v] = _mm512_and_si512(c, m4);
        if constexpr (C::kLookup) w[v] = _mm512_shuffle_epi8(table, w[v]);
      }
      for (int t = 0; t < kT; ++t) {
        const int8_t* qs = views.acts[t][b].qs + 16 * half;
        for (int v = 0; v < 4; ++v) {
          int32_t four;
          std::memcpy(&four, qs + 4 * v, 4);
          int8_step::Dpbusd512(s[t], w[v], _mm512_set1_epi32(four));
        }
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + group_bytes)), 1));
    for (int t = 0; t < kT; ++t) {
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(views.das[t][b]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), scale, acc[t]);
    }
  }
  for (int t = 0; t < kT; ++t) _mm512_storeu_ps(y[t], acc[t]);
}
#pragma GCC diagnostic pop
#endif

// (Which groups a call takes together: repack.h, DecodeWalk -- 4 spread apart on AVX-512 CPUs:
// step_bytes apart in the packed matrix, their outputs y_step floats apart.)
// Decode: kG groups side by side against one token, so that each core keeps kG streams of
// weights in flight and broadcasts the activations once for all of them. Measured on TinyLlama
// Q4_0 tg128 at -t 2 on an idle machine: 2 groups +5%, 4 groups +15%, 8 groups less than 4 (Zen
// 3); on Zen 4, 8 groups 46.3 against 43.2 t/s for 4 (7 alternating runs, 5 won), so 8.
// Each group's float steps are Tile<1>'s (same bits). With VNNI (Dot not MaddDot) each group's
// integer is 8 vpdpbusd in two chains that start at minus the offset, instead of 8 maddubs, 8
// 16-bit adds, a madd and a subtract. On Zen 4 one thread's decode is bound by these operations
// (TinyLlama Q4_0 tg -t 1: 28.1 against 25.6 t/s, 2026-11-29); at -t 2 the gain is in the noise.
template <int kG, class Dot, class C>
EMBER_AVX2 void GroupsOneToken(const uint8_t* gp, uint64_t step_bytes, int64_t nb, const uint8_t* act,
                               float* y, int64_t y_step) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kG];
  for (int g = 0; g < kG; ++g) acc[g] = _mm256_setzero_ps();
  const int32_t* offs = ActOffsets(act, nb);
  const float* das = ActScales(act, nb);
  const auto* a = reinterpret_cast<const BlockQ8_0*>(act);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i ab[8];
    for (int k = 0; k < 8; ++k) ab[k] = Broadcast4(a[b].qs + 4 * k);
    const __m256i off = _mm256_set1_epi32(offs[b]);
    const __m256 da = _mm256_broadcast_ss(das + b);
    for (int g = 0; g < kG; ++g) {
      const uint8_t* blk = gp + g * step_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
      __m256i isum;
      if constexpr (std::is_same_v<Dot, int8_step::MaddDot>) {
        __m256i s = _mm256_setzero_si256();
        for (int v = 0; v < 4; ++v) {
          const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * v));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(C::Unsigned(_mm256_and_si256(p, m4)), ab[v]));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(C::Unsigned(_mm256_and_si256(_mm256_srli_epi16(p, 4), m4)), ab[v + 4]));
        }
        isum = _mm256_sub_epi32(_mm256_madd_epi16(s, ones), off);
      } else {
        __m256i s_lo = _mm256_sub_epi32(_mm256_setzero_si256(), off), s_hi = _mm256_setzero_si256();
        for (int v = 0; v < 4; ++v) {
          const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * v));
          Dot::Add(s_lo, C::Unsigned(_mm256_and_si256(p, m4)), ab[v], ones);
          Dot::Add(s_hi, C::Unsigned(_mm256_and_si256(_mm256_srli_epi16(p, 4), m4)), ab[v + 4], ones);
        }
        isum = _mm256_add_epi32(s_lo, s_hi);
      }
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
      acc[g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, da), acc[g]);
    }
  }
  for (int g = 0; g < kG; ++g) _mm256_storeu_ps(y + y_step * g, acc[g]);
}

template <class Dot, class C>
EMBER_AVX2 void GroupsAvx2(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1,
                           const uint8_t* act, uint64_t act_row_bytes, int64_t n_tok, float* y,
                           int64_t ldy, DecodeWalk decode_walk) {
  const int64_t nb = n_in / kQK4_0;
  const uint64_t group_bytes = static_cast<uint64_t>(nb) * kGroupBlockBytes;
  // Tokens in chunks whose activations (~192 KiB) stay in L2 while every group passes over them.
  const int64_t chunk = std::max<int64_t>(4, static_cast<int64_t>((192u << 10) / act_row_bytes) / 4 * 4);
  if (n_tok == 1) {
    ForDecodeGroups(g0, g1, decode_walk, [&]<int kG>(int64_t g, int64_t step) {
      GroupsOneToken<kG, Dot, C>(packed + static_cast<uint64_t>(g) * group_bytes, static_cast<uint64_t>(step) * group_bytes,
                              nb, act, y + 8 * g, 8 * step);
    });
    return;
  }
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = std::min(n_tok, c0 + chunk);
    // Two groups at a time with AVX-512 VNNI (and its model, for the tests).
    constexpr bool kTwoGroups = std::is_same_v<Dot, int8_step::VnniDot> || std::is_same_v<Dot, int8_step::VnniModel>;
    auto groups = [&]<int kG>(int64_t g) {
      const uint8_t* gp = packed + static_cast<uint64_t>(g) * group_bytes;
      ForTokenTiles(
          c0, c1, c1, act, act_row_bytes, y, ldy, 8 * g,
          [&](const uint8_t* const* a, float* const* out) {
            if constexpr (kG == 1) {
              Tile<4, Dot, C>(gp, nb, a, out);
            } else {
#if defined(EMBER_ZMM_TILE)
              if constexpr (std::is_same_v<Dot, int8_step::VnniDot>) return TileZmm<4, C>(gp, group_bytes, nb, a, out);
#endif
              TileTwoGroups<4, Dot, C>(gp, group_bytes, nb, a, out);
            }
          },
          [&](const uint8_t* const* a, float* const* out) {
            if constexpr (kG == 1) {
              Tile<1, Dot, C>(gp, nb, a, out);
            } else {
              TileTwoGroups<1, Dot, C>(gp, group_bytes, nb, a, out);
            }
          });
    };
    int64_t g = g0;
    if constexpr (kTwoGroups) {
      for (; g + 2 <= g1; g += 2) groups.template operator()<2>(g);
    }
    for (; g < g1; ++g) groups.template operator()<1>(g);
  }
}

// AMX (gemm_amx_tile.h): 4 groups make one 32-row panel. A group's block holds, in 32-bit lane r
// of code vector v, bytes 4v..4v+3 of row r: the low nibbles of the 4 vectors, then the high
// nibbles, transposed 8 x 8 by 4 bytes, are the 8 rows' 32 codes in order. The float steps are
// Tile's (one fused multiply-add of d_w x d_a per block), so the same bits. Batches of at least
// amx_tile::kToks tokens (repack.cpp).
template <class Step, class C>
EMBER_AVX2 void GroupsAmx(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
                          uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy) {
  using amx_tile::kRows;
  using amx_tile::kToks;
  constexpr int kGroupsPerPanel = kRows / 8;
  const int64_t nb = n_in / kQK4_0;
  const uint64_t group_bytes = static_cast<uint64_t>(nb) * kGroupBlockBytes;
  const uint64_t panel_bytes = amx_tile::PanelBytes(nb), acts_bytes = amx_tile::ActsBytes(nb);
  const int64_t n_tgroups = (n_tok + kToks - 1) / kToks;
  const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>((192u << 10) / acts_bytes), 1, n_tgroups);
  uint8_t* scratch = ThreadScratch(panel_bytes + static_cast<uint64_t>(chunk) * acts_bytes);
  const amx_tile::Panel panel = amx_tile::PanelAt(scratch, nb);
  auto acts_of = [&](int64_t i) { return amx_tile::ActsAt(scratch + panel_bytes + static_cast<uint64_t>(i) * acts_bytes, nb); };
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  alignas(64) float out[kRows * kToks];
  Step::Begin();
  for (int64_t c0 = 0; c0 < n_tgroups; c0 += chunk) {
    const int64_t c1 = std::min(n_tgroups, c0 + chunk);
    for (int64_t tg = c0; tg < c1; ++tg) {
      const int64_t t0 = tg * kToks;
      auto row = [&](int n) { return act + static_cast<uint64_t>(t0 + n) * act_row_bytes; };
      amx_tile::PackActs(
          nb, static_cast<int>(std::min<int64_t>(kToks, n_tok - t0)),
          [&](int n, int64_t b) { return reinterpret_cast<const BlockQ8_0*>(row(n))[b].qs; },
          [&](int n, int64_t b) { return ActScales(row(n), nb)[b]; }, acts_of(tg - c0));
    }
    for (int64_t pg = g0; pg < g1; pg += kGroupsPerPanel) {
      const int n_g = static_cast<int>(std::min<int64_t>(kGroupsPerPanel, g1 - pg));
      for (int64_t b = 0; b < nb; ++b) {
        for (int gi = 0; gi < kGroupsPerPanel; ++gi) {
          int8_t* q = panel.q + (b * kRows + 8 * gi) * 32;
          float* d = panel.d + b * kRows + 8 * gi;
          if (gi >= n_g) {
            std::memset(q, 0, 8 * 32);
            std::memset(d, 0, 8 * sizeof(float));
            continue;
          }
          const uint8_t* blk = packed + static_cast<uint64_t>(pg + gi) * group_bytes + static_cast<uint64_t>(b) * kGroupBlockBytes;
          __m256i v[8];
          for (int k = 0; k < 4; ++k) {
            const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * k));
            v[k] = C::Signed(_mm256_and_si256(raw, m4));
            v[4 + k] = C::Signed(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4));
          }
          Transpose8x8Epi32(v);
          for (int r = 0; r < 8; ++r) StoreA(q + 32 * r, v[r]);
          _mm256_storeu_ps(d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk))));
        }
      }
      for (int64_t tg = c0; tg < c1; ++tg) {
        amx_tile::Tile<Step>(panel, acts_of(tg - c0), nb, out);
        const int64_t n_t = std::min<int64_t>(kToks, n_tok - tg * kToks);
        for (int64_t t = 0; t < n_t; ++t) {
          float* yt = y + (tg * kToks + t) * ldy + 8 * pg;
          for (int r = 0; r < 8 * n_g; ++r) yt[r] = out[kToks * r + t];
        }
      }
    }
  }
  Step::End();
}

// The kernels for codes C at `isa`. IQ4_NL's take only the VNNI steps (the header comment:
// maddubs would overflow); below kAvxVnni, where ChooseRepack picks its layout only under the
// tests' VNNI or AMX models, they run the VNNI model.
template <class C>
void GroupsFor(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
               uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  if (UsesAmxTile(n_tok, isa)) {
    if (AmxModelForTests()) return GroupsAmx<amx_tile::AmxInt8Model, C>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy);
    return GroupsAmx<amx_tile::AmxInt8, C>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy);
  }
  const DecodeWalk decode_walk = DecodeWalkFor(isa);
  if (VnniModelForTests() || (C::kLookup && isa < Isa::kAvxVnni)) {
    return GroupsAvx2<int8_step::VnniModel, C>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
  }
  if (isa == Isa::kAvxVnni) return GroupsAvx2<int8_step::VexVnniDot, C>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
  if (isa >= Isa::kAvx512 || C::kLookup) {
    return GroupsAvx2<int8_step::VnniDot, C>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
  }
  if constexpr (!C::kLookup) GroupsAvx2<int8_step::MaddDot, C>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, decode_walk);
}

#else  // ChooseRepack never picks a layout without the AVX2 kernels: GroupsFor is never called

struct Q4_0Codes;
struct IQ4NLCodes;
template <class C>
void GroupsFor(const uint8_t*, int64_t, int64_t, int64_t, const uint8_t*, uint64_t, int64_t, float*, int64_t, Isa) {
  EMBER_CHECK(false);
}

#endif  // EMBER_REPACK_AVX2

// The nibble layout is the same for both formats (a 2-byte scale, then 16 bytes of codes).
static_assert(sizeof(BlockIQ4NL) == sizeof(BlockQ4_0) && offsetof(BlockIQ4NL, qs) == offsetof(BlockQ4_0, qs));

void RepackNibbleGroups(const uint8_t* src, uint64_t row_bytes, int64_t n_in, int64_t g0, int64_t g1, uint8_t* dst) {
  const int64_t nb = n_in / kQK4_0;
  for (int64_t g = g0; g < g1; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* out = dst + (static_cast<uint64_t>(g * nb + b)) * kGroupBlockBytes;
      for (int r = 0; r < 8; ++r) {
        const auto* blk = reinterpret_cast<const BlockQ4_0*>(src + static_cast<uint64_t>(8 * g + r) * row_bytes) + b;
        std::memcpy(out + 2 * r, &blk->d, 2);
        for (int v = 0; v < 4; ++v) std::memcpy(out + 16 + 32 * v + 4 * r, blk->qs + 4 * v, 4);
      }
    }
  }
}

}  // namespace

namespace q4_0x8 {
bool UsesAmx(int64_t n_tok, Isa isa) { return UsesAmxTile(n_tok, isa); }
void RepackGroups(const uint8_t* src, uint64_t row_bytes, int64_t n_in, int64_t g0, int64_t g1, uint8_t* dst) {
  RepackNibbleGroups(src, row_bytes, n_in, g0, g1, dst);
}
void Groups(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
            uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  GroupsFor<Q4_0Codes>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, isa);
}
}  // namespace q4_0x8

namespace iq4nlx8 {
bool UsesAmx(int64_t n_tok, Isa isa) { return UsesAmxTile(n_tok, isa); }
void RepackGroups(const uint8_t* src, uint64_t row_bytes, int64_t n_in, int64_t g0, int64_t g1, uint8_t* dst) {
  RepackNibbleGroups(src, row_bytes, n_in, g0, g1, dst);
}
void Groups(const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1, const uint8_t* act,
            uint64_t act_row_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  GroupsFor<IQ4NLCodes>(packed, n_in, g0, g1, act, act_row_bytes, n_tok, y, ldy, isa);
}
}  // namespace iq4nlx8

float ReferenceQ4_0x8Dot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row) {
  const int64_t nb = n_in / kQK4_0;
  const auto* w = reinterpret_cast<const BlockQ4_0*>(w_row);
  const auto* a = reinterpret_cast<const BlockQ8_0*>(act_row);
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum = 0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      isum += ((w[b].qs[j] & 0x0F) - 8) * a[b].qs[j];
      isum += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + kQK4_0 / 2];
    }
    acc = std::fma(static_cast<float>(isum), HalfToFloat(w[b].d) * HalfToFloat(a[b].d), acc);
  }
  return acc;
}

float ReferenceIQ4NLx8Dot(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row) {
  const int64_t nb = n_in / kQK4_NL;
  const auto* w = reinterpret_cast<const BlockIQ4NL*>(w_row);
  const auto* a = reinterpret_cast<const BlockQ8_0*>(act_row);
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum = 0;
    for (int j = 0; j < kQK4_NL / 2; ++j) {
      isum += kIq4nlValues[w[b].qs[j] & 0x0F] * a[b].qs[j];
      isum += kIq4nlValues[w[b].qs[j] >> 4] * a[b].qs[j + kQK4_NL / 2];
    }
    acc = std::fma(static_cast<float>(isum), HalfToFloat(w[b].d) * HalfToFloat(a[b].d), acc);
  }
  return acc;
}

}  // namespace ember::cpu
