// The tiled matrix-matrix kernels (cpu/gemm.h) against the row dot products they stand in for:
// with exact prompt kernels (SetExactGemm(true)) every (row, token) result must be the same float,
// bit for bit, on awkward shapes (rows not a multiple of the panel, odd token counts, token
// chunks split mid-batch), on weights of random bytes (every code, -128 in Q8_0, extreme K-quant
// scales) and on every ISA with a kernel. The default fast 8-row tiles of the signed formats
// (Q4_0, Q5_0, Q8_0) and of Q6_K and Q5_K must stay within float rounding of them on the same
// shapes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/half.h"
#include "cpu/dot.h"
#include "cpu/gemm.h"
#include "cpu/gemm_amx_tile.h"
#include "cpu/ops.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace ember::cpu {
namespace {

const GgmlType kTiledTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
                                GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::IQ4_NL,
                                GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_XS};

// Exact prompt kernels for one test's scope (the setting is process-wide).
class ExactGemmScope {
 public:
  explicit ExactGemmScope(bool exact) : before_(ExactGemm()) { SetExactGemm(exact); }
  ~ExactGemmScope() { SetExactGemm(before_); }
  ExactGemmScope(const ExactGemmScope&) = delete;
  ExactGemmScope& operator=(const ExactGemmScope&) = delete;

 private:
  bool before_;
};

bool IsFloat(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

// Row lengths with whole blocks; float rows also with a tail after the last 8-element chunk.
std::vector<int64_t> AwkwardLengths(GgmlType t) {
  if (IsFloat(t)) return {1, 7, 8, 37, 96, 259};
  return TraitsOf(t).block_size == 32 ? std::vector<int64_t>{32, 96, 224, 352} : std::vector<int64_t>{256, 768};
}

std::vector<Isa> IsasWithGemm(GgmlType t) {
  std::vector<Isa> v;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512, Isa::kAmx}) {
    if (ClampIsa(isa) == isa && HasGemm(t, isa)) v.push_back(isa);
  }
  return v;
}

void SetHalf(uint8_t* p, float v) {
  const uint16_t h = FloatToHalf(v);
  std::memcpy(p, &h, 2);
}

// n_out rows of random bytes with the F16 scales replaced by finite random values (float
// types: normal values, so that no NaN compares unequal to itself).
std::vector<uint8_t> RandomWeights(std::mt19937& rng, GgmlType t, int64_t n_in, int64_t n_out) {
  const uint64_t rb = *RowBytes(t, static_cast<uint64_t>(n_in));
  std::vector<uint8_t> w(rb * static_cast<uint64_t>(n_out));
  if (IsFloat(t)) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t r = 0; r < n_out; ++r) {
      for (float& v : row) v = nd(rng);
      QuantizeRow(t, row.data(), w.data() + static_cast<uint64_t>(r) * rb, n_in);
    }
    return w;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : w) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  const uint64_t bb = TraitsOf(t).bytes_per_block;
  for (uint64_t off = 0; off < w.size(); off += bb) {
    uint8_t* blk = w.data() + off;
    switch (t) {
      case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: case GgmlType::IQ4_NL:
        SetHalf(blk, scale(rng));
        break;
      case GgmlType::Q4_1: case GgmlType::Q5_1:
        SetHalf(blk, scale(rng));
        SetHalf(blk + 2, scale(rng));
        break;
      case GgmlType::Q4_K: case GgmlType::Q5_K:
        SetHalf(blk + offsetof(BlockQ4K, d), scale(rng));
        SetHalf(blk + offsetof(BlockQ4K, dmin), scale(rng));
        break;
      case GgmlType::Q6_K:
        SetHalf(blk + offsetof(BlockQ6K, d), scale(rng));
        break;
      case GgmlType::Q2_K:
        SetHalf(blk + offsetof(BlockQ2K, d), scale(rng));
        SetHalf(blk + offsetof(BlockQ2K, dmin), scale(rng));
        break;
      case GgmlType::Q3_K:
        SetHalf(blk + offsetof(BlockQ3K, d), scale(rng));
        break;
      case GgmlType::IQ4_XS:
        SetHalf(blk + offsetof(BlockIQ4XS, d), scale(rng));
        break;
      default:
        ADD_FAILURE() << "no block layout for " << GgmlTypeName(t);
    }
  }
  return w;
}

