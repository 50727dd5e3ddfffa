// Packed activations of the tiled prompt kernels (gemm_acts.h).
#include "cpu/gemm_acts.h"

#include "core/error.h"
#include "cpu/avx2_util.h"
#include "quant/blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_GEMM_ACTS_AVX2 1
#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace ember::cpu {
namespace {

struct Sizes {
  uint64_t qs, d4, s4, bs, bsp, nsum;
};

Sizes SizesOf(ActFormat f, int64_t n_in, int64_t n_tok) {
  const auto t = static_cast<uint64_t>(n_tok);
  if (f == ActFormat::kQ8K) {
    const auto nb = static_cast<uint64_t>(n_in / kQK_K);
    return {AlignUp(t * nb * 256), AlignUp(t * nb * 4), 0, AlignUp(t * nb * 32), AlignUp(t * nb * 16), 0};
  }
  const auto nb = static_cast<uint64_t>(n_in / 32);
  return {AlignUp(t * nb * 32), AlignUp(t * nb * 16), f == ActFormat::kQ8_1 ? AlignUp(t * nb * 16) : 0, 0, 0,
          f == ActFormat::kQ8_0 ? AlignUp(t * nb * 4) : 0};
}

#if defined(EMBER_GEMM_ACTS_AVX2)

EMBER_AVX2 void PackAvx2(ActFormat f, int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes,
                         int64_t t0, int64_t t1, uint8_t* packed) {
  const GemmActs a = GemmActsAt(f, n_in, n_tok, packed);
  auto* qs = const_cast<int8_t*>(a.qs);
  auto* d4 = const_cast<float*>(a.d4);
  auto* s4 = const_cast<float*>(a.s4);
  auto* bs = const_cast<int16_t*>(a.bs);
  auto* bsp = const_cast<int16_t*>(a.bsp);
  auto* nsum = const_cast<int32_t*>(a.nsum);
  const int64_t nb = a.nb;
  for (int64_t t = t0; t < t1; ++t) {
    const uint8_t* row = act + static_cast<uint64_t>(t) * act_row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t tb = t * nb + b;
      if (f == ActFormat::kQ8K) {
        const auto* y = reinterpret_cast<const BlockQ8K*>(row) + b;
        for (int c = 0; c < 8; ++c) StoreA(qs + tb * 256 + 32 * c, Load(y->qs + 32 * c));
        d4[tb] = y->d;
        for (int j = 0; j < 16; ++j) bs[tb * 16 + j] = y->bsums[j];
        for (int j = 0; j < 8; ++j) {
          bsp[tb * 8 + j] = static_cast<int16_t>(y->bsums[2 * j] + y->bsums[2 * j + 1]);
        }
      } else if (f == ActFormat::kQ8_1) {
        const auto* y = reinterpret_cast<const BlockQ8_1*>(row) + b;
        StoreA(qs + tb * 32, Load(y->qs));
        const float d = _cvtsh_ss(y->d), s = _cvtsh_ss(y->s);
        for (int j = 0; j < 4; ++j) {
          d4[tb * 4 + j] = d;
          s4[tb * 4 + j] = s;
        }
      } else {
        const auto* y = reinterpret_cast<const BlockQ8_0*>(row) + b;
        StoreA(qs + tb * 32, Load(y->qs));
        const float d = _cvtsh_ss(y->d);
        for (int j = 0; j < 4; ++j) d4[tb * 4 + j] = d;
        int32_t sum = 0;
        for (int j = 0; j < 32; ++j) sum += y->qs[j];
        nsum[tb] = -sum;
      }
    }
  }
}

#endif  // EMBER_GEMM_ACTS_AVX2

}  // namespace

uint64_t GemmActsBytes(ActFormat f, int64_t n_in, int64_t n_tok) {
  const Sizes s = SizesOf(f, n_in, n_tok);
  return s.qs + s.d4 + s.s4 + s.bs + s.bsp + s.nsum + kAlign;
}

GemmActs GemmActsAt(ActFormat f, int64_t n_in, int64_t n_tok, const uint8_t* packed) {
  const auto* p = reinterpret_cast<const uint8_t*>(AlignUp(reinterpret_cast<uintptr_t>(packed)));
  const Sizes s = SizesOf(f, n_in, n_tok);
  GemmActs a{};
  a.nb = f == ActFormat::kQ8K ? n_in / kQK_K : n_in / 32;
  a.qs = reinterpret_cast<const int8_t*>(p);
  a.d4 = reinterpret_cast<const float*>(p + s.qs);
  a.s4 = reinterpret_cast<const float*>(p + s.qs + s.d4);
  a.bs = reinterpret_cast<const int16_t*>(p + s.qs + s.d4 + s.s4);
  a.bsp = reinterpret_cast<const int16_t*>(p + s.qs + s.d4 + s.s4 + s.bs);
  a.nsum = reinterpret_cast<const int32_t*>(p + s.qs + s.d4 + s.s4 + s.bs + s.bsp);
  return a;
}

void PackGemmActs(ActFormat f, int64_t n_in, int64_t n_tok, const uint8_t* act, uint64_t act_row_bytes,
                  int64_t t0, int64_t t1, uint8_t* packed) {
#if defined(EMBER_GEMM_ACTS_AVX2)
  PackAvx2(f, n_in, n_tok, act, act_row_bytes, t0, t1, packed);
#else
  (void)f, (void)n_in, (void)n_tok, (void)act, (void)act_row_bytes, (void)t0, (void)t1, (void)packed;
  Fail("no tiled CPU kernels in this build");
#endif
}

}  // namespace ember::cpu
