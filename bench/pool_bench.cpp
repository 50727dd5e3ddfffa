// ember's ThreadPool against OpenMP for what a forward pass asks of threads: hundreds of small
// parallel loops per token, each ending in a barrier. Measures the cost of one parallel loop
// with no work (the barrier itself) and with a decode-sized piece of work (a 256 KiB read split
// over the threads, about one small weight matrix). Issue 9 asks for the pool to be measured
// against OpenMP and the faster kept; docs/performance.md has the figures.
//
//   build/bin/pool_bench [--benchmark_min_time=0.5]    (2 threads, or EMBER_BENCH_THREADS)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "cpu/thread_pool.h"

namespace {

int Threads() {
  const char* v = std::getenv("EMBER_BENCH_THREADS");
  return v != nullptr ? std::atoi(v) : 2;
}

// Sums a slice of the buffer (the stand-in for a block of weight rows).
float SumSlice(const std::vector<float>& data, int64_t b, int64_t e) {
  float s = 0.0f;
  for (int64_t i = b; i < e; ++i) s += data[static_cast<size_t>(i)];
  return s;
}

constexpr int64_t kWorkFloats = 64 * 1024;  // 256 KiB
constexpr int64_t kChunks = 16;

void BM_PoolEmptyLoop(benchmark::State& state) {
  ember::ThreadPool pool(Threads());
  for (auto _ : state) {
    pool.ParallelFor(pool.size(), 1, [](int64_t, int64_t) {});
  }
}
BENCHMARK(BM_PoolEmptyLoop)->UseRealTime();

void BM_OmpEmptyLoop(benchmark::State& state) {
  const int n = Threads();
  for (auto _ : state) {
#pragma omp parallel for num_threads(n) schedule(static)
    for (int i = 0; i < n; ++i) benchmark::DoNotOptimize(i);
  }
}
BENCHMARK(BM_OmpEmptyLoop)->UseRealTime();

void BM_PoolDecodeSizedLoop(benchmark::State& state) {
  ember::ThreadPool pool(Threads());
  std::vector<float> data(kWorkFloats, 1.0f);
  std::vector<float> out(kChunks);
  for (auto _ : state) {
    pool.ParallelFor(kChunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        out[static_cast<size_t>(c)] = SumSlice(data, c * kWorkFloats / kChunks, (c + 1) * kWorkFloats / kChunks);
      }
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kWorkFloats * 4);
}
BENCHMARK(BM_PoolDecodeSizedLoop)->UseRealTime();

void BM_OmpDecodeSizedLoop(benchmark::State& state) {
  const int n = Threads();
  std::vector<float> data(kWorkFloats, 1.0f);
  std::vector<float> out(kChunks);
  for (auto _ : state) {
#pragma omp parallel for num_threads(n) schedule(dynamic, 1)
    for (int64_t c = 0; c < kChunks; ++c) {
      out[static_cast<size_t>(c)] = SumSlice(data, c * kWorkFloats / kChunks, (c + 1) * kWorkFloats / kChunks);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kWorkFloats * 4);
}
BENCHMARK(BM_OmpDecodeSizedLoop)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