// Quantized activation rows: random values, plus an all-zero token and a large one.
std::vector<uint8_t> RandomActs(std::mt19937& rng, const DotKernel& k, int64_t n_in, int64_t n_tok) {
  const uint64_t ab = ActRowBytes(k, n_in);
  std::vector<uint8_t> a(ab * static_cast<uint64_t>(n_tok));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_in));
  for (int64_t t = 0; t < n_tok; ++t) {
    const float s = t == 0 ? 0.0f : (t == 1 ? 1e4f : 1.0f);
    for (float& v : x) v = s * nd(rng);
    k.quantize(x.data(), a.data() + static_cast<uint64_t>(t) * ab, n_in);
  }
  return a;
}

// Bits: the tiled result must equal the row dot's. Otherwise (the fast signed tile) it must be
// within (blocks + 8) x 2^-22 of sum |w_i a_i| over the row (the dequantized products): both sides
// sum the same exact block integers, scaled by the same rounded d_w * d_a, so they part only by
// the float additions' roundings (one per block and lane).
enum class Match { kBits, kRounding };

void ExpectTiledMatchesRowDots(GgmlType t, Isa isa, int64_t n_in, int64_t n_out, int64_t n_tok,
                               int64_t r0, int64_t r1, std::mt19937& rng, Match match = Match::kBits) {
  const DotKernel& k = GetDotKernel(t, isa);
  const uint64_t rb = *RowBytes(t, static_cast<uint64_t>(n_in));
  const uint64_t ab = ActRowBytes(k, n_in);
  const auto w = RandomWeights(rng, t, n_in, n_out);
  const auto act = RandomActs(rng, k, n_in, n_tok);
  std::vector<uint8_t> packed(GemmPackedBytes(t, n_in, n_tok));
  // Packed in two ranges, as threads do.
  GemmPackActs(t, n_in, n_tok, act.data(), ab, 0, n_tok / 2, packed.data());
  GemmPackActs(t, n_in, n_tok, act.data(), ab, n_tok / 2, n_tok, packed.data());
  const float kUnset = -12345.0f;
  std::vector<float> y(static_cast<size_t>(n_out * n_tok), kUnset);
  GemmRows(t, n_in, rb, w.data(), r0, r1, packed.data(), n_tok, y.data(), n_out, isa);
  int mismatches = 0;
  for (int64_t tok = 0; tok < n_tok; ++tok) {
    for (int64_t r = 0; r < n_out; ++r) {
      const float got = y[static_cast<size_t>(tok * n_out + r)];
      if (r < r0 || r >= r1) {
        EXPECT_EQ(got, kUnset) << "row " << r << " outside [" << r0 << ", " << r1 << ") was written";
        continue;
      }
      const float want = k.dot(n_in, w.data() + static_cast<uint64_t>(r) * rb, act.data() + tok * ab);
      if (match == Match::kRounding) {
        std::vector<float> wf(static_cast<size_t>(n_in)), af(static_cast<size_t>(n_in));
        DequantizeRow(t, w.data() + static_cast<uint64_t>(r) * rb, wf.data(), n_in);
        DequantizeRow(k.act_type, act.data() + tok * ab, af.data(), n_in);
        double sum_abs = 0.0;
        for (int64_t i = 0; i < n_in; ++i) sum_abs += std::fabs(static_cast<double>(wf[i]) * af[i]);
        const double bound = static_cast<double>(n_in / 32 + 8) * std::ldexp(1.0, -22) * sum_abs;
        if (!(std::fabs(static_cast<double>(got) - want) <= bound) && ++mismatches <= 5) {
          ADD_FAILURE() << GgmlTypeName(t) << " n_in=" << n_in << " n_out=" << n_out << " n_tok=" << n_tok
                        << " row " << r << " token " << tok << ": tiled " << got << " vs row dot " << want
                        << ", bound " << bound;
        }
        continue;
      }
      if (std::memcmp(&got, &want, sizeof(float)) != 0 && ++mismatches <= 5) {
        ADD_FAILURE() << GgmlTypeName(t) << " isa=" << IsaName(isa) << " n_in=" << n_in
                      << " n_out=" << n_out << " n_tok=" << n_tok << " row " << r << " token " << tok
                      << ": tiled " << got << " vs row dot " << want;
      }
    }
  }
}

