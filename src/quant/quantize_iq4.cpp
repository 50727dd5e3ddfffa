// Reference quantizers of IQ4_NL and IQ4_XS: 4-bit codes indexing a fixed non-linear table.
//
// Each 32-element block gets the scale that best fits its values to kIq4nlValues (weighted by
// x^2), searched over 15 candidate scales; IQ4_XS then stores those block scales as 6-bit
// integers against one f16 super-block scale and re-picks the codes. This is ggml's
// quantize_row_iq4_nl_impl as llama-quantize calls it without an importance matrix
// (quantize_iq4_nl / quantize_iq4_xs, ntry = 7), with the same float operations in the same
// order.
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/quantize_internal.h"

namespace ember::quant_internal {
namespace {

constexpr float kGroupMaxEps = 1e-15f;
constexpr int kNtry = 7;

// Index of the table value nearest to x (ties to the lower one), table sorted ascending.
int BestIndex(const int8_t* val, float x) {
  constexpr int n = 16;
  if (x <= val[0]) return 0;
  if (x >= val[n - 1]) return n - 1;
  int ml = 0, mu = n - 1;
  while (mu - ml > 1) {
    const int mav = (ml + mu) / 2;
    if (x < val[mav]) {
      mu = mav;
    } else {
      ml = mav;
    }
  }
  return x - static_cast<float>(val[mu - 1]) < static_cast<float>(val[mu]) - x ? mu - 1 : mu;
}

// Quantizes one super-block of `super_block_size` (32 for IQ4_NL, 256 for IQ4_XS) in blocks of
// 32. For IQ4_NL (one block) dh receives the block's scale; for IQ4_XS it receives the
// super-block scale and scales_h / scales_l the 6-bit block scales.
void QuantizeIq4Block(int super_block_size, const float* x, uint16_t* dh, uint8_t* q4, uint16_t* scales_h,
                      uint8_t* scales_l) {
  constexpr int block_size = 32;
  const int8_t* values = kIq4nlValues;
  float scales[kQK_K / block_size];
  float weight[block_size];
  uint8_t L[kQK_K];

  std::memset(q4, 0, static_cast<size_t>(super_block_size / 2));
  dh[0] = FloatToHalf(0.f);

  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < super_block_size / block_size; ++ib) {
    const float* xb = x + ib * block_size;
    uint8_t* Lb = L + ib * block_size;
    for (int j = 0; j < block_size; ++j) weight[j] = xb[j] * xb[j];
    float amax = 0, max = 0;
    for (int j = 0; j < block_size; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < kGroupMaxEps) {
      scales[ib] = 0;
      // ggml leaves these codes unset; code 0 would decode to -127 * 0 = 0 all the same.
      std::memset(Lb, 0, block_size);
      continue;
    }
    float d = -max / static_cast<float>(values[0]);
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < block_size; ++j) {
      const float al = id * xb[j];
      const int l = BestIndex(values, al);
      Lb[j] = static_cast<uint8_t>(l);
      const float q = values[l];
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -kNtry; itry <= kNtry; ++itry) {
      id = static_cast<float>(itry + values[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < block_size; ++j) {
        const float al = id * xb[j];
        const int l = BestIndex(values, al);
        const float q = values[l];
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    const float abs_d = std::fabs(d);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = d;
    }
  }

  if (super_block_size / block_size > 1) {
    const int nb = super_block_size / block_size;
    *scales_h = 0;
    const float d = -max_scale / 32;
    dh[0] = FloatToHalf(d);
    const float id = d != 0.0f ? 1 / d : 0.f;
    for (int ib = 0; ib < nb; ++ib) {
      int l = NearestInt(id * scales[ib]);
      l = l < -32 ? -32 : (l > 31 ? 31 : l);
      const float dl = d * static_cast<float>(l);
      const float idl = dl != 0.0f ? 1 / dl : 0.f;
      uint8_t* Lb = L + ib * block_size;
      const float* xb = x + ib * block_size;
      for (int j = 0; j < block_size; ++j) Lb[j] = static_cast<uint8_t>(BestIndex(values, idl * xb[j]));
      l += 32;
      const uint8_t l_l = static_cast<uint8_t>(l & 0xf);
      const uint8_t l_h = static_cast<uint8_t>(l >> 4);
      if (ib % 2 == 0) {
        scales_l[ib / 2] = l_l;
      } else {
        scales_l[ib / 2] = static_cast<uint8_t>(scales_l[ib / 2] | (l_l << 4));
      }
      *scales_h = static_cast<uint16_t>(*scales_h | (l_h << (2 * (ib % 8))));
    }
  } else {
    dh[0] = FloatToHalf(scales[0]);
    const float id = scales[0] != 0.0f ? 1 / scales[0] : 0;
    for (int j = 0; j < super_block_size; ++j) L[j] = static_cast<uint8_t>(BestIndex(values, id * x[j]));
  }

  for (int i = 0; i < super_block_size / 32; ++i) {
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
  }
}

}  // namespace

void QuantizeIQ4NL(const float* x, BlockIQ4NL* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_NL; ++i) {
    QuantizeIq4Block(kQK4_NL, x + i * kQK4_NL, &y[i].d, y[i].qs, nullptr, nullptr);
  }
}

void QuantizeIQ4XS(const float* x, BlockIQ4XS* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    QuantizeIq4Block(kQK_K, x + i * kQK_K, &y[i].d, y[i].qs, &y[i].scales_h, y[i].scales_l);
  }
}

}  // namespace ember::quant_internal
