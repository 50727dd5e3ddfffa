// Row dot products and activation quantizers against DequantizeRow + a double-precision dot.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/avx2_util.h"
#include "cpu/dot.h"
#include "core/error.h"
#include "core/half.h"
#include "quant/quant.h"

namespace ember {
namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                           GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                           GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};

std::vector<Isa> IsasToTest() {
  std::vector<Isa> v = {Isa::kScalar};
  if (DetectIsa() >= Isa::kAvx2) v.push_back(Isa::kAvx2);
  if (DetectIsa() >= Isa::kAvx512) v.push_back(Isa::kAvx512);  // 512-bit row ranges where built
  return v;
}

// Awkward lengths: odd numbers of blocks, never a power of two (K-quants need 256).
std::vector<int64_t> Lengths(GgmlType t) {
  const int64_t b = TraitsOf(t).block_size;
  if (b == 1) return {7, 8, 63, 64, 200, 577};
  return {b, 3 * b, 7 * b, 11 * b};
}

std::vector<float> RandomRow(std::mt19937& rng, int64_t n, float scale) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

// The dot product of what the two quantized rows represent, in double.
double Reference(GgmlType wt, const std::vector<uint8_t>& w, GgmlType at, const std::vector<uint8_t>& a,
                 int64_t n) {
  std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
  DequantizeRow(wt, w.data(), wf.data(), n);
  DequantizeRow(at, a.data(), af.data(), n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(wf[i]) * af[i];
  return s;
}

TEST(DotKernels, MatchDequantizedReferenceOnEveryIsa) {
  std::mt19937 rng(42);
  for (GgmlType t : kTypes) {
    for (int64_t n : Lengths(t)) {
      const auto w = RandomRow(rng, n, 0.5f);
      const auto x = RandomRow(rng, n, 2.0f);
      std::vector<uint8_t> wq(*RowBytes(t, static_cast<uint64_t>(n)));
      QuantizeRow(t, w.data(), wq.data(), n);
      for (Isa isa : IsasToTest()) {
        const DotKernel& k = GetDotKernel(t, isa);
        std::vector<uint8_t> xq(ActRowBytes(k, n));
        k.quantize(x.data(), xq.data(), n);
        const double ref = Reference(t, wq, k.act_type, xq, n);
        const float got = k.dot(n, wq.data(), xq.data());
        // Integer sums are exact; only float accumulation differs: relative 1e-5 of the sum of
        // |products| bounds it. Q4_1/Q5_1 also round d*sum(q) to F16 in Q8_1 (relative 2^-11
        // of the min term), hence the looser bound there.
        std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
        DequantizeRow(t, wq.data(), wf.data(), n);
        DequantizeRow(k.act_type, xq.data(), af.data(), n);
        double abs_sum = 0.0;
        for (int64_t i = 0; i < n; ++i) abs_sum += std::fabs(static_cast<double>(wf[i]) * af[i]);
        const bool min_term = t == GgmlType::Q4_1 || t == GgmlType::Q5_1;
        const double tol = (min_term ? 1e-3 : 1e-5) * abs_sum + 1e-6;
        EXPECT_NEAR(got, ref, tol) << GgmlTypeName(t) << " n=" << n << " isa=" << IsaName(isa);
      }
    }
  }
}

TEST(DotKernels, ScalarAndAvx2GiveIdenticalBitsForFloatTypes) {
  if (DetectIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(7);
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
    for (int64_t n : {8, 64, 128, 576, 1024, 1029}) {
      const auto w = RandomRow(rng, n, 1.0f);
      const auto x = RandomRow(rng, n, 1.0f);
      std::vector<uint8_t> wq(*RowBytes(t, static_cast<uint64_t>(n)));
      QuantizeRow(t, w.data(), wq.data(), n);
      const DotKernel& s = GetDotKernel(t, Isa::kScalar);
      const DotKernel& a = GetDotKernel(t, Isa::kAvx2);
      std::vector<uint8_t> xq(ActRowBytes(s, n));
      s.quantize(x.data(), xq.data(), n);
      EXPECT_EQ(s.dot(n, wq.data(), xq.data()), a.dot(n, wq.data(), xq.data()))
          << GgmlTypeName(t) << " n=" << n;
    }
  }
}

// Weight rows of random bytes (every code, scale, min and high-bit pattern the format can hold,
// odd 6-bit scales included) with finite random F16 super-block scales; activations from the
// kernel's own quantizer so that Q8_K's bsums agree with its codes.
std::vector<uint8_t> RandomBlocks(std::mt19937& rng, GgmlType t, int64_t n) {
  std::vector<uint8_t> w(*RowBytes(t, static_cast<uint64_t>(n)));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : w) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  const auto put_half = [&](size_t at) {
    const uint16_t h = FloatToHalf(scale(rng));
    std::memcpy(w.data() + at, &h, 2);
  };
  const size_t bytes = TraitsOf(t).bytes_per_block;
  for (size_t b = 0; b < w.size() / bytes; ++b) {
    const size_t o = b * bytes;
    switch (t) {
      case GgmlType::IQ4_NL: put_half(o); break;                        // d
      case GgmlType::IQ4_XS: put_half(o); break;                        // d (then scales_h, ...)
      case GgmlType::Q2_K: put_half(o + 80); put_half(o + 82); break;   // d, dmin after 16 + 64
      case GgmlType::Q3_K: put_half(o + 108); break;                    // d after 32 + 64 + 12
      default: ADD_FAILURE() << "no block layout for " << GgmlTypeName(t);
    }
  }
  return w;
}