TEST(Gemm, EveryTiledTypeGivesTheRowDotBitsOnAwkwardShapes) {
  const ExactGemmScope exact(true);
  std::mt19937 rng(11);
  for (GgmlType t : kTiledTypes) {
    for (Isa isa : IsasWithGemm(t)) {
      for (int64_t n_in : AwkwardLengths(t)) {
        for (auto [n_out, n_tok] : {std::pair<int64_t, int64_t>{1, 1}, {5, 2}, {13, 3}, {8, 7}, {37, 19}}) {
          ExpectTiledMatchesRowDots(t, isa, n_in, n_out, n_tok, 0, n_out, rng);
        }
      }
    }
  }
}

TEST(Gemm, RowRangesNotOnPanelBoundariesWriteOnlyTheirRows) {
  const ExactGemmScope exact(true);
  std::mt19937 rng(12);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q6_K, GgmlType::F16, GgmlType::IQ4_NL,
                     GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_XS}) {
    const int64_t n_in = TraitsOf(t).block_size == 256 ? 256 : 64;
    for (Isa isa : IsasWithGemm(t)) {
      ExpectTiledMatchesRowDots(t, isa, n_in, 23, 5, 3, 18, rng);
      ExpectTiledMatchesRowDots(t, isa, n_in, 23, 4, 22, 23, rng);
    }
  }
}

TEST(Gemm, BatchesLongerThanOneTokenChunkStayExact) {
  const ExactGemmScope exact(true);
  // Chunks hold about 192 KiB of codes: at n_in = 8192 that is 24 tokens, so 53 tokens make
  // two full chunks and an odd remainder.
  std::mt19937 rng(13);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::IQ4_NL,
                     GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_XS}) {
    for (Isa isa : IsasWithGemm(t)) ExpectTiledMatchesRowDots(t, isa, 8192, 6, 53, 0, 6, rng);
  }
  // Float chunks hold about 192 KiB of widened activations: 3 tokens of 9001 elements, so 17
  // tokens make 5 full chunks and a partial one (and rows end in a 1-element tail).
  for (GgmlType t : {GgmlType::F32, GgmlType::BF16}) {
    for (Isa isa : IsasWithGemm(t)) ExpectTiledMatchesRowDots(t, isa, 9001, 6, 17, 0, 6, rng);
  }
}

class VnniModelScope {
 public:
  VnniModelScope() { SetVnniModelForTests(true); }
  ~VnniModelScope() { SetVnniModelForTests(false); }
  VnniModelScope(const VnniModelScope&) = delete;
  VnniModelScope& operator=(const VnniModelScope&) = delete;
};

