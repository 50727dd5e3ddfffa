// Dequantization of every supported format, bit for bit against gguf.quants / libggml golden data
// (tests/data/quant/dequant_*.bin, made by scripts/golden/make_quant_golden.py from random blocks
// with awkward scales: subnormal, negative, zero, largest, infinite and NaN halves, all-zero and
// all-ones blocks), and the block layouts against the GGUF type table.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/golden_file.h"  // tests/quant/golden_file.h

namespace ember {
namespace {

TEST(QuantBlocks, StructSizesMatchTheGgufTypeTable) {
  EXPECT_EQ(sizeof(BlockQ4_0), TraitsOf(GgmlType::Q4_0).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ4_1), TraitsOf(GgmlType::Q4_1).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ5_0), TraitsOf(GgmlType::Q5_0).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ5_1), TraitsOf(GgmlType::Q5_1).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ8_0), TraitsOf(GgmlType::Q8_0).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ8_1), TraitsOf(GgmlType::Q8_1).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ2K), TraitsOf(GgmlType::Q2_K).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ3K), TraitsOf(GgmlType::Q3_K).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ4K), TraitsOf(GgmlType::Q4_K).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ5K), TraitsOf(GgmlType::Q5_K).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ6K), TraitsOf(GgmlType::Q6_K).bytes_per_block);
  EXPECT_EQ(sizeof(BlockQ8K), TraitsOf(GgmlType::Q8_K).bytes_per_block);
  EXPECT_EQ(sizeof(BlockIQ4NL), TraitsOf(GgmlType::IQ4_NL).bytes_per_block);
  EXPECT_EQ(sizeof(BlockIQ4XS), TraitsOf(GgmlType::IQ4_XS).bytes_per_block);
  EXPECT_EQ(TraitsOf(GgmlType::Q4_K).block_size, static_cast<uint32_t>(kQK_K));
  EXPECT_EQ(TraitsOf(GgmlType::IQ4_NL).block_size, static_cast<uint32_t>(kQK4_NL));
}

TEST(QuantSupport, CoversTheCommonFormatsAndRefusesOthersWithAnError) {
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                     GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q2_K,
                     GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K,
                     GgmlType::IQ4_NL, GgmlType::IQ4_XS}) {
    EXPECT_TRUE(CanDequantize(t)) << GgmlTypeName(t);
    EXPECT_TRUE(CanQuantize(t)) << GgmlTypeName(t);
  }
  EXPECT_FALSE(CanDequantize(GgmlType::IQ2_XXS));
  EXPECT_FALSE(CanQuantize(GgmlType::I32));
  std::vector<uint8_t> block(TraitsOf(GgmlType::IQ2_XXS).bytes_per_block);
  std::vector<float> out(TraitsOf(GgmlType::IQ2_XXS).block_size);
  EXPECT_THROW(DequantizeRow(GgmlType::IQ2_XXS, block.data(), out.data(), 256), Error);
  EXPECT_THROW(QuantizeRow(GgmlType::IQ2_XXS, out.data(), block.data(), 256), Error);
}

TEST(QuantDequantize, F32IsACopy) {
  const std::vector<float> in = {1.5f, -0.0f, 3e38f, 1e-45f};
  std::vector<float> out(4);
  DequantizeRow(GgmlType::F32, in.data(), out.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(in[i]));
}

class DequantizeGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(DequantizeGolden, IsBitIdenticalToTheReference) {
  const std::string name = std::string("dequant_") + GetParam() + ".bin";
  const test::QuantGolden g = test::ReadQuantGolden(name, /*floats_first=*/false);
  const auto type = FindGgmlType(g.type);
  ASSERT_TRUE(type.has_value());
  ASSERT_EQ(GgmlTypeName(type->type), GetParam());
  const int64_t n = static_cast<int64_t>(g.floats.size());
  ASSERT_EQ(g.bytes.size(), n / type->block_size * type->bytes_per_block);
  std::vector<float> out(g.floats.size());
  DequantizeRow(type->type, g.bytes.data(), out.data(), n);
  int mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float want = g.floats[i];
    const float got = out[i];
    const bool same = std::isnan(want) ? std::isnan(got)
                                       : std::bit_cast<uint32_t>(want) == std::bit_cast<uint32_t>(got);
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << name << ": element " << i << " (block " << i / type->block_size << "): got " << got
                    << " want " << want;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, DequantizeGolden,
                         ::testing::Values("F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
                                           "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_NL",
                                           "IQ4_XS"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace ember
