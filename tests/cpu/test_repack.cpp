// The repacked layouts (cpu/repack.h): every (row, token) result of MatMulRepacked must be the
// same float, bit for bit, as the layout's scalar reference on the original blocks (llama.cpp's
// float steps for that layout: for Q4_K one order for whole tiles of 4 tokens, another for the
// remainder and decode), for one token (decode) and for batches (prefill: tiles of 4 tokens, a
// remainder, token chunks), on weights of random bytes, through a pool of 3 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "cpu/dot.h"
#include "cpu/gemm.h"
#include "cpu/repack.h"
#include "cpu/thread_pool.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace ember::cpu {
namespace {

using Reference = float (*)(int64_t n_in, const uint8_t* w_row, const uint8_t* act_row);

struct LayoutCase {
  GgmlType type;
  RepackLayout layout;
  Reference reference;        // decode, and the last n_tok % 4 tokens of a batch
  Reference tiled_reference;  // the first n_tok - n_tok % 4 tokens of a batch
  uint64_t packed_bytes_per_256;  // bytes of the repacked copy per row and 256 elements
};

const LayoutCase kCases[] = {
    {GgmlType::Q4_0, RepackLayout::kQ4_0x8, ReferenceQ4_0x8Dot, ReferenceQ4_0x8Dot, 144},
    {GgmlType::Q4_K, RepackLayout::kQ4Kx8, ReferenceQ4Kx8Dot, ReferenceQ4Kx8TiledDot, 148},
    {GgmlType::IQ4_NL, RepackLayout::kIQ4NLx8, ReferenceIQ4NLx8Dot, ReferenceIQ4NLx8Dot, 144},
};

bool Avx2() { return ClampIsa(Isa::kAvx2) == Isa::kAvx2 && avx2::Compiled(); }

void SetHalf(uint8_t* p, float v) {
  const uint16_t h = FloatToHalf(v);
  std::memcpy(p, &h, 2);
}

// Random bytes (every code), with finite random F16 scales.
std::vector<uint8_t> RandomWeights(std::mt19937& rng, GgmlType t, int64_t n_in, int64_t n_out) {
  const uint64_t rb = *RowBytes(t, static_cast<uint64_t>(n_in));
  std::vector<uint8_t> w(rb * static_cast<uint64_t>(n_out));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : w) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  const uint64_t bb = TraitsOf(t).bytes_per_block;
  for (uint64_t off = 0; off < w.size(); off += bb) {
    uint8_t* blk = w.data() + off;
    if (t == GgmlType::Q4_0 || t == GgmlType::IQ4_NL) SetHalf(blk, scale(rng));
    if (t == GgmlType::Q4_K) {
      SetHalf(blk + offsetof(BlockQ4K, d), scale(rng));
      SetHalf(blk + offsetof(BlockQ4K, dmin), scale(rng));
    }
  }
  return w;
}

std::vector<float> RandomActs(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = dist(rng);
  // A few outliers, as real activations have: they set the 8-bit scale of their block.
  for (size_t i = 0; i < x.size(); i += 97) x[i] *= 20.0f;
  return x;
}

