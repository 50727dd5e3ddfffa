// Dequantization and quantization throughput of the scalar reference code, per format.
//
// Dequantization reports GB/s of F32 output (bytes_per_second counts the 4-byte floats written);
// quantization reports the F32 input consumed. These are the baselines the SIMD kernels in
// src/cpu/ are measured against. Run: build/bin/quant_bench [--benchmark_filter=Dequant]
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "gguf/ggml_type.h"
#include "quant/quant.h"

namespace {

constexpr int64_t kElements = 256 * 1024;  // 1 MiB of F32 output: stays in L2/L3

std::vector<float> RandomRow(int64_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  return x;
}

std::vector<uint8_t> Quantized(ember::GgmlType type, const std::vector<float>& x) {
  const auto& t = ember::TraitsOf(type);
  std::vector<uint8_t> q(x.size() / t.block_size * t.bytes_per_block);
  ember::QuantizeRow(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

void BM_Dequantize(benchmark::State& state, ember::GgmlType type) {
  const std::vector<uint8_t> q = Quantized(type, RandomRow(kElements));
  std::vector<float> out(kElements);
  for (auto _ : state) {
    ember::DequantizeRow(type, q.data(), out.data(), kElements);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)));
}

void BM_Quantize(benchmark::State& state, ember::GgmlType type) {
  const std::vector<float> x = RandomRow(kElements);
  std::vector<uint8_t> q = Quantized(type, x);
  for (auto _ : state) {
    ember::QuantizeRow(type, x.data(), q.data(), kElements);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)));
}

using ember::GgmlType;
#define EMBER_QUANT_BENCH(T)                                            \
  BENCHMARK_CAPTURE(BM_Dequantize, T, GgmlType::T)->Unit(benchmark::kMicrosecond); \
  BENCHMARK_CAPTURE(BM_Quantize, T, GgmlType::T)->Unit(benchmark::kMicrosecond)

EMBER_QUANT_BENCH(F16);
EMBER_QUANT_BENCH(BF16);
EMBER_QUANT_BENCH(Q4_0);
EMBER_QUANT_BENCH(Q4_1);
EMBER_QUANT_BENCH(Q5_0);
EMBER_QUANT_BENCH(Q5_1);
EMBER_QUANT_BENCH(Q8_0);
EMBER_QUANT_BENCH(Q8_1);
EMBER_QUANT_BENCH(Q2_K);
EMBER_QUANT_BENCH(Q3_K);
EMBER_QUANT_BENCH(Q4_K);
EMBER_QUANT_BENCH(Q5_K);
EMBER_QUANT_BENCH(Q6_K);
EMBER_QUANT_BENCH(Q8_K);
EMBER_QUANT_BENCH(IQ4_NL);
EMBER_QUANT_BENCH(IQ4_XS);

}  // namespace

BENCHMARK_MAIN();
