// CPU operations of a transformer forward pass on plain row-major F32 buffers. They know
// nothing about models: shapes and parameters come in as arguments. Multi-threaded through the
// ThreadPool where the work is large enough to pay for it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/dot.h"
#include "cpu/thread_pool.h"
#include "gguf/ggml_type.h"

namespace ember::cpu {

// A quantized (or float) matrix: n_out rows of n_in elements of `type`, row_bytes apart.
struct MatrixRef {
  GgmlType type;
  int64_t n_in;
  int64_t n_out;
  uint64_t row_bytes;
  const uint8_t* data;
};

// y (n_tokens, n_out) = x (n_tokens, n_in) W^T. Activations are converted once per call to the
// kernel's activation format into `scratch`. From kGemmMinTokens tokens on, types with a tiled
// kernel (gemm.h) run as matrix-matrix products; the results are the same bits either way.
inline constexpr int64_t kGemmMinTokens = 2;
void MatMul(ThreadPool& pool, Isa isa, const MatrixRef& w, const float* x, int64_t n_tokens,
            float* y, std::vector<uint8_t>& scratch);

// Several matrices (the same n_in) times one token x: y_j = W_j x, each result the same bits as
// MatMul's. Matrices sharing an activation type share one converted copy of x, and every row of
// every matrix goes through one ParallelFor: one start and one barrier instead of one per matrix.
struct MatVecJob {
  MatrixRef w;
  float* y;
};
void MatVecShared(ThreadPool& pool, Isa isa, std::span<const MatVecJob> jobs, const float* x,
                  std::vector<uint8_t>& scratch);

// y (rows, n) = x / sqrt(mean(x^2) + eps) * weight (weight may be null: no scaling).
void RmsNorm(const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* y);

struct RopeArgs {
  int64_t head_dim;
  int64_t n_dims;         // rotated dims per head
  float freq_base;
  float freq_scale;
  bool neox;              // false: adjacent pairs (ggml mode 0); true: split halves (mode 2)
  const float* freq_factors;  // (n_dims/2) or null
  // YaRN, as ggml's rope_yarn: ext_factor 0 = plain (linear) scaling; attn_factor scales cos/sin.
  float ext_factor = 0.0f;
  float attn_factor = 1.0f;
  int64_t n_ctx_orig = 0;
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
};
// In place on x (n_tokens, n_heads * head_dim), token t at position pos[t].
void Rope(float* x, int64_t n_tokens, int64_t n_heads, const int32_t* pos, const RopeArgs& a);

struct AttentionArgs {
  int64_t n_head, n_head_kv, head_dim;
  float scale;
  float softcap;   // 0 = none
  int64_t window;  // 0 = full causal
  // Cache rows of this layer: position p's K row at k + p * k_stride (bytes), same for V.
  const uint8_t* k;
  const uint8_t* v;
  uint64_t k_stride, v_stride;
  bool f16;  // cache holds F16 (else F32)
};
// out (n_tokens, n_head * head_dim): causal softmax attention of q (n_tokens, n_head * head_dim),
// token t at position pos0 + t. With an F16 cache, q and the attention weights are rounded to
// F16 before their products, as llama.cpp's F16 matrix products do.
void Attention(ThreadPool& pool, Isa isa, const float* q, int64_t n_tokens, int64_t pos0,
               const AttentionArgs& a, float* out);
// Tests only: one token with at least n cached positions (F16 cache, AVX2) attends with the
// heads that share a K/V head together (the same bits); n <= 0 restores the default (128).
void SetDecodeSharedMinKeysForTests(int64_t n);

// exp(x) exactly as ggml's AVX2 ggml_v_expf computes it (softmax must match bit for bit).
float ExpGgml(float x);
// x[i] = ExpGgml(x[i] - shift), 8 lanes at a time where the CPU has AVX2 (the same bits).
void ExpShifted(float* x, int64_t n, float shift);

// out[i] = silu(gate[i]) * up[i] (out may alias gate).
void SwiGlu(const float* gate, const float* up, int64_t n, float* out);
// out[i] = gelu(gate[i]) * up[i] (out may alias gate), GELU with the tanh approximation, as
// ggml's CPU geglu computes it: gate rounded to F16, GELU of that, rounded to F16 (ggml reads a
// table of F16 results), exact 0 below -10 and the identity above 10.
void GeGlu(const float* gate, const float* up, int64_t n, float* out);
// x[i] += y[i].
void Add(float* x, const float* y, int64_t n);
// x (rows, n): every row += b (n).
void AddRow(float* x, const float* b, int64_t rows, int64_t n);
// x[i] *= s.
void Scale(float* x, int64_t n, float s);
// x[i] = cap * tanh(x[i] / cap) (computed as tanh(x * (1/cap)) * cap, as llama.cpp's graph).
void SoftCap(float* x, int64_t n, float cap);

}  // namespace ember::cpu
