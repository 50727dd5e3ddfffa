// Backend: the operations the forward pass is written against. The CPU backend (src/cpu)
// implements them now, a CUDA backend later; the model code never calls a kernel directly.
//
// Activations are row-major F32 matrices, one row per token: (n_tokens, width). For the CPU they
// are host pointers; weights are WeightViews into the mapped file.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace ember {

struct RopeParams {
  int64_t head_dim = 0;
  int64_t n_dims = 0;  // rotated dimensions per head (the rest pass through)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  RopeStyle style = RopeStyle::kNormal;
  const float* freq_factors = nullptr;  // (n_dims / 2) divisors of each frequency, or null
  // YaRN (ModelConfig's rope_ext_factor ...): 0 / 1 without it.
  float ext_factor = 0.0f;
  float attn_factor = 1.0f;
  int64_t n_ctx_orig = 0;
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
};

struct AttentionParams {
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  float scale = 1.0f;     // applied to q.k
  float softcap = 0.0f;   // 0 = none
  int64_t window = 0;     // sliding window (0 = full causal)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Called once after a model is loaded, before its first forward pass: a backend that keeps
  // weights in its own layout (the CPU's repacked matrices) makes them now, so the first
  // prompt does not pay for it. Optional: MatMul must work without it.
  virtual void PrepareWeights(const Weights& /*w*/) {}

  // y (n_tokens, w.n_out) = x (n_tokens, w.n_in) times W^T: one dot product per weight row.
  virtual void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y) = 0;
  // ys[i] = x times ws[i]^T for several matrices that read the same input (q/k/v, gate/up):
  // the results are those of MatMul on each; a backend may share the input's conversion and
  // the threads' start and finish among them (decode runs hundreds of small products a token).
  virtual void MatMulShared(std::span<const WeightView* const> ws, const float* x,
                            int64_t n_tokens, std::span<float* const> ys) {
    for (size_t i = 0; i < ws.size(); ++i) MatMul(*ws[i], x, n_tokens, ys[i]);
  }
  // out (n, w.n_in): rows ids[0..n) of w dequantized to F32 (embedding lookup).
  virtual void GetRows(const WeightView& w, const int32_t* ids, int64_t n, float* out) = 0;
  // y (n_tokens, n) = x / rms(x) * weight, per row.
  virtual void RmsNorm(const float* x, const float* weight, int64_t n_tokens, int64_t n, float eps,
                       float* y) = 0;
  // In place on x (n_tokens, n_heads * head_dim); token t sits at position pos[t].
  virtual void Rope(float* x, int64_t n_tokens, int64_t n_heads, const int32_t* pos,
                    const RopeParams& p) = 0;
  // Writes k (n_tokens, k_width) and v (n_tokens, v_width) at positions pos0.. of `layer`.
  virtual void StoreKv(KvCache& cache, int64_t layer, int64_t pos0, int64_t n_tokens,
                       const float* k, const float* v) = 0;
  // out (n_tokens, n_head * head_dim): token t (position pos0 + t) attends causally to cache
  // positions [0, pos0 + t] of `layer`; q head h reads KV head h / (n_head / n_head_kv).
  virtual void Attention(const KvCache& cache, int64_t layer, int64_t pos0, int64_t n_tokens,
                         const float* q, const AttentionParams& p, float* out) = 0;
  // out[i] = silu(gate[i]) * up[i], i < n.
  virtual void SwiGlu(const float* gate, const float* up, int64_t n, float* out) = 0;
  // out[i] = gelu_tanh(gate[i]) * up[i], i < n.
  virtual void GeGlu(const float* gate, const float* up, int64_t n, float* out) = 0;
  // x[i] += y[i], i < n.
  virtual void Add(float* x, const float* y, int64_t n) = 0;
  // x (rows, n): each row += b (n) -- a bias.
  virtual void AddRow(float* x, const float* b, int64_t rows, int64_t n) = 0;
  // x[i] *= s, i < n.
  virtual void Scale(float* x, int64_t n, float s) = 0;
  // x[i] = cap * tanh(x[i] / cap), i < n.
  virtual void SoftCap(float* x, int64_t n, float cap) = 0;
  // dst (rows, n) = columns [col0, col0 + n) of src (rows, src_cols): one part of a fused output.
  virtual void CopyColumns(const float* src, int64_t src_cols, int64_t col0, int64_t rows,
                           int64_t n, float* dst) = 0;
};

}  // namespace ember