// The kernels without a float-identical scalar twin (AVX2 sums integer lanes where the scalar
// reference sums dequantized floats) against the exact dot of what both rows represent.
TEST(DotKernels, RandomBlocksMatchTheDequantizedReferenceOnEveryIsa) {
  std::mt19937 rng(11);
  for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS}) {
    const int64_t b = TraitsOf(t).block_size;
    // Odd and even block counts (ggml pairs IQ4_NL blocks in its single-token kernel).
    for (int64_t blocks : {1, 2, 3, 7, 12}) {
      const int64_t n = blocks * b;
      const auto wq = RandomBlocks(rng, t, n);
      const auto x = RandomRow(rng, n, 1.5f);
      for (Isa isa : IsasToTest()) {
        const DotKernel& k = GetDotKernel(t, isa);
        std::vector<uint8_t> xq(ActRowBytes(k, n));
        k.quantize(x.data(), xq.data(), n);
        std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
        DequantizeRow(t, wq.data(), wf.data(), n);
        DequantizeRow(k.act_type, xq.data(), af.data(), n);
        double ref = 0.0, abs_sum = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          ref += static_cast<double>(wf[i]) * af[i];
          abs_sum += std::fabs(static_cast<double>(wf[i]) * af[i]);
        }
        // Float summation of n terms errs by at most n u sum|terms| (u = 2^-24); the dequantized
        // elements the reference uses carry up to 3 more roundings each (scale products), so
        // (n + 16) u sum|terms| bounds both the scalar and the integer-lane AVX2 kernels.
        const double tol = static_cast<double>(n + 16) * std::ldexp(1.0, -24) * abs_sum + 1e-9;
        const float got = k.dot(n, wq.data(), xq.data());
        EXPECT_NEAR(got, ref, tol) << GgmlTypeName(t) << " n=" << n << " isa=" << IsaName(isa);
        if (isa == Isa::kAvx2) {
          const float s = GetDotKernel(t, Isa::kScalar).dot(n, wq.data(), xq.data());
          EXPECT_NEAR(got, s, 2 * tol) << GgmlTypeName(t) << " n=" << n;
        }
      }
    }
  }
}