// IQ4_XS's default tile takes the Q5_K 8-row tile on levels + 128 only with vpdpbusd (maddubs
// would saturate): with the instruction's scalar model it runs on every AVX2 CPU, and stays
// within rounding of the row dots; without VNNI the exact tile serves.
TEST(Gemm, Iq4XsEightRowTileWithVnniStaysWithinRoundingOfTheRowDots) {
  if (ClampIsa(Isa::kAvx2) != Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  const ExactGemmScope fast(false);
  const VnniModelScope model;
  std::mt19937 rng(17);
  for (auto [n_in, n_out, n_tok] : {std::tuple<int64_t, int64_t, int64_t>{256, 1, 1}, {768, 13, 3}, {512, 37, 19},
                                    {4096, 9, 53}}) {
    ExpectTiledMatchesRowDots(GgmlType::IQ4_XS, Isa::kAvx2, n_in, n_out, n_tok, 0, n_out, rng, Match::kRounding);
  }
  ExpectTiledMatchesRowDots(GgmlType::IQ4_XS, Isa::kAvx2, 256, 23, 5, 3, 18, rng, Match::kRounding);
}

// The default tiles that round differently from the row dots: the 8-row ones of the signed
// formats and IQ4_NL (gemm_signed8_tile.h), of Q6_K, Q5_K, Q3_K (as Q6_K) and IQ4_XS
// (gemm_kquant8_tile.h), and BF16's vdpbf16ps tile (gemm_float_avx2.cpp, where the CPU has
// AVX-512 BF16).
TEST(Gemm, FastEightRowTilesStayWithinRoundingOfTheRowDots) {
  const ExactGemmScope fast(false);
  std::mt19937 rng(15);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q6_K, GgmlType::Q5_K, GgmlType::Q3_K,
                     GgmlType::IQ4_XS, GgmlType::IQ4_NL, GgmlType::BF16}) {
    const int64_t short_row = TraitsOf(t).block_size == 256 ? 256 : 64;
    for (Isa isa : IsasWithGemm(t)) {
      for (int64_t n_in : AwkwardLengths(t)) {
        for (auto [n_out, n_tok] : {std::pair<int64_t, int64_t>{1, 1}, {5, 2}, {13, 3}, {8, 7}, {37, 19}}) {
          ExpectTiledMatchesRowDots(t, isa, n_in, n_out, n_tok, 0, n_out, rng, Match::kRounding);
        }
      }
      // A range that starts and ends inside 8-row panels writes only its rows.
      ExpectTiledMatchesRowDots(t, isa, short_row, 23, 5, 3, 18, rng, Match::kRounding);
      ExpectTiledMatchesRowDots(t, isa, short_row, 23, 4, 22, 23, rng, Match::kRounding);
      // Chunks of about 384 KiB of codes: at n_in = 8192, 48 tokens; 53 make a full chunk and
      // a remainder that is not a whole 4-token step.
      ExpectTiledMatchesRowDots(t, isa, 8192, 9, 53, 0, 9, rng, Match::kRounding);
    }
  }
}


std::vector<float> TiledRows(GgmlType t, Isa isa, const std::vector<uint8_t>& w, const std::vector<uint8_t>& act,
                             int64_t n_in, int64_t n_out, int64_t n_tok) {
  const DotKernel& k = GetDotKernel(t, isa);
  std::vector<uint8_t> packed(GemmPackedBytes(t, n_in, n_tok));
  GemmPackActs(t, n_in, n_tok, act.data(), ActRowBytes(k, n_in), 0, n_tok, packed.data());
  std::vector<float> y(static_cast<size_t>(n_out * n_tok));
  GemmRows(t, n_in, *RowBytes(t, static_cast<uint64_t>(n_in)), w.data(), 0, n_out, packed.data(), n_tok, y.data(),
           n_out, isa);
  return y;
}

// Named results of other tile variants for the same inputs as `want` (n_out rows per token).
using VariantResults = std::vector<std::pair<const char*, std::vector<float>>>;

// Every variant's every result has the bits of `want`; `what` names the case in the failure.
void ExpectSameBits(const VariantResults& got, const std::vector<float>& want, int64_t n_out,
                    const std::string& what) {
  for (const auto& [name, y] : got) {
    ASSERT_EQ(y.size(), want.size()) << name << " " << what;
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_EQ(std::bit_cast<uint32_t>(y[i]), std::bit_cast<uint32_t>(want[i]))
          << name << " " << what << " row " << static_cast<int64_t>(i) % n_out << " token "
          << static_cast<int64_t>(i) / n_out << ": " << y[i] << " vs AVX2 " << want[i];
    }
  }
}

// On random weights and activations of one shape: the tile with the VNNI model, and with the
// instructions where the CPU has them, gives the AVX2 tile's bits.
void ExpectVnniVariantsGiveAvx2Bits(GgmlType t, int64_t n_in, int64_t n_out, int64_t n_tok, bool exact,
                                    std::mt19937& rng) {
  const auto w = RandomWeights(rng, t, n_in, n_out);
  const auto act = RandomActs(rng, GetDotKernel(t, Isa::kAvx2), n_in, n_tok);
  const auto want = TiledRows(t, Isa::kAvx2, w, act, n_in, n_out, n_tok);
  VariantResults got;
  {
    const VnniModelScope model;
    got.emplace_back("VNNI model", TiledRows(t, Isa::kAvx2, w, act, n_in, n_out, n_tok));
  }
  if (ClampIsa(Isa::kAvx512) == Isa::kAvx512) {
    got.emplace_back("AVX-512 VNNI", TiledRows(t, Isa::kAvx512, w, act, n_in, n_out, n_tok));
  }
  if (ClampIsa(Isa::kAvxVnni) == Isa::kAvxVnni) {
    got.emplace_back("AVX-VNNI", TiledRows(t, Isa::kAvxVnni, w, act, n_in, n_out, n_tok));
  }
  ExpectSameBits(got, want, n_out,
                 std::string(exact ? "exact " : "default ") + std::string(GgmlTypeName(t)) + " n_in=" + std::to_string(n_in));
}

