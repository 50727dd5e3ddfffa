// The AVX2 K-quant, IQ4_XS and legacy (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) row dots against llama.cpp's
// own vec_dot results (tests/data/cpu/dot_golden.json, scripts/golden/make_dot_golden.py): these
// kernels do ggml's AVX2 float steps, so they must give its bits exactly. The inputs are
// regenerated here from the same 64-bit LCG the script used; the Q8_K / Q8_0 / Q8_1 activations
// come from ember's quantizers, whose bytes must also be ggml's (checked through a checksum).
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cpu/dot.h"
#include "quant/blocks.h"

namespace ember {
namespace {

struct Lcg {
  uint64_t x;
  uint64_t Next() { return x = x * 6364136223846793005ull + 1442695040888963407ull; }
  uint8_t Byte() { return static_cast<uint8_t>(Next() >> 56); }
  uint16_t Half() {  // a normal F16 of either sign, magnitude in [2^-7, 2^-6)
    const uint64_t v = Next() >> 48;
    return static_cast<uint16_t>(0x2000 | (v & 0x3FF) | ((v >> 10) & 1) << 15);
  }
  float Value() { return static_cast<float>(static_cast<int64_t>((Next() >> 40) & 0xFFFF) - 32768) / 8192.0f; }
};

std::string Fnv1a64(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

struct Layout {
  GgmlType type;
  size_t block_bytes;
  int64_t block_elems;
  std::vector<size_t> scale_offsets;  // the F16 block scales (and mins) the script overwrote
};

const std::map<std::string, Layout>& Layouts() {
  static const std::map<std::string, Layout> k = {
      {"Q2_K", {GgmlType::Q2_K, sizeof(BlockQ2K), kQK_K, {80, 82}}},
      {"Q3_K", {GgmlType::Q3_K, sizeof(BlockQ3K), kQK_K, {108}}},
      {"Q4_K", {GgmlType::Q4_K, sizeof(BlockQ4K), kQK_K, {0, 2}}},
      {"Q5_K", {GgmlType::Q5_K, sizeof(BlockQ5K), kQK_K, {0, 2}}},
      {"Q6_K", {GgmlType::Q6_K, sizeof(BlockQ6K), kQK_K, {208}}},
      {"IQ4_XS", {GgmlType::IQ4_XS, sizeof(BlockIQ4XS), kQK_K, {0}}},
      {"Q4_0", {GgmlType::Q4_0, sizeof(BlockQ4_0), 32, {0}}},
      {"Q4_1", {GgmlType::Q4_1, sizeof(BlockQ4_1), 32, {0, 2}}},
      {"Q5_0", {GgmlType::Q5_0, sizeof(BlockQ5_0), 32, {0}}},
      {"Q5_1", {GgmlType::Q5_1, sizeof(BlockQ5_1), 32, {0, 2}}},
      {"Q8_0", {GgmlType::Q8_0, sizeof(BlockQ8_0), 32, {0}}},
  };
  return k;
}

TEST(DotGolden, Avx2RowDotsGiveLlamaCppBits) {
  if (DetectIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  std::ifstream f(std::string(EMBER_SOURCE_DIR) + "/tests/data/cpu/dot_golden.json");
  ASSERT_TRUE(f) << "tests/data/cpu/dot_golden.json missing";
  const auto doc = nlohmann::json::parse(f);
  int checked = 0;
  for (const auto& c : doc.at("cases")) {
    const std::string name = c.at("type");
    const Layout& l = Layouts().at(name);
    const int64_t n = c.at("n");
    const int64_t blocks = n / l.block_elems;
    Lcg rng{c.at("seed").get<uint64_t>()};
    std::vector<uint8_t> w(static_cast<size_t>(blocks) * l.block_bytes);
    for (uint8_t& b : w) b = rng.Byte();
    for (int64_t b = 0; b < blocks; ++b) {
      for (size_t off : l.scale_offsets) {
        const uint16_t h = rng.Half();
        std::memcpy(w.data() + static_cast<size_t>(b) * l.block_bytes + off, &h, 2);
      }
    }
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = rng.Value();
    const DotKernel& k = GetDotKernel(l.type, Isa::kAvx2);
    std::vector<uint8_t> act(ActRowBytes(k, n));
    k.quantize(x.data(), act.data(), n);
    EXPECT_EQ(Fnv1a64(act.data(), act.size()), c.at("act_fnv1a64").get<std::string>())
        << name << " n=" << n << ": " << GgmlTypeName(k.act_type) << " activation bytes differ from ggml's";
    const float got = k.dot(n, w.data(), act.data());
    EXPECT_EQ(std::bit_cast<uint32_t>(got), c.at("dot_bits").get<uint32_t>())
        << name << " n=" << n << ": ember " << got << ", llama.cpp " << c.at("dot").get<double>();
    ++checked;
  }
  EXPECT_EQ(checked, 33);
}

}  // namespace
}  // namespace ember
