// Prefill matrix-matrix product on the tensor cores through cuBLAS: F16 operands (the weight
// dequantized once per call by DequantizeToF16, the activations converted here), F32 accumulate
// and F32 output.
//
// Row-major y (n_tokens, n_out) = x (n_tokens, n_in) W^T is, in cuBLAS's column-major terms,
// y^T (n_out x n_tokens, ld n_out) = op(A) B with A = W seen as (n_in x n_out, ld n_in), op = T,
// and B = x^T (n_in x n_tokens, ld n_in).
#include <cublas_v2.h>

#include "cuda/cuda_check.h"
#include "cuda/kernels.h"

namespace ember::cuda {

void GemmF16(cublasContext* handle, const uint16_t* w_f16, int64_t n_in, int64_t n_out,
             const float* x, int64_t n_tokens, uint16_t* x_f16, float* y, cudaStream_t stream) {
  if (n_tokens <= 0) return;
  F32ToF16(x, x_f16, n_tokens * n_in, stream);
  CUBLAS_CHECK(cublasSetStream(handle, stream));
  const float alpha = 1.0f, beta = 0.0f;
  CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n_out),
                            static_cast<int>(n_tokens), static_cast<int>(n_in), &alpha, w_f16,
                            CUDA_R_16F, static_cast<int>(n_in), x_f16, CUDA_R_16F,
                            static_cast<int>(n_in), &beta, y, CUDA_R_32F, static_cast<int>(n_out),
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace ember::cuda