// The VNNI step (vpdpbusd) forms the same exact block integers as AVX2's maddubs + madd, so each
// 32-element format's tile -- the fast signed 8-row one and the exact 4-row one -- gives the
// same bits with either: checked with the scalar model of vpdpbusd on every AVX2 CPU, and with
// the instruction itself where the CPU has AVX-512 VNNI or AVX-VNNI. Random Q8_0 bytes include the code
// -128 (|q| = 128, the largest unsigned operand).
TEST(Gemm, VnniTilesGiveTheAvx2TileBits) {
  if (ClampIsa(Isa::kAvx2) != Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  const bool native = ClampIsa(Isa::kAvx512) == Isa::kAvx512;
  const bool native_vex = ClampIsa(Isa::kAvxVnni) == Isa::kAvxVnni;
  std::mt19937 rng(16);
  for (bool exact : {false, true}) {
    const ExactGemmScope mode(exact);
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q5_1,
                       GgmlType::IQ4_NL}) {
      for (auto [n_in, n_out, n_tok] : {std::tuple<int64_t, int64_t, int64_t>{32, 1, 1}, {96, 13, 3},
                                        {352, 37, 19}, {4096, 9, 53}}) {
        ASSERT_NO_FATAL_FAILURE(ExpectVnniVariantsGiveAvx2Bits(t, n_in, n_out, n_tok, exact, rng));
      }
    }
    // Q6_K's and Q5_K's default tiles sum each sub-block with vpdpbusd and a 32-bit multiply
    // instead of maddubs and madd: the same exact integers. 37 rows: two 16-row steps of the
    // AVX-512 tile (gemm_kquant8_tile.h, Tile16), then 5 rows of the 8-row one.
    for (auto [t, n_in, n_out, n_tok] :
         {std::tuple<GgmlType, int64_t, int64_t, int64_t>{GgmlType::Q6_K, 256, 1, 1}, {GgmlType::Q6_K, 768, 13, 3},
          {GgmlType::Q6_K, 256, 37, 19}, {GgmlType::Q6_K, 4096, 9, 53}, {GgmlType::Q5_K, 256, 1, 1},
          {GgmlType::Q5_K, 768, 13, 3}, {GgmlType::Q5_K, 512, 37, 19}, {GgmlType::Q5_K, 4096, 9, 53}}) {
      ASSERT_NO_FATAL_FAILURE(ExpectVnniVariantsGiveAvx2Bits(t, n_in, n_out, n_tok, exact, rng));
    }
    // Q2_K's and Q3_K's exact tiles (gemm_kquant_low_avx2.cpp) take one vpdpbusd per chunk on
    // codes multiplied by their scales; random blocks include Q3_K's scale -32 with the code -4.
    // Outside exact mode Q3_K takes Q6_K's 8-row tile (as Q6_K codes and scales).
    for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K}) {
      for (auto [n_in, n_out, n_tok] : {std::tuple<int64_t, int64_t, int64_t>{256, 1, 1}, {768, 13, 3},
                                        {512, 37, 19}, {4096, 9, 53}}) {
        ASSERT_NO_FATAL_FAILURE(ExpectVnniVariantsGiveAvx2Bits(t, n_in, n_out, n_tok, exact, rng));
      }
    }
  }
  if (!native && !native_vex) {
    std::printf("note: no AVX-512 VNNI or AVX-VNNI on this CPU; the VNNI tiles ran with the scalar model only\n");
  }
}

class AmxModelScope {
 public:
  AmxModelScope() { SetAmxModelForTests(true); }
  ~AmxModelScope() { SetAmxModelForTests(false); }
  AmxModelScope(const AmxModelScope&) = delete;
  AmxModelScope& operator=(const AmxModelScope&) = delete;
};