TEST(Repack, ChoosesTheLayoutOnlyWhereItApplies) {
  if (!Avx2()) GTEST_SKIP() << "no AVX2: no repacked layouts on this machine";
  EXPECT_EQ(ChooseRepack(GgmlType::Q4_0, 64, 256, Isa::kAvx2), RepackLayout::kQ4_0x8);
  EXPECT_EQ(ChooseRepack(GgmlType::Q4_0, 60, 256, Isa::kAvx2), RepackLayout::kNone);  // rows % 8
  EXPECT_EQ(ChooseRepack(GgmlType::Q4_0, 64, 256, Isa::kScalar), RepackLayout::kNone);
  EXPECT_EQ(ChooseRepack(GgmlType::Q4_K, 64, 256, Isa::kAvx2), RepackLayout::kQ4Kx8);
  EXPECT_EQ(ChooseRepack(GgmlType::Q4_K, 36, 256, Isa::kAvx2), RepackLayout::kNone);  // rows % 8
  EXPECT_EQ(ChooseRepack(GgmlType::Q4_K, 64, 256, Isa::kScalar), RepackLayout::kNone);
  EXPECT_EQ(ChooseRepack(GgmlType::Q5_K, 64, 256, Isa::kAvx2), RepackLayout::kNone);
  EXPECT_EQ(ChooseRepack(GgmlType::Q4_1, 64, 256, Isa::kAvx2), RepackLayout::kNone);
  EXPECT_EQ(ChooseRepack(GgmlType::Q8_0, 64, 256, Isa::kAvx2), RepackLayout::kNone);
  // IQ4_NL: VNNI only (its level products overflow maddubs).
  EXPECT_EQ(ChooseRepack(GgmlType::IQ4_NL, 64, 256, Isa::kAvx2), RepackLayout::kNone);
  EXPECT_EQ(ChooseRepack(GgmlType::IQ4_NL, 64, 256, Isa::kAvxVnni), RepackLayout::kIQ4NLx8);
  EXPECT_EQ(ChooseRepack(GgmlType::IQ4_NL, 64, 256, Isa::kAvx512), RepackLayout::kIQ4NLx8);
  EXPECT_EQ(ChooseRepack(GgmlType::IQ4_NL, 60, 256, Isa::kAvx512), RepackLayout::kNone);  // rows % 8
}

// Q4_0's and IQ4_NL's copies are the size of the original; Q4_K's holds its 6-bit scales and mins a byte each,
// 32 bytes more per 8 blocks (1152 bytes): under 3% more memory.
TEST(Repack, RepackedCopyIsTheOriginalSizeOrAtMostThreePercentMore) {
  for (const LayoutCase& c : kCases) {
    const int64_t n_in = 512, n_out = 24;
    const uint64_t original = *RowBytes(c.type, n_in) * n_out;
    const uint64_t packed = RepackedBytes(c.layout, n_out, n_in);
    EXPECT_EQ(packed, c.packed_bytes_per_256 * (n_in / 256) * n_out) << RepackLayoutName(c.layout);
    EXPECT_GE(packed, original) << RepackLayoutName(c.layout);
    EXPECT_LE(packed, original * 103 / 100) << RepackLayoutName(c.layout);
  }
  EXPECT_EQ(RepackedBytes(RepackLayout::kQ4_0x8, 24, 512), *RowBytes(GgmlType::Q4_0, 512) * 24);
}

// The kernel variants to check: AVX2; the VNNI prompt tiles (Q4_0, Q4_K) and IQ4_NL's kernels
// (VNNI only) with the scalar model of vpdpbusd (any AVX2 CPU) and with the instruction (AVX-512
// VNNI CPUs); Q4_0's and IQ4_NL's AMX tile (batches of 32 tokens or more) with the scalar model of
// TDPBSSD and with the instructions (where the CPU and the OS allow AMX). Each must give the
// reference's bits.
struct Variant {
  const char* name;
  Isa isa;
  bool vnni_model;
  bool amx_model;
};

std::vector<Variant> Variants() {
  std::vector<Variant> v = {{"avx2", Isa::kAvx2, false, false},
                            {"VNNI model", Isa::kAvx2, true, false},
                            {"AMX model", Isa::kAvx2, false, true}};
  if (ClampIsa(Isa::kAvxVnni) == Isa::kAvxVnni) v.push_back({"avxvnni", Isa::kAvxVnni, false, false});
  if (ClampIsa(Isa::kAvx512) == Isa::kAvx512) v.push_back({"avx512 (VNNI)", Isa::kAvx512, false, false});
  if (ClampIsa(Isa::kAmx) == Isa::kAmx) v.push_back({"amx", Isa::kAmx, false, false});
  return v;
}

