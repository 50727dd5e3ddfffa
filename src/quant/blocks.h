// Packed block layouts of ggml's quantization formats, byte for byte as in ggml-common.h.
//
// A quantized row of n elements is n / block_size blocks laid end to end; each block stores
// one or more scales and the packed integer codes of its elements. All multi-byte fields are
// little-endian (GGUF is little-endian and so is every host ember supports). "f16" fields are
// IEEE half precision stored as uint16_t (convert with HalfToFloat / FloatToHalf).
//
//   format  elems bytes layout                                              value of element i
//   Q4_0    32    18    f16 d; u8 qs[16] (lo nibble: i<16, hi: i>=16)       d * (q - 8)
//   Q4_1    32    20    f16 d, m; u8 qs[16]                                 d * q + m
//   Q5_0    32    22    f16 d; u32 qh (bit i = 5th bit of q_i); u8 qs[16]   d * (q - 16)
//   Q5_1    32    24    f16 d, m; u32 qh; u8 qs[16]                         d * q + m
//   Q8_0    32    34    f16 d; i8 qs[32]                                    d * q
//   Q8_1    32    36    f16 d, s (= d * sum q); i8 qs[32]                   d * q
//   Q2_K    256   84    u8 scales[16] (lo: scale, hi: min); u8 qs[64]; f16 d, dmin
//                       sub-blocks of 16:  d * sc * q - dmin * m,  q in 0..3
//   Q3_K    256   110   u8 hmask[32]; u8 qs[64]; u8 scales[12] (16 x 6 bit, biased by 32); f16 d
//                       d * (sc - 32) * (q - (hmask bit ? 0 : 4)),  q in 0..3
//   Q4_K    256   144   f16 d, dmin; u8 scales[12] (8 x 6-bit scale + 8 x 6-bit min); u8 qs[128]
//                       sub-blocks of 32:  d * sc * q - dmin * m,  q in 0..15
//   Q5_K    256   176   f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]   as Q4_K, q in 0..31
//   Q6_K    256   210   u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d         d * sc * (q - 32)
//   Q8_K    256   292   f32 d; i8 qs[256]; i16 bsums[16] (sums of 16 qs)    d * q
//   IQ4_NL  32    18    f16 d; u8 qs[16]                                    d * kIq4nlValues[q]
//   IQ4_XS  256   136   f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]
//                       sub-blocks of 32:  d * (ls - 32) * kIq4nlValues[q], ls 6 bit
//
// The exact bit positions of the K-quant fields are spelled out where they are (un)packed, in
// dequantize.cpp and quantize_k.cpp.
#pragma once

#include <cstdint>
#include <cstring>

namespace ember {

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK4_1 = 32;
inline constexpr int kQK5_0 = 32;
inline constexpr int kQK5_1 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK8_1 = 32;
inline constexpr int kQK4_NL = 32;
inline constexpr int kQK_K = 256;        // super-block size of the K-quants and IQ4_XS
inline constexpr int kKScaleSize = 12;   // packed 6-bit scales of Q3_K / Q4_K / Q5_K

// The 16 non-linear levels of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl).
// The 8 six-bit sub-block scales and mins packed in a Q4_K / Q5_K block's 12 scale bytes
// (ggml's get_scale_min_k4, all 8 at once): the CPU kernels unpack them with this one function.
inline void UnpackScalesMinsK4(const uint8_t* s, uint8_t* sc, uint8_t* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
    m[j] = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// The 16 signed six-bit sub-block scales of a Q3_K block's 12 scale bytes, minus their bias of 32
// (ggml's unpacking, four bytes at a time): bytes 0..7 hold the low nibbles (scales 0..7 in the
// low halves, 8..15 in the high halves), bytes 8..11 the high bit pairs.
inline void UnpackScalesQ3K(const uint8_t* packed, int8_t* scales) {
  uint32_t aux[3], s32[4];
  std::memcpy(aux, packed, 12);
  constexpr uint32_t kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  s32[0] = (aux[0] & kLow4) | (((aux[2] >> 0) & kLow2) << 4);
  s32[1] = (aux[1] & kLow4) | (((aux[2] >> 2) & kLow2) << 4);
  s32[2] = ((aux[0] >> 4) & kLow4) | (((aux[2] >> 4) & kLow2) << 4);
  s32[3] = ((aux[1] >> 4) & kLow4) | (((aux[2] >> 6) & kLow2) << 4);
  uint8_t u[16];
  std::memcpy(u, s32, 16);
  for (int j = 0; j < 16; ++j) scales[j] = static_cast<int8_t>(u[j] - 32);
}

inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK4_1 / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // a little-endian uint32, kept as bytes so the block stays 2-byte aligned
  uint8_t qs[kQK5_0 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK5_1 / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;  // d * sum(qs), used by dot products against Q4_1 / Q5_1
  int8_t qs[kQK8_1];
};
static_assert(sizeof(BlockQ8_1) == 36);

struct BlockQ2K {
  uint8_t scales[kQK_K / 16];  // low nibble: scale, high nibble: min, per 16 elements
  uint8_t qs[kQK_K / 4];       // 2-bit codes
  uint16_t d;                  // super-block scale of the scales
  uint16_t dmin;               // super-block scale of the mins
};
static_assert(sizeof(BlockQ2K) == 84);

struct BlockQ3K {
  uint8_t hmask[kQK_K / 8];     // high bit of each 3-bit code
  uint8_t qs[kQK_K / 4];        // low 2 bits
  uint8_t scales[kKScaleSize];  // 16 scales of 6 bits
  uint16_t d;
};
static_assert(sizeof(BlockQ3K) == 110);

struct BlockQ4K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];  // 8 scales and 8 mins of 6 bits
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4K) == 144);

struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5K) == 176);

struct BlockQ6K {
  uint8_t ql[kQK_K / 2];       // low 4 bits
  uint8_t qh[kQK_K / 4];       // high 2 bits
  int8_t scales[kQK_K / 16];   // 8-bit scales per 16 elements
  uint16_t d;
};
static_assert(sizeof(BlockQ6K) == 210);

struct BlockQ8K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8K) == 292);

struct BlockIQ4NL {
  uint16_t d;
  uint8_t qs[kQK4_NL / 2];
};
static_assert(sizeof(BlockIQ4NL) == 18);

struct BlockIQ4XS {
  uint16_t d;
  uint16_t scales_h;            // high 2 bits of the 8 sub-block scales
  uint8_t scales_l[kQK_K / 64]; // low 4 bits of the 8 sub-block scales
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIQ4XS) == 136);

}  // namespace ember
