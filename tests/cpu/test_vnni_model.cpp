// The scalar model of AVX-512 VNNI's vpdpbusd (int8_dot_step.h, VnniModel), which the tile
// tests run in place of the instruction on CPUs without it, checked against SIMDe's
// simde_mm256_dpbusd_epi32: an implementation of Intel's intrinsic that nobody here wrote (on a
// CPU with AVX-512 VNNI, built with -march=native, SIMDe calls the instruction itself).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>

#include "cpu/cpu_features.h"
#include "cpu/int8_dot_step.h"

#if defined(EMBER_HAVE_SIMDE) && defined(__x86_64__)
#include <simde/x86/avx512/dpbusd.h>
#endif

namespace ember::cpu {
namespace {

#if defined(EMBER_HAVE_SIMDE) && defined(__x86_64__)

struct Lanes {
  int32_t acc[8];
  uint8_t u[32];
  int8_t s[32];
};

void ExpectModelEqualsSimde(const Lanes& in) {
  __m256i acc, u, s;
  std::memcpy(&acc, in.acc, 32);
  std::memcpy(&u, in.u, 32);
  std::memcpy(&s, in.s, 32);
  int8_step::VnniModel::Add(acc, u, s, __m256i{});
  int32_t got[8];
  std::memcpy(got, &acc, 32);

  simde__m256i sacc, su, ss;
  std::memcpy(&sacc, in.acc, 32);
  std::memcpy(&su, in.u, 32);
  std::memcpy(&ss, in.s, 32);
  const simde__m256i sres = simde_mm256_dpbusd_epi32(sacc, su, ss);
  int32_t want[8];
  std::memcpy(want, &sres, 32);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(got[i], want[i]) << "lane " << i << ": acc " << in.acc[i] << ", bytes " << int{in.u[4 * i]}
                               << "*" << int{in.s[4 * i]} << " ...";
  }
}

TEST(VnniModel, EqualsSimdeDpbusdOnRandomAndExtremeBytes) {
  if (DetectIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU (the model is compiled for it)";
  std::mt19937 rng(21);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int32_t> word(INT32_MIN, INT32_MAX);
  for (int iter = 0; iter < 2000; ++iter) {
    Lanes in{};
    for (auto& a : in.acc) a = word(rng);
    for (auto& v : in.u) v = static_cast<uint8_t>(byte(rng));
    for (auto& v : in.s) v = static_cast<int8_t>(byte(rng) - 128);
    ExpectModelEqualsSimde(in);
  }
  // The extremes: 4 x 255 x -128 and 4 x 255 x 127 per lane (no 16-bit saturation, unlike
  // maddubs), added to accumulators at the ends of the int32 range (wrapping).
  for (int32_t a0 : {0, INT32_MAX, INT32_MIN, -1}) {
    for (int sv : {-128, 127}) {
      Lanes in{};
      for (auto& a : in.acc) a = a0;
      for (auto& v : in.u) v = 255;
      for (auto& v : in.s) v = static_cast<int8_t>(sv);
      ExpectModelEqualsSimde(in);
    }
  }
}

#else

TEST(VnniModel, EqualsSimdeDpbusdOnRandomAndExtremeBytes) {
  GTEST_SKIP() << "SIMDe not found at configure time (scripts/setup installs libsimde-dev), or not x86-64";
}

#endif

}  // namespace
}  // namespace ember::cpu