TEST(DotKernels, RowRangesGiveEachRowTheBitsOfItsOwnDot) {
  // DotRows runs a range of consecutive rows in one loop (k.rows on AVX2: the float and legacy
  // formats, IQ4_NL and Q6_K); each row must get exactly what k.dot gives it alone, for ranges that start
  // mid-matrix.
  std::mt19937 rng(12);
  for (GgmlType t : kTypes) {
    if (!CanQuantize(t)) continue;
    // The float formats (blocks of 1): whole cache lines, one 8-element step and a tail.
    const int64_t n = TraitsOf(t).block_size == 1 ? 7 * 32 + 13 : 7 * TraitsOf(t).block_size;
    const int64_t n_rows = 11;
    const uint64_t row_bytes = *RowBytes(t, static_cast<uint64_t>(n));
    std::vector<uint8_t> w;
    for (int64_t r = 0; r < n_rows; ++r) {
      const auto f = RandomRow(rng, n, 0.5f);
      std::vector<uint8_t> row(row_bytes);
      QuantizeRow(t, f.data(), row.data(), n);
      w.insert(w.end(), row.begin(), row.end());
    }
    const auto x = RandomRow(rng, n, 1.0f);
    for (Isa isa : IsasToTest()) {
      const DotKernel& k = GetDotKernel(t, isa);
      std::vector<uint8_t> xq(ActRowBytes(k, n));
      k.quantize(x.data(), xq.data(), n);
      // Even and odd ranges, and a single row: the kernels take rows in pairs from the two
      // halves of the range.
      for (const int64_t first : {3, 2, 10}) {
        std::vector<float> got(static_cast<size_t>(n_rows), -1.0f);
        DotRows(k, n, w.data(), row_bytes, first, n_rows, xq.data(), got.data());
        for (int64_t r = 0; r < n_rows; ++r) {
          const float alone = k.dot(n, w.data() + static_cast<uint64_t>(r) * row_bytes, xq.data());
          if (r < first) {
            EXPECT_EQ(got[static_cast<size_t>(r)], -1.0f) << "row outside the range written";
          } else {
            EXPECT_EQ(std::memcmp(&got[static_cast<size_t>(r)], &alone, 4), 0)
                << GgmlTypeName(t) << " row " << r << " of [" << first << ", " << n_rows << ") isa "
                << IsaName(isa);
          }
        }
      }
    }
  }
}

TEST(DotKernels, Iq4TypesPairWithLlamaCppActivationFormats) {
  EXPECT_EQ(GetDotKernel(GgmlType::IQ4_NL, Isa::kScalar).act_type, GgmlType::Q8_0);
  EXPECT_EQ(GetDotKernel(GgmlType::IQ4_XS, Isa::kScalar).act_type, GgmlType::Q8_K);
  for (GgmlType t : {GgmlType::BF16, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS}) {
    if (DetectIsa() < Isa::kAvx2) break;
    EXPECT_NE(GetDotKernel(t, Isa::kAvx2).dot, GetDotKernel(t, Isa::kScalar).dot)
        << GgmlTypeName(t) << " has no AVX2 kernel";
  }
}

TEST(ActivationQuantizers, Q8RoundTripErrorIsAtMostHalfAStep) {
  std::mt19937 rng(3);
  const auto x = RandomRow(rng, 512, 3.0f);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q4_K}) {
    const DotKernel& k = GetDotKernel(t, Isa::kScalar);
    std::vector<uint8_t> q(ActRowBytes(k, 512));
    k.quantize(x.data(), q.data(), 512);
    std::vector<float> back(512);
    DequantizeRow(k.act_type, q.data(), back.data(), 512);
    const int64_t block = TraitsOf(k.act_type).block_size;
    for (int64_t b = 0; b < 512 / block; ++b) {
      float amax = 0.0f;
      for (int64_t i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b * block + i]));
      // step = amax / 127; the F16 scale of Q8_0/Q8_1 adds a relative 2^-11.
      const float step = amax / 127.0f;
      for (int64_t i = 0; i < block; ++i) {
        EXPECT_LE(std::fabs(back[b * block + i] - x[b * block + i]), 0.5f * step + amax * 1e-3f)
            << GgmlTypeName(k.act_type);
      }
    }
  }
}

