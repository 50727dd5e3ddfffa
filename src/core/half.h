// IEEE half precision (F16) and bfloat16 (BF16) conversions, bit-exact and portable.
//
// F16 -> F32 is exact for every input (subnormals, infinities, NaN payloads kept).
// F32 -> F16 rounds to nearest, ties to even, as numpy's float16 cast and the F16C instruction do.
// BF16 follows ggml/gguf: F32 -> BF16 rounds to nearest even and turns NaN into a quiet NaN.
#pragma once

#include <bit>
#include <cstdint>

namespace ember {

float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);

inline float Bf16ToFloat(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

inline uint16_t FloatToBf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 64);  // quiet NaN
  return static_cast<uint16_t>((static_cast<uint64_t>(u) + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

}  // namespace ember
