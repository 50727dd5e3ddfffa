// The integer step of the 32-element formats' prompt tiles (gemm_signed8_tile.h,
// gemm_legacy_tile.h): for each of 8 int32 lanes, the sum of 4 unsigned bytes of u times the 4
// signed bytes of s beside them. Three ways to form the same integers -- the tiles only ever
// pass u <= 128 and |s| <= 127 (codes, |codes| and 8-bit activations), so maddubs's 16-bit
// pair sums, at most 2 x 128 x 127, never saturate:
// - MaddDot, AVX2: maddubs + madd (+ add), 2-3 vector operations.
// - VnniDot, AVX-512 VNNI with VL: one vpdpbusd. Written as inline assembly so that a tile needs
//   no AVX-512 target of its own: the same template, compiled for AVX2, runs either step. The
//   EVEX form is asked for explicitly ({evex}); the VEX form is AVX-VNNI, which AVX-512 CPUs
//   before Sapphire Rapids lack.
// - VexVnniDot, AVX-VNNI: the same vpdpbusd in its VEX form ({vex}), for CPUs with AVX-VNNI and
//   no AVX-512 (Alder Lake and later client CPUs).
// - VnniModel: vpdpbusd's definition (Intel SDM: 4 u8 x s8 products added into each int32 lane,
//   wrapping, no saturation), one lane at a time. Tests run the VNNI tiles with it on CPUs
//   without VNNI (gemm.h, SetVnniModelForTests) and check it against SIMDe's implementation.
// Since all three give the same integers, a tile gives the same bits with each.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#include <cstdint>

#define EMBER_STEP_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ember::cpu::int8_step {

// acc += x in acc's own register: left to itself GCC kept all 32 products of a block on the
// stack and summed them afterwards (32 stores and loads per block). The "v" constraints (here and
// in VnniDot) allow registers 16-31 where the function is compiled with AVX-512 (the assembler
// then encodes EVEX); "x" would force copies into 0-15. VexVnniDot keeps "x": VEX reaches 0-15.
EMBER_STEP_AVX2 inline void AddInto(__m256i& acc, __m256i x) { __asm__("vpaddd %1, %0, %0" : "+v"(acc) : "v"(x)); }

struct MaddDot {
  EMBER_STEP_AVX2 static void Add(__m256i& acc, __m256i u, __m256i s, __m256i ones) {
    AddInto(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), ones));
  }
  EMBER_STEP_AVX2 static __m256i Sum(__m256i u, __m256i s, __m256i ones) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), ones);
  }
};

struct VnniDot {
  EMBER_STEP_AVX2 static void Add(__m256i& acc, __m256i u, __m256i s, __m256i /*ones*/) {
    __asm__("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
  }
  EMBER_STEP_AVX2 static __m256i Sum(__m256i u, __m256i s, __m256i ones) {
    __m256i acc = _mm256_setzero_si256();
    Add(acc, u, s, ones);
    return acc;
  }
};

struct VexVnniDot {
  EMBER_STEP_AVX2 static void Add(__m256i& acc, __m256i u, __m256i s, __m256i /*ones*/) {
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(s));
  }
  EMBER_STEP_AVX2 static __m256i Sum(__m256i u, __m256i s, __m256i ones) {
    __m256i acc = _mm256_setzero_si256();
    Add(acc, u, s, ones);
    return acc;
  }
};

struct VnniModel {
  EMBER_STEP_AVX2 static void Add(__m256i& acc, __m256i u, __m256i s, __m256i /*ones*/) {
    alignas(32) int32_t a[8];
    alignas(32) uint8_t ub[32];
    alignas(32) int8_t sb[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(a), acc);
    _mm256_store_si256(reinterpret_cast<__m256i*>(ub), u);
    _mm256_store_si256(reinterpret_cast<__m256i*>(sb), s);
    for (int i = 0; i < 8; ++i) {
      uint32_t sum = static_cast<uint32_t>(a[i]);
      for (int j = 0; j < 4; ++j) sum += static_cast<uint32_t>(int32_t{ub[4 * i + j]} * int32_t{sb[4 * i + j]});
      a[i] = static_cast<int32_t>(sum);
    }
    acc = _mm256_load_si256(reinterpret_cast<const __m256i*>(a));
  }
  EMBER_STEP_AVX2 static __m256i Sum(__m256i u, __m256i s, __m256i ones) {
    __m256i acc = _mm256_setzero_si256();
    Add(acc, u, s, ones);
    return acc;
  }
};

#if defined(__AVX512F__)
// VnniDot's step on 512 bits (16 int32 lanes), for the 16-row prompt tiles of the files built
// with AVX-512 (repack_q4_0.cpp, repack_q4k.cpp, gemm_kquant8_tile.h).
EMBER_STEP_AVX2 inline void Dpbusd512(__m512i& acc, __m512i u, __m512i s) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
}
#endif

}  // namespace ember::cpu::int8_step

#undef EMBER_STEP_AVX2

#endif