TEST(ActivationQuantizers, Q8_1SumIsScaleTimesSumOfCodes) {
  std::mt19937 rng(5);
  const auto x = RandomRow(rng, 64, 1.0f);
  std::vector<uint8_t> q(2 * 36);
  QuantizeActQ8_1(x.data(), q.data(), 64);
  std::vector<float> back(64);
  DequantizeRow(GgmlType::Q8_1, q.data(), back.data(), 64);
  double sum = 0.0;
  for (int i = 0; i < 32; ++i) sum += back[i];
  uint16_t s16;
  std::memcpy(&s16, q.data() + 2, 2);
  EXPECT_NEAR(HalfToFloat(s16), sum, std::fabs(sum) * 1e-3 + 1e-3);
}

TEST(ActivationQuantizers, Avx2GivesTheScalarBits) {
  if (DetectIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(8);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1}) {
    const DotKernel& s = GetDotKernel(t, Isa::kScalar);
    const DotKernel& a = GetDotKernel(t, Isa::kAvx2);
    for (int64_t n : {32, 96, 4096}) {
      auto x = RandomRow(rng, n, 3.0f);
      for (int j = 0; j < 32; ++j) x[static_cast<size_t>(j)] = 0.0f;  // an all-zero block
      x[static_cast<size_t>(n - 1)] = 1e6f;                              // a huge value
      x[static_cast<size_t>(n - 2)] = 0.5f * 1e6f / 127.0f;              // an exact tie
      std::vector<uint8_t> qs(ActRowBytes(s, n)), qa(ActRowBytes(a, n));
      s.quantize(x.data(), qs.data(), n);
      a.quantize(x.data(), qa.data(), n);
      EXPECT_EQ(qs, qa) << GgmlTypeName(s.act_type) << " n=" << n;
    }
  }
}

