// Reference quantization: bit for bit against gguf.quants (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0) and libggml's reference quantizers (Q8_1, Q8_K); for the K-quants and IQ4_NL / IQ4_XS,
// whose quantizers gguf.quants lacks, an RMSE no worse than llama.cpp's (ggml_quantize_chunk
// without importance matrix) on the same awkward random rows and on real weights; and stated
// round-trip error bounds for every format on Gaussian data.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "quant/golden_file.h"  // tests/quant/golden_file.h
#include "quant/quant.h"

namespace ember {
namespace {

GgmlType TypeNamed(const std::string& name) {
  const auto t = GgmlTypeFromName(name);
  EMBER_CHECK(t.has_value());
  return *t;
}

std::vector<uint8_t> Quantize(GgmlType type, const std::vector<float>& x) {
  const auto& tr = TraitsOf(type);
  std::vector<uint8_t> out(x.size() / tr.block_size * tr.bytes_per_block);
  QuantizeRow(type, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> Dequantize(GgmlType type, const std::vector<uint8_t>& q, size_t n) {
  std::vector<float> out(n);
  DequantizeRow(type, q.data(), out.data(), static_cast<int64_t>(n));
  return out;
}

double Rmse(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  return std::sqrt(s / static_cast<double>(n));
}

class QuantizeExact : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantizeExact, IsBitIdenticalToTheReference) {
  const std::string name = std::string("quant_") + GetParam() + ".bin";
  const test::QuantGolden g = test::ReadQuantGolden(name, /*floats_first=*/true);
  const GgmlType type = TypeNamed(GetParam());
  ASSERT_EQ(static_cast<uint32_t>(type), g.type);
  const std::vector<uint8_t> got = Quantize(type, g.floats);
  ASSERT_EQ(got.size(), g.bytes.size());
  const size_t bb = TraitsOf(type).bytes_per_block;
  int bad_blocks = 0;
  for (size_t b = 0; b < got.size() / bb; ++b) {
    if (std::memcmp(got.data() + b * bb, g.bytes.data() + b * bb, bb) != 0 && ++bad_blocks <= 5) {
      ADD_FAILURE() << name << ": block " << b << " differs";
    }
  }
  EXPECT_EQ(bad_blocks, 0);
}

INSTANTIATE_TEST_SUITE_P(ReferenceQuantizers, QuantizeExact,
                         ::testing::Values("F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q8_K"),
                         [](const auto& p) { return std::string(p.param); });

// The quantizers gguf.quants lacks: per 256-element segment of the golden rows (each a different
// kind of data: zeros, constants, outliers, values below the f16 range, heavy tails, ties, ...)
// ember's RMSE must not exceed llama.cpp's by more than 1e-6 relative (float summation order).
class QuantizeNoWorseThanLlama : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantizeNoWorseThanLlama, OnAwkwardRandomRows) {
  const std::string name = std::string("quant_") + GetParam() + ".bin";
  const test::QuantGolden g = test::ReadQuantGolden(name, /*floats_first=*/true);
  const GgmlType type = TypeNamed(GetParam());
  const size_t n = g.floats.size();
  const std::vector<float> ours = Dequantize(type, Quantize(type, g.floats), n);
  const std::vector<float> llama = Dequantize(type, g.bytes, n);
  const std::vector<uint8_t> ours_q = Quantize(type, g.floats);
  size_t same_bytes = 0;
  for (size_t i = 0; i < ours_q.size(); ++i) same_bytes += ours_q[i] == g.bytes[i];
  for (size_t s = 0; s < n; s += 256) {
    const double r_ours = Rmse(ours.data() + s, g.floats.data() + s, 256);
    const double r_llama = Rmse(llama.data() + s, g.floats.data() + s, 256);
    EXPECT_LE(r_ours, r_llama * (1 + 1e-6) + 1e-30) << GetParam() << " segment " << s / 256;
  }
  RecordProperty("identical_byte_fraction", std::to_string(double(same_bytes) / ours_q.size()));
  EXPECT_EQ(same_bytes, ours_q.size()) << GetParam() << ": output differs from llama.cpp's in "
                                       << ours_q.size() - same_bytes << " bytes";
}

// Real weights: the first rows of SmolLM2's token embedding and of Gemma 3's first ffn_down,
// dequantized; llama.cpp's RMSE on the same rows is in tests/data/quant/manifest.json.
TEST_P(QuantizeNoWorseThanLlama, OnRealWeights) {
  std::string models = std::getenv("EMBER_MODELS") ? std::getenv("EMBER_MODELS") : "";
  if (models.empty()) models = std::string(EMBER_SOURCE_DIR) + "/models";
  std::ifstream mf(test::QuantDataDir() + "manifest.json");
  const auto manifest = nlohmann::json::parse(mf);
  const auto& entry = manifest["files"][std::string("quant_") + GetParam() + ".bin"];
  const GgmlType type = TypeNamed(GetParam());
  int checked = 0;
  for (const auto& [key, llama_rmse] : entry["llama_rmse_real"].items()) {
    // key = "FILE:TENSOR:rows0-LAST"
    const size_t c1 = key.find(':');
    const size_t c2 = key.find(':', c1 + 1);
    const std::string file = models + "/" + key.substr(0, c1);
    const std::string tensor = key.substr(c1 + 1, c2 - c1 - 1);
    const int rows = std::stoi(key.substr(key.rfind('-') + 1)) + 1;
    if (!std::filesystem::exists(file)) continue;
    const GgufFile gguf = GgufFile::Open(file);
    const GgufTensorInfo& t = gguf.GetTensor(tensor);
    const size_t n = t.ne(0) * rows;
    std::vector<float> x(n);
    DequantizeRow(t.type, t.data, x.data(), static_cast<int64_t>(n));
    const std::vector<float> y = Dequantize(type, Quantize(type, x), n);
    const double r = Rmse(x.data(), y.data(), n);
    EXPECT_LE(r, llama_rmse.get<double>() * (1 + 1e-6) + 1e-30) << GetParam() << " on " << key;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "test models not found in " << models << " (scripts/fetch-models)";
}

INSTANTIATE_TEST_SUITE_P(SearchQuantizers, QuantizeNoWorseThanLlama,
                         ::testing::Values("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"),
                         [](const auto& p) { return std::string(p.param); });

// Round trip on N(0, 1) data: RMSE relative to the data's standard deviation, per format. The
// bounds are the measured values (seeded data) rounded up by about 10%; they state how much
// each format loses and catch a quantizer that silently gets worse.
struct RoundTripBound {
  const char* type;
  double max_relative_rmse;
};

class QuantRoundTrip : public ::testing::TestWithParam<RoundTripBound> {};

TEST_P(QuantRoundTrip, StaysWithinTheStatedRelativeRmse) {
  const GgmlType type = TypeNamed(GetParam().type);
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(256 * 64);
  for (float& v : x) v = normal(rng);
  const std::vector<float> y = Dequantize(type, Quantize(type, x), x.size());
  const double rel = Rmse(x.data(), y.data(), x.size());
  RecordProperty("relative_rmse", std::to_string(rel));
  std::printf("%-7s relative RMSE %.6f (bound %.6f)\n", GetParam().type, rel, GetParam().max_relative_rmse);
  EXPECT_LE(rel, GetParam().max_relative_rmse);
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, QuantRoundTrip,
    ::testing::Values(RoundTripBound{"F16", 0.00023}, RoundTripBound{"BF16", 0.0019}, RoundTripBound{"Q4_0", 0.095},
                      RoundTripBound{"Q4_1", 0.086}, RoundTripBound{"Q5_0", 0.047}, RoundTripBound{"Q5_1", 0.042},
                      RoundTripBound{"Q8_0", 0.0059}, RoundTripBound{"Q8_1", 0.0059}, RoundTripBound{"Q2_K", 0.33},
                      RoundTripBound{"Q3_K", 0.17}, RoundTripBound{"Q4_K", 0.079}, RoundTripBound{"Q5_K", 0.04},
                      RoundTripBound{"Q6_K", 0.02}, RoundTripBound{"Q8_K", 0.0078}, RoundTripBound{"IQ4_NL", 0.084},
                      RoundTripBound{"IQ4_XS", 0.085}),
    [](const auto& p) { return std::string(p.param.type); });

}  // namespace
}  // namespace ember