// The AMX tile (gemm_amx_tile.h) forms the same exact block integers as the AVX2 tile and then
// does its float steps in the same order, so the signed formats' default prompt results are the
// AVX2 tile's bits: checked with the scalar model of TDPBSSD on every AVX2 CPU, and with the
// instructions where the CPU (and the OS) allow AMX. Shapes: rows under one 32-row panel, across
// several with a partial last one; tokens at the AMX threshold (32), with a partial last 32-token
// group, and enough for several token chunks at a short row.
TEST(Gemm, AmxTileGivesTheAvx2TileBits) {
  if (ClampIsa(Isa::kAvx2) != Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  const bool native = ClampIsa(Isa::kAmx) == Isa::kAmx;
  const ExactGemmScope fast(false);
  std::mt19937 rng(17);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0}) {
    for (auto [n_in, n_out, n_tok] : {std::tuple<int64_t, int64_t, int64_t>{32, 5, 32}, {96, 32, 33},
                                      {352, 70, 37}, {4096, 9, 64}, {32, 40, 230}}) {
      const auto w = RandomWeights(rng, t, n_in, n_out);
      const auto act = RandomActs(rng, GetDotKernel(t, Isa::kAvx2), n_in, n_tok);
      const auto want = TiledRows(t, Isa::kAvx2, w, act, n_in, n_out, n_tok);
      VariantResults got;
      {
        const AmxModelScope model;
        got.emplace_back("AMX model", TiledRows(t, Isa::kAvx2, w, act, n_in, n_out, n_tok));
      }
      if (native) got.emplace_back("AMX", TiledRows(t, Isa::kAmx, w, act, n_in, n_out, n_tok));
      ASSERT_NO_FATAL_FAILURE(ExpectSameBits(
          got, want, n_out,
          std::string(GgmlTypeName(t)) + " n_in=" + std::to_string(n_in) + " n_tok=" + std::to_string(n_tok)));
    }
  }
  if (!native) std::printf("note: no usable AMX on this CPU; the AMX tile ran with the scalar model only\n");
}

// The model's integers are TDPBSSD's definition written independently of the tile: dst[m][n] =
// sum over the 32 bytes e of a[m][e] x b[e / 4][4n + e % 4], at the extremes of int8 as well.
TEST(Gemm, AmxModelIsTheDefinitionOfTdpbssd) {
  std::mt19937 rng(18);
  std::vector<int8_t> w(amx_tile::kRows * 32), x(2 * 512);
  std::vector<int32_t> c(amx_tile::kRows * amx_tile::kToks);
  for (int trial = 0; trial < 3; ++trial) {
    for (auto& v : w) v = trial == 0 ? int8_t{-128} : static_cast<int8_t>(rng());
    for (auto& v : x) v = trial == 0 ? int8_t{-128} : trial == 1 ? int8_t{127} : static_cast<int8_t>(rng());
    amx_tile::AmxInt8Model::BlockSums(w.data(), x.data(), c.data());
    for (int m = 0; m < amx_tile::kRows; ++m) {
      for (int n = 0; n < amx_tile::kToks; ++n) {
        // Token n's 32 codes in block order: tile n / 16, row k = code 4k..4k+3.
        int64_t want = 0;
        for (int e = 0; e < 32; ++e) want += int64_t{w[32 * m + e]} * x[512 * (n / 16) + 64 * (e / 4) + 4 * (n % 16) + e % 4];
        ASSERT_EQ(c[amx_tile::kToks * m + n], want) << "trial " << trial << " m " << m << " n " << n;
      }
    }
  }
}

// TDPBSSD raises #UD on shapes that do not fit together; every product the tile issues must be
// legal under its configuration, and an illegal one must be seen as such.
TEST(Gemm, AmxTileConfigurationFitsEveryProductItIssues) {
  const amx_tile::TileConfig c = amx_tile::Config();
  for (auto [dst, a, b] : {std::tuple<int, int, int>{0, 4, 6}, {1, 4, 7}, {2, 5, 6}, {3, 5, 7}}) {
    EXPECT_TRUE(amx_tile::DpShapeIsLegal(c, dst, a, b)) << dst << " " << a << " " << b;
  }
  EXPECT_FALSE(amx_tile::DpShapeIsLegal(c, 0, 6, 4));  // operands swapped
  EXPECT_FALSE(amx_tile::DpShapeIsLegal(c, 4, 0, 6));  // a weight tile as the destination
  EXPECT_EQ(c.palette, 1);
  for (int t = 8; t < 16; ++t) EXPECT_EQ(c.rows[t] + c.colsb[t], 0) << "tmm" << t << " does not exist";
}

