// Launchers of ember's CUDA kernels: plain C++ signatures over device pointers and a stream.
//
// Each launcher lives beside its kernel in one .cu file per op family and checks its launch.
// All pointers are device pointers. Activations are row-major F32, one row per token; weights
// are GGUF tensors uploaded byte for byte (n_out rows of n_in elements, ne[0] contiguous).
// The CPU-side meaning of every op is the Backend interface's (src/model/backend.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gguf/ggml_type.h"

struct cublasContext;

namespace ember::cuda {

// True for the weight types the matrix and row kernels read directly.
bool SupportsWeightType(GgmlType type);

// --- quantized matrix-vector (decode), mmv.cu -------------------------------------------------
// y (n_out) = W (n_out, n_in) x (n_in); W in `type`, row_bytes apart. n_in must be a multiple of
// the type's block size (any n_in for F32/F16/BF16). x must be 16-byte aligned.
void MatVec(GgmlType type, const void* w, uint64_t row_bytes, int64_t n_in, int64_t n_out,
            const float* x, float* y, cudaStream_t stream);

// --- dequantization, get_rows.cu -------------------------------------------------------------
// out (n, n_in) F32: rows ids[0..n) of W. ids is a device array.
void GetRows(GgmlType type, const void* w, uint64_t row_bytes, int64_t n_in, const int32_t* ids,
             int64_t n, float* out, cudaStream_t stream);
// out (n_rows, n_in) F16 (as uint16_t): the whole of W dequantized, for tensor-core GEMMs.
void DequantizeToF16(GgmlType type, const void* w, uint64_t row_bytes, int64_t n_in,
                     int64_t n_rows, uint16_t* out, cudaStream_t stream);

// --- prefill matrix-matrix, gemm.cu ----------------------------------------------------------
// y (n_tokens, n_out) = x (n_tokens, n_in) W^T with F16 operands on the tensor cores and F32
// accumulation (cuBLAS). w_f16 is W dequantized (DequantizeToF16); x_f16 is scratch of
// n_tokens * n_in halves.
void GemmF16(cublasContext* handle, const uint16_t* w_f16, int64_t n_in, int64_t n_out,
             const float* x, int64_t n_tokens, uint16_t* x_f16, float* y, cudaStream_t stream);

// --- element-wise and row ops, elementwise.cu ------------------------------------------------
void RmsNorm(const float* x, const float* weight, int64_t n_rows, int64_t n, float eps, float* y,
             cudaStream_t stream);
// In place on x (n_tokens, n_heads * head_dim); token t at position pos[t] (device array).
// neox: rotate x[i] with x[i + n_dims/2]; else adjacent pairs (x[2i], x[2i+1]).
// freq_factors: (n_dims / 2) divisors or null.
void Rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_dims,
          const int32_t* pos, float freq_base, float freq_scale, bool neox,
          const float* freq_factors, cudaStream_t stream);
// out[i] = silu(gate[i]) * up[i]
void SwiGlu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream);
// out[i] = gelu_tanh(gate[i]) * up[i]
void GeGlu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream);
// x[i] += y[i]
void Add(float* x, const float* y, int64_t n, cudaStream_t stream);
// x[i] *= s
void Scale(float* x, float s, int64_t n, cudaStream_t stream);
// Softmax of each row of x (n_rows, n), in place.
void SoftmaxRows(float* x, int64_t n_rows, int64_t n, cudaStream_t stream);
// F32 -> F16 (round to nearest even).
void F32ToF16(const float* x, uint16_t* y, int64_t n, cudaStream_t stream);

// --- attention, attention.cu -----------------------------------------------------------------
// The KV cache of one layer on the device: K (n_ctx, k_width), V (n_ctx, v_width), F16.
struct KvLayerView {
  uint16_t* k = nullptr;
  uint16_t* v = nullptr;
  int64_t k_width = 0;
  int64_t v_width = 0;
  int64_t n_ctx = 0;
};
// Writes k (n_tokens, k_width), v (n_tokens, v_width) as F16 rows pos[t] of the layer (pos is a
// device array, so a captured decode step replays at any position). Rows pos[t] >= n_ctx are
// dropped (the host checks the context before launching).
void StoreKv(const KvLayerView& kv, const int32_t* pos, int64_t n_tokens, const float* k,
             const float* v, cudaStream_t stream);

struct AttentionShape {
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;    // of Q and K; a multiple of 8, at most 256
  int64_t head_dim_v = 0;  // of V; even, at most 256
  float scale = 1.0f;
  float softcap = 0.0f;    // 0 = none
  int64_t window = 0;      // 0 = full causal; else keys p with pos - p < window
};
// out (n_tokens, n_head * head_dim_v): token t (position pos[t], a device array) attends to cache
// rows [0, pos[t]]. Online softmax over 32-key tiles (no score matrix); for few tokens the keys are
// split into chunks across blocks and merged. max_keys bounds pos[t] + 1 and only chooses the
// split count (a captured graph passes n_ctx). `partial` is scratch of AttentionScratchFloats(),
// which is large enough for any number of tokens (a buffer sized for a prompt serves decode).
void Attention(const KvLayerView& kv, const int32_t* pos, int64_t n_tokens, int64_t max_keys,
               const float* q, const AttentionShape& s, float* out, float* partial,
               cudaStream_t stream);
int64_t AttentionScratchFloats(const AttentionShape& s, int64_t n_tokens, int64_t n_ctx);

}  // namespace ember::cuda
