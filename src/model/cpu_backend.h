// CpuBackend: the Backend interface on the CPU kernels of src/cpu (SIMD chosen at start-up,
// a persistent thread pool).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "model/backend.h"

namespace ember {

class CpuBackend : public Backend {
 public:
  // n_threads <= 0: physical cores. isa: normally SelectIsa() (EMBER_CPU_ISA may lower it).
  // n_threads_batch: threads for batches of several tokens (llama.cpp's -tb); <= 0: n_threads.
  explicit CpuBackend(int n_threads = 0, Isa isa = SelectIsa(), int n_threads_batch = 0);

  std::string name() const override;
  int n_threads() const { return n_threads_; }
  int n_threads_batch() const { return n_threads_batch_; }
  Isa isa() const { return isa_; }

  // Repacks every matrix whose type and shape have a repacked layout (cpu/repack.h).
  void PrepareWeights(const Weights& w) override;
  void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y) override;
  // One token: the matrices without a repacked copy go through cpu::MatVecShared together.
  void MatMulShared(std::span<const WeightView* const> ws, const float* x, int64_t n_tokens,
                    std::span<float* const> ys) override;
  void GetRows(const WeightView& w, const int32_t* ids, int64_t n, float* out) override;
  void RmsNorm(const float* x, const float* weight, int64_t n_tokens, int64_t n, float eps,
               float* y) override;
  void Rope(float* x, int64_t n_tokens, int64_t n_heads, const int32_t* pos,
            const RopeParams& p) override;
  void StoreKv(KvCache& cache, int64_t layer, int64_t pos0, int64_t n_tokens, const float* k,
               const float* v) override;
  void Attention(const KvCache& cache, int64_t layer, int64_t pos0, int64_t n_tokens,
                 const float* q, const AttentionParams& p, float* out) override;
  void SwiGlu(const float* gate, const float* up, int64_t n, float* out) override;
  void GeGlu(const float* gate, const float* up, int64_t n, float* out) override;
  void Add(float* x, const float* y, int64_t n) override;
  void AddRow(float* x, const float* b, int64_t rows, int64_t n) override;
  void Scale(float* x, int64_t n, float s) override;
  void SoftCap(float* x, int64_t n, float cap) override;
  void CopyColumns(const float* src, int64_t src_cols, int64_t col0, int64_t rows, int64_t n,
                   float* dst) override;

 private:
  // The repacked copy of w (cpu/repack.h), made on first use; null where w's type and shape
  // keep the row dot products.
  const uint8_t* Packed(const WeightView& w);

  // Threads for the coming work: n_threads for one token, n_threads_batch for a batch.
  void UseThreadsFor(int64_t n_tokens);

  Isa isa_;
  int n_threads_, n_threads_batch_;
  ThreadPool pool_;
  std::vector<uint8_t> act_scratch_;
};

}  // namespace ember