// The default tile's results for weights w and activations act (AVX2, then the VNNI model)
// within 1e-5 of the row dots': what the extreme-value tests below require.
void ExpectFastTileNearRowDots(GgmlType t, const std::vector<uint8_t>& w, const std::vector<uint8_t>& act,
                               int64_t n_in, int64_t n_out, int64_t n_tok) {
  const DotKernel& k = GetDotKernel(t, Isa::kAvx2);
  const uint64_t rb = *RowBytes(t, static_cast<uint64_t>(n_in));
  const uint64_t ab = ActRowBytes(k, n_in);
  for (bool model : {false, true}) {
    SetVnniModelForTests(model);
    const auto y = TiledRows(t, Isa::kAvx2, w, act, n_in, n_out, n_tok);
    SetVnniModelForTests(false);
    for (int64_t tok = 0; tok < n_tok; ++tok) {
      for (int64_t r = 0; r < n_out; ++r) {
        const float want = k.dot(n_in, w.data() + r * rb, act.data() + tok * ab);
        EXPECT_NEAR(y[tok * n_out + r], want, 1e-5 * std::fabs(want))
            << GgmlTypeName(t) << (model ? " VNNI model" : " AVX2") << " row " << r << " token " << tok;
      }
    }
  }
}

// The offset tile (Q4_0, Q5_0) adds maddubs results in 16 bits; at the largest codes (u = 15 or
// 31 everywhere) and activations (+-127 everywhere) its sums are at their largest and must still
// be the row dots' to rounding (a saturated sum would be off by thousands). Q8_0 takes the
// offset tile with VNNI only (u = q + 128, 0..255): codes 127 and -128 in turn, by rows.
TEST(Gemm, OffsetTileHoldsAtTheLargestCodesAndActivations) {
  if (ClampIsa(Isa::kAvx2) != Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  const ExactGemmScope fast(false);
  const int64_t n_in = 256, n_out = 8, n_tok = 4;
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0}) {
    const uint64_t rb = *RowBytes(t, static_cast<uint64_t>(n_in));
    const uint64_t bb = TraitsOf(t).bytes_per_block;
    std::vector<uint8_t> w(rb * n_out, 0xFF);  // every nibble and high bit set: code 7 / 15
    for (uint64_t off = 0; off < w.size(); off += bb) {
      SetHalf(w.data() + off, 0.01f);
      if (t == GgmlType::Q8_0) std::memset(w.data() + off + 2, (off / rb) % 2 == 0 ? 0x7F : 0x80, 32);
    }
    const DotKernel& k = GetDotKernel(t, Isa::kAvx2);
    const uint64_t ab = ActRowBytes(k, n_in);
    std::vector<uint8_t> act(ab * n_tok);
    std::vector<float> x(static_cast<size_t>(n_in));
    for (int64_t tok = 0; tok < n_tok; ++tok) {
      for (float& v : x) v = tok % 2 == 0 ? 1.0f : -1.0f;  // every code +127 or -127
      k.quantize(x.data(), act.data() + tok * ab, n_in);
    }
    ExpectFastTileNearRowDots(t, w, act, n_in, n_out, n_tok);
  }
}