// Q8_K: the scale comes from the signed value of largest magnitude, the FIRST one when +m and -m
// tie, and codes clamp at 127; the AVX2 converter must keep all of that and the bsums.
TEST(ActivationQuantizers, Avx2GivesTheScalarBitsForQ8K) {
  if (DetectIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(12);
  const DotKernel& s = GetDotKernel(GgmlType::Q4_K, Isa::kScalar);
  const DotKernel& a = GetDotKernel(GgmlType::Q4_K, Isa::kAvx2);
  ASSERT_EQ(s.act_type, GgmlType::Q8_K);
  for (int64_t n : {256, 512, 2048, 5632}) {
    auto x = RandomRow(rng, n, 3.0f);
    for (int j = 0; j < 256; ++j) x[static_cast<size_t>(j)] = 0.0f;  // an all-zero block
    if (n >= 512) {
      x[300] = -75.0f;  // ties of magnitude in block 1: the first (negative) one sets the scale
      x[301] = 75.0f;
    }
    if (n >= 2048) {
      x[1024 + 5] = 90.0f;  // block 4: +90 first, then -90
      x[1024 + 200] = -90.0f;
      x[1536 + 17] = 0.5f * 90.0f / 127.0f;  // block 6: an exact half step of its scale
      x[1536 + 18] = -90.0f;
    }
    x[static_cast<size_t>(n - 1)] = 1e6f;  // a huge last value
    std::vector<uint8_t> qs(ActRowBytes(s, n)), qa(ActRowBytes(a, n));
    s.quantize(x.data(), qs.data(), n);
    a.quantize(x.data(), qa.data(), n);
    EXPECT_EQ(qs, qa) << "n=" << n;
  }
}

// The attention helpers must give the bits of the per-key loop they replace: DotF16 per key, and
// AxpyF16 into 8 lane rows (lane = position mod 8) summed with Tree8.
TEST(AttentionHelpers, BatchedF16ScoresAndWeightedSumGiveThePerKeyBits) {
  if (DetectIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t hd : {8, 64, 96}) {
    const int64_t n_pos = 45, stride = 3 * hd;  // rows of 3 heads; head 1 is used
    std::vector<uint16_t> k(static_cast<size_t>(n_pos * stride)), v(k.size()), q(static_cast<size_t>(hd));
    for (auto& x : k) x = FloatToHalf(nd(rng));
    for (auto& x : v) x = FloatToHalf(nd(rng));
    for (auto& x : q) x = FloatToHalf(nd(rng));
    std::vector<float> w(static_cast<size_t>(n_pos));
    for (auto& x : w) x = avx2::RoundToHalf(std::fabs(nd(rng)) * 0.1f);
    for (auto [first, last] : {std::pair<int64_t, int64_t>{0, 0}, {0, 6}, {3, 17}, {8, 15}, {5, 44}}) {
      std::vector<float> got(static_cast<size_t>(n_pos), -1.0f);
      avx2::DotsF16(last + 1 - first, hd, k.data() + first * stride + hd, stride, q.data(), got.data() + first);
      for (int64_t j = first; j <= last; ++j) {
        EXPECT_EQ(got[j], avx2::DotF16(hd, k.data() + j * stride + hd, q.data())) << "hd=" << hd << " j=" << j;
      }
      std::vector<float> lanes(static_cast<size_t>(8 * hd), 0.0f), want(static_cast<size_t>(hd));
      for (int64_t j = first; j <= last; ++j) {
        avx2::AxpyF16(hd, w[j], v.data() + j * stride + hd, lanes.data() + (j % 8) * hd);
      }
      for (int64_t d = 0; d < hd; ++d) {
        const float l[8] = {lanes[d], lanes[hd + d], lanes[2 * hd + d], lanes[3 * hd + d],
                            lanes[4 * hd + d], lanes[5 * hd + d], lanes[6 * hd + d], lanes[7 * hd + d]};
        want[d] = Tree8(l);
      }
      std::vector<float> out(static_cast<size_t>(hd));
      avx2::WeightedSumF16Lanes(first, last, w.data(), v.data() + hd, stride, hd, out.data());
      EXPECT_EQ(out, want) << "hd=" << hd << " first=" << first << " last=" << last;
    }
  }
}

#if defined(EMBER_HAVE_AVX2_UTIL)
// The prompt attention's scores sum 8 accumulators at once (Hsum8); each lane must be Hsum's
// bits for its vector, on values whose partial sums round (mixed magnitudes and signs).
__attribute__((target("avx2,fma"))) void ExpectHsum8LanesAreHsums(std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> ex(-20, 20);
  for (int trial = 0; trial < 2000; ++trial) {
    alignas(32) float lanes[8][8];
    __m256 v[8];
    for (int k = 0; k < 8; ++k) {
      for (float& x : lanes[k]) x = std::ldexp(nd(rng), ex(rng));
      v[k] = _mm256_load_ps(lanes[k]);
    }
    alignas(32) float got[8];
    _mm256_store_ps(got, cpu::Hsum8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]));
    for (int k = 0; k < 8; ++k) {
      const float want = cpu::Hsum(v[k]);
      ASSERT_EQ(std::memcmp(&got[k], &want, 4), 0) << "trial " << trial << " lane " << k;
      const float tree = Tree8(lanes[k]);
      ASSERT_EQ(std::memcmp(&got[k], &tree, 4), 0) << "trial " << trial << " lane " << k;
    }
  }
}

TEST(AttentionHelpers, EightHorizontalSumsAtOnceGiveEachHsumsBits) {
  if (DetectIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(29);
  ExpectHsum8LanesAreHsums(rng);
}
#endif

TEST(DotKernels, UnsupportedWeightTypeIsAClearError) {
  try {
    GetDotKernel(GgmlType::IQ2_XXS, Isa::kScalar);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("IQ2_XXS"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ember