TEST(Repack, EveryResultEqualsTheScalarReferenceBitForBit) {
  if (!Avx2()) GTEST_SKIP() << "no AVX2: no repacked layouts on this machine";
  ThreadPool pool(3);
  for (const Variant& variant : Variants()) {
    SCOPED_TRACE(variant.name);
    SetVnniModelForTests(variant.vnni_model);
    SetAmxModelForTests(variant.amx_model);
    std::mt19937 rng(20261127);
    struct Shape { int64_t n_in, n_out, n_tok; };
    // Rows: one group, several, many (decode takes adjacent groups 8, 4, 2 and 1 at a time: 6 and
    // 9 groups reach each; on AVX-512, 4 spread apart: 133 groups make tasks of 8, two apart, and
    // a last one of 5, four side by side and one alone); tokens: decode, under a tile, tiles + remainder, and a
    // batch long enough to span several token chunks (192 KiB of activations each); for the AMX
    // tile (32 rows = 4 groups, 32 tokens), full and partial panels and token groups. The prompt
    // tiles take 2 groups at a time where a task has them: with 3 threads, tasks hold 2 groups
    // from 48 groups on (49 and 65 groups leave a last task of one).
    const Shape shapes[] = {{256, 8, 1},  {256, 48, 1},  {512, 72, 1},   {512, 136, 1},  {256, 24, 3},
                            {768, 40, 4}, {512, 16, 9},  {2816, 64, 7},  {256, 8, 902},
                            {512, 72, 40}, {2816, 64, 33}, {256, 96, 200}, {256, 392, 9},
                            {512, 520, 6}, {256, 1064, 1}};
    for (const LayoutCase& c : kCases) {
      const DotKernel& k = GetDotKernel(c.type, Isa::kAvx2);
      for (const Shape& s : shapes) {
        if (ChooseRepack(c.type, s.n_out, s.n_in, variant.isa) != c.layout) continue;
        const auto w = RandomWeights(rng, c.type, s.n_in, s.n_out);
        const uint64_t rb = *RowBytes(c.type, static_cast<uint64_t>(s.n_in));
        std::vector<uint8_t> packed(RepackedBytes(c.layout, s.n_out, s.n_in));
        Repack(pool, c.layout, w.data(), rb, s.n_out, s.n_in, packed.data());
        const auto x = RandomActs(rng, s.n_in * s.n_tok);
        std::vector<float> y(static_cast<size_t>(s.n_out * s.n_tok));
        std::vector<uint8_t> scratch;
        MatMulRepacked(pool, c.layout, packed.data(), s.n_out, s.n_in, x.data(), s.n_tok, y.data(), scratch,
                       variant.isa);
        std::vector<uint8_t> act(ActRowBytes(k, s.n_in));
        int mismatches = 0;
        for (int64_t t = 0; t < s.n_tok; ++t) {
          k.quantize(x.data() + t * s.n_in, act.data(), s.n_in);
          for (int64_t r = 0; r < s.n_out; ++r) {
            const Reference ref = t < s.n_tok - s.n_tok % 4 ? c.tiled_reference : c.reference;
            const float want = ref(s.n_in, w.data() + r * rb, act.data());
            const float got = y[t * s.n_out + r];
            if (std::memcmp(&want, &got, 4) != 0 && ++mismatches <= 5) {
              ADD_FAILURE() << RepackLayoutName(c.layout) << " n_in " << s.n_in << " n_out " << s.n_out
                            << " n_tok " << s.n_tok << ": row " << r << " token " << t << " got " << got
                            << " want " << want;
            }
          }
        }
        EXPECT_EQ(mismatches, 0);
      }
    }
  }
  SetVnniModelForTests(false);
  SetAmxModelForTests(false);
}

// The layout's float order differs from the row dot products' (one accumulator per row instead
// of 8 lanes), so the two agree to rounding only: this bounds the difference and so proves the
// reference computes the same product.
TEST(Repack, ReferenceAgreesWithTheRowDotProductToRounding) {
  std::mt19937 rng(7);
  for (const LayoutCase& c : kCases) {
    const DotKernel& k = GetDotKernel(c.type, Isa::kScalar);
    const int64_t n_in = 4096;
    const auto w = RandomWeights(rng, c.type, n_in, 1);
    const auto x = RandomActs(rng, n_in);
    std::vector<uint8_t> act(ActRowBytes(k, n_in));
    k.quantize(x.data(), act.data(), n_in);
    const float dot = k.dot(n_in, w.data(), act.data());
    for (const Reference ref : {c.reference, c.tiled_reference}) {
      EXPECT_NEAR(ref(n_in, w.data(), act.data()), dot, 1e-4f * (std::fabs(dot) + 1.0f))
          << RepackLayoutName(c.layout);
    }
  }
}

}  // namespace
}  // namespace ember::cpu