// The K-quant 8-row tiles at their largest integers. Q6_K: every code 63 or 0 (stored q + 32:
// +31 or -32), every scale -128 or 127. Q5_K: every code 31 or 0, every scale and min 63 or 0.
// Activations -128 (Q8_K's range; ggml's quantizer can give it) or +127. An overflowed int16 or
// int32 sum would be off by thousands.
TEST(Gemm, KQuantTilesHoldAtTheLargestCodesScalesAndActivations) {
  if (ClampIsa(Isa::kAvx2) != Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  const ExactGemmScope fast(false);
  const int64_t n_in = 512, n_out = 8, n_tok = 4;
  for (GgmlType t : {GgmlType::Q6_K, GgmlType::Q5_K}) {
    const uint64_t rb = *RowBytes(t, static_cast<uint64_t>(n_in));
    std::vector<uint8_t> w(rb * n_out);
    for (int64_t r = 0; r < n_out; ++r) {
      for (int64_t b = 0; b < n_in / 256; ++b) {
        const bool top = (r + b) % 2 == 0;
        if (t == GgmlType::Q6_K) {
          auto& blk = reinterpret_cast<BlockQ6K*>(w.data() + r * rb)[b];
          std::memset(blk.ql, top ? 0xFF : 0x00, sizeof(blk.ql));
          std::memset(blk.qh, top ? 0xFF : 0x00, sizeof(blk.qh));
          for (int s = 0; s < 16; ++s) blk.scales[s] = static_cast<int8_t>(r % 2 == 0 ? -128 : 127);
          blk.d = FloatToHalf(0.01f);
        } else {
          auto& blk = reinterpret_cast<BlockQ5K*>(w.data() + r * rb)[b];
          std::memset(blk.qs, top ? 0xFF : 0x00, sizeof(blk.qs));
          std::memset(blk.qh, top ? 0xFF : 0x00, sizeof(blk.qh));
          std::memset(blk.scales, r % 2 == 0 ? 0xFF : 0x00, sizeof(blk.scales));
          blk.d = FloatToHalf(0.01f);
          blk.dmin = FloatToHalf(0.02f);
        }
      }
    }
    const DotKernel& k = GetDotKernel(t, Isa::kAvx2);
    const uint64_t ab = ActRowBytes(k, n_in);
    ASSERT_EQ(ab, n_in / 256 * sizeof(BlockQ8K));
    std::vector<uint8_t> act(ab * n_tok);
    for (int64_t tok = 0; tok < n_tok; ++tok) {
      for (int64_t b = 0; b < n_in / 256; ++b) {
        auto& blk = reinterpret_cast<BlockQ8K*>(act.data() + tok * ab)[b];
        const int8_t q = tok % 2 == 0 ? int8_t{-128} : int8_t{127};
        blk.d = 0.02f;
        std::memset(blk.qs, static_cast<uint8_t>(q), sizeof(blk.qs));
        for (int16_t& bs : blk.bsums) bs = static_cast<int16_t>(16 * q);
      }
    }
    ExpectFastTileNearRowDots(t, w, act, n_in, n_out, n_tok);
  }
}

TEST(Gemm, MatMulOnPromptBatchesEqualsRowDotsForEveryTiledType) {
  const ExactGemmScope exact(true);
  std::mt19937 rng(14);
  ThreadPool pool(3);
  for (GgmlType t : kTiledTypes) {
    const int64_t n_in = IsFloat(t) ? 171 : (TraitsOf(t).block_size == 32 ? 160 : 512);
    const int64_t n_out = 45, n_tok = 11;  // neither a multiple of 2 or 3 tokens, nor of 4 rows
    const auto w = RandomWeights(rng, t, n_in, n_out);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n_in * n_tok));
    for (float& v : x) v = nd(rng);
    const uint64_t rb = *RowBytes(t, static_cast<uint64_t>(n_in));
    MatrixRef m{t, n_in, n_out, rb, w.data()};
    for (Isa isa : {Isa::kScalar, ClampIsa(Isa::kAvx2), ClampIsa(Isa::kAvxVnni), ClampIsa(Isa::kAvx512)}) {
      std::vector<float> y(static_cast<size_t>(n_out * n_tok));
      std::vector<uint8_t> scratch;
      MatMul(pool, isa, m, x.data(), n_tok, y.data(), scratch);
      const DotKernel& k = GetDotKernel(t, isa);
      std::vector<uint8_t> xq(ActRowBytes(k, n_in));
      for (int64_t tok = 0; tok < n_tok; ++tok) {
        k.quantize(x.data() + tok * n_in, xq.data(), n_in);
        for (int64_t r = 0; r < n_out; ++r) {
          const float want = k.dot(n_in, w.data() + r * rb, xq.data());
          const float got = y[static_cast<size_t>(tok * n_out + r)];
          ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
              << GgmlTypeName(t) << " isa=" << IsaName(isa) << " row " << r << " token " << tok;
        }
      }
    }
  }
}

}  // namespace
}  // namespace ember::cpu
