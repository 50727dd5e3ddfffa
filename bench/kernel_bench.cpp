// Per-kernel CPU matrix throughput: every weight type with a dot kernel (src/cpu/dot.h), at every
// ISA this CPU has, through cpu::MatMul on one thread (activation quantization included, as in a
// forward pass). Rates are per CPU time (Google Benchmark's default), which on a shared machine is
// steadier than wall time.
//
//   Decode/<type>/<isa>: a 4096 x 4096 matrix times one token; bytes_per_second counts the weight
//                        bytes read (9-34 MiB for the quantized types: around the L3 size, so
//                        this is a kernel figure, not a DRAM-bound one).
//   Prompt/<type>/<isa>: a 1024 x 4096 matrix times 64 tokens (the tiled kernels where gemm.h has
//                        one); the FLOPS counter is 2 * rows * cols * tokens per second.
//   PromptRepacked/<type>/<isa>: the same through the interleaved layout of repack.h (Q4_0,
//                        Q4_K: what a model's matrices use by default at AVX2 and above).
//
// Weights are 64 distinct quantized rows repeated to the full height: the kernels have no
// data-dependent branches, and quantizing 16M elements to the IQ and K formats would take longer
// than the benchmark. Run: build/bin/kernel_bench [--benchmark_filter=Decode/Q4_K]
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/dot.h"
#include "cpu/ops.h"
#include "cpu/repack.h"
#include "cpu/thread_pool.h"
#include "gguf/ggml_type.h"
#include "quant/quant.h"

namespace {

using ember::GgmlType;
using ember::Isa;

constexpr int64_t kCols = 4096;
constexpr int64_t kDecodeRows = 4096;
constexpr int64_t kPromptRows = 1024;
constexpr int64_t kPromptTokens = 64;
constexpr int64_t kDistinctRows = 64;

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                           GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                           GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};

std::vector<float> RandomFloats(int64_t n, float sigma, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  return x;
}

// kDecodeRows rows of `type` (the prompt shape uses the first kPromptRows), built once per type.
const std::vector<uint8_t>& Weights(GgmlType type) {
  static std::map<GgmlType, std::vector<uint8_t>> cache;
  auto it = cache.find(type);
  if (it != cache.end()) return it->second;
  const uint64_t row_bytes = *ember::RowBytes(type, kCols);
  const std::vector<float> x = RandomFloats(kDistinctRows * kCols, 0.02f, 7);
  std::vector<uint8_t> distinct(row_bytes * kDistinctRows);
  for (int64_t r = 0; r < kDistinctRows; ++r) {
    ember::QuantizeRow(type, x.data() + r * kCols, distinct.data() + r * row_bytes, kCols);
  }
  std::vector<uint8_t> w(row_bytes * kDecodeRows);
  for (int64_t r = 0; r < kDecodeRows; ++r) {
    std::memcpy(w.data() + r * row_bytes, distinct.data() + (r % kDistinctRows) * row_bytes, row_bytes);
  }
  return cache.emplace(type, std::move(w)).first->second;
}

void BM_MatMul(benchmark::State& state, GgmlType type, Isa isa, int64_t rows, int64_t tokens) {
  const std::vector<uint8_t>& w = Weights(type);
  const ember::cpu::MatrixRef m{type, kCols, rows, *ember::RowBytes(type, kCols), w.data()};
  const std::vector<float> x = RandomFloats(tokens * kCols, 1.0f, 11);
  std::vector<float> y(static_cast<size_t>(tokens * rows));
  std::vector<uint8_t> scratch;
  ember::ThreadPool pool(1);
  for (auto _ : state) {
    ember::cpu::MatMul(pool, isa, m, x.data(), tokens, y.data(), scratch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  // Weight bytes per second only for decode, where reading the matrix is the work.
  if (tokens == 1) state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(m.row_bytes) * rows);
  state.counters["FLOPS"] = benchmark::Counter(2.0 * static_cast<double>(rows * kCols * tokens),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}

// The repacked layout (made once, outside the timing) of the same weights.
void BM_MatMulRepacked(benchmark::State& state, GgmlType type, Isa isa, int64_t rows, int64_t tokens) {
  const std::vector<uint8_t>& w = Weights(type);
  const uint64_t row_bytes = *ember::RowBytes(type, kCols);
  ember::ThreadPool pool(1);
  const ember::cpu::RepackLayout l = ember::cpu::ChooseRepack(type, rows, kCols, isa);
  if (l == ember::cpu::RepackLayout::kNone) {
    state.SkipWithError("no repacked layout for this type at this ISA (or EMBER_NO_REPACK is set)");
    return;
  }
  std::vector<uint8_t> packed(ember::cpu::RepackedBytes(l, rows, kCols));
  ember::cpu::Repack(pool, l, w.data(), row_bytes, rows, kCols, packed.data());
  const std::vector<float> x = RandomFloats(tokens * kCols, 1.0f, 11);
  std::vector<float> y(static_cast<size_t>(tokens * rows));
  std::vector<uint8_t> scratch;
  for (auto _ : state) {
    ember::cpu::MatMulRepacked(pool, l, packed.data(), rows, kCols, x.data(), tokens, y.data(), scratch, isa);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  if (tokens == 1) state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(packed.size()));
  state.counters["FLOPS"] = benchmark::Counter(2.0 * static_cast<double>(rows * kCols * tokens),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Isa> isas = {Isa::kScalar};
  if (ember::DetectIsa() >= Isa::kAvx2) isas.push_back(Isa::kAvx2);
  if (ember::ClampIsa(Isa::kAvxVnni) == Isa::kAvxVnni) isas.push_back(Isa::kAvxVnni);  // VEX VNNI tiles
  if (ember::DetectIsa() >= Isa::kAvx512) isas.push_back(Isa::kAvx512);  // VNNI prompt tiles
  if (ember::DetectIsa() >= Isa::kAmx) isas.push_back(Isa::kAmx);  // Q4_0/Q5_0/Q8_0/Q4_K prompt tiles
  for (GgmlType t : kTypes) {
    for (Isa isa : isas) {
      const std::string suffix = std::string(ember::GgmlTypeName(t)) + "/" + std::string(ember::IsaName(isa));
      benchmark::RegisterBenchmark(("Decode/" + suffix).c_str(), BM_MatMul, t, isa, kDecodeRows, int64_t{1})
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.2);
      benchmark::RegisterBenchmark(("Prompt/" + suffix).c_str(), BM_MatMul, t, isa, kPromptRows, kPromptTokens)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.2);
      // The repacked layouts where ChooseRepack takes them (IQ4_NL's: VNNI CPUs only).
      if (ember::cpu::ChooseRepack(t, kPromptRows, kCols, isa) != ember::cpu::RepackLayout::kNone) {
        benchmark::RegisterBenchmark(("DecodeRepacked/" + suffix).c_str(), BM_MatMulRepacked, t, isa, kDecodeRows,
                                     int64_t{1})
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.2);
        benchmark::RegisterBenchmark(("PromptRepacked/" + suffix).c_str(), BM_MatMulRepacked, t, isa, kPromptRows,
                                     kPromptTokens)
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.2);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
