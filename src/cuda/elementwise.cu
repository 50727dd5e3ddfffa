// Row and element-wise ops: RMSNorm, RoPE (adjacent-pair and NeoX modes), SwiGLU, GeGLU, add,
// scale, row softmax and F32 -> F16. All are memory-bound single passes; formulas follow ggml's
// CPU ops (rms: x / sqrt(mean(x^2) + eps); rope: theta = freq_scale * pos * base^(-2i/n_dims)
// / freq_factor[i]; gelu: the tanh approximation).
#include <cuda_fp16.h>

#include "cuda/common.cuh"
#include "cuda/cuda_check.h"
#include "cuda/kernels.h"

namespace ember::cuda {
namespace {

constexpr int kThreads = 256;

unsigned Blocks(int64_t n) { return static_cast<unsigned>(CeilDiv(n, kThreads)); }

__global__ void RmsNormKernel(const float* __restrict__ x, const float* __restrict__ weight,
                              int64_t n, float eps, float* __restrict__ y) {
  __shared__ float smem[32];
  const float* xr = x + blockIdx.x * n;
  float* yr = y + blockIdx.x * n;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss = fmaf(xr[i], xr[i], ss);
  ss = BlockSum(ss, smem);
  const float scale = 1.0f / sqrtf(ss / static_cast<float>(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = xr[i] * scale;
    yr[i] = weight != nullptr ? v * weight[i] : v;
  }
}

// One thread per rotated pair (token, head, i < n_dims / 2).
__global__ void RopeKernel(float* __restrict__ x, int64_t n_tokens, int64_t n_heads,
                           int64_t head_dim, int64_t n_dims, const int32_t* __restrict__ pos,
                           float theta_scale, float freq_scale, bool neox,
                           const float* __restrict__ freq_factors) {
  const int64_t half = n_dims / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n_tokens * n_heads * half) return;
  const int64_t i = idx % half;
  const int64_t th = idx / half;  // token * n_heads + head
  const int64_t t = th / n_heads;
  float* head = x + th * head_dim;
  float theta = static_cast<float>(pos[t]) * powf(theta_scale, static_cast<float>(i));
  if (freq_factors != nullptr) theta /= freq_factors[i];
  theta *= freq_scale;
  float s, c;
  sincosf(theta, &s, &c);
  const int64_t a = neox ? i : 2 * i;
  const int64_t b = neox ? i + half : 2 * i + 1;
  const float x0 = head[a], x1 = head[b];
  head[a] = x0 * c - x1 * s;
  head[b] = x0 * s + x1 * c;
}

// No __restrict__ on gate and out: the model runs these in place (out == gate).
__global__ void SwiGluKernel(const float* gate, const float* __restrict__ up,
                             int64_t n, float* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float g = gate[i];
  out[i] = g / (1.0f + expf(-g)) * up[i];
}

// No __restrict__ on gate and out: the model runs these in place (out == gate).
__global__ void GeGluKernel(const float* gate, const float* __restrict__ up,
                            int64_t n, float* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kGeluCoef = 0.044715f;
  const float g = gate[i];
  const float gl = 0.5f * g * (1.0f + tanhf(kSqrt2OverPi * g * (1.0f + kGeluCoef * g * g)));
  out[i] = gl * up[i];
}

__global__ void AddKernel(float* __restrict__ x, const float* __restrict__ y, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] += y[i];
}

__global__ void ScaleKernel(float* __restrict__ x, float s, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] *= s;
}

__global__ void SoftmaxKernel(float* __restrict__ x, int64_t n) {
  __shared__ float smem[32];
  float* xr = x + blockIdx.x * n;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, xr[i]);
  m = BlockMax(m, smem);
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float e = expf(xr[i] - m);
    xr[i] = e;
    sum += e;
  }
  sum = BlockSum(sum, smem);
  const float inv = 1.0f / sum;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) xr[i] *= inv;
}

__global__ void F32ToF16Kernel(const float* __restrict__ x, __half* __restrict__ y, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = __float2half_rn(x[i]);
}

}  // namespace

void RmsNorm(const float* x, const float* weight, int64_t n_rows, int64_t n, float eps, float* y,
             cudaStream_t stream) {
  if (n_rows <= 0) return;
  const int threads = n >= 4096 ? 1024 : (n >= 1024 ? 512 : 256);
  RmsNormKernel<<<static_cast<unsigned>(n_rows), threads, 0, stream>>>(x, weight, n, eps, y);
  CUDA_CHECK_LAUNCH();
}

void Rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_dims,
          const int32_t* pos, float freq_base, float freq_scale, bool neox,
          const float* freq_factors, cudaStream_t stream) {
  if (n_dims % 2 != 0 || n_dims > head_dim) KernelFail(__FILE__, __LINE__, "Rope: bad n_dims");
  const int64_t n = n_tokens * n_heads * (n_dims / 2);
  if (n <= 0) return;
  const float theta_scale = powf(freq_base, -2.0f / static_cast<float>(n_dims));
  RopeKernel<<<Blocks(n), kThreads, 0, stream>>>(x, n_tokens, n_heads, head_dim, n_dims, pos,
                                                  theta_scale, freq_scale, neox, freq_factors);
  CUDA_CHECK_LAUNCH();
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream) {
  if (n <= 0) return;
  SwiGluKernel<<<Blocks(n), kThreads, 0, stream>>>(gate, up, n, out);
  CUDA_CHECK_LAUNCH();
}

void GeGlu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream) {
  if (n <= 0) return;
  GeGluKernel<<<Blocks(n), kThreads, 0, stream>>>(gate, up, n, out);
  CUDA_CHECK_LAUNCH();
}

void Add(float* x, const float* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  AddKernel<<<Blocks(n), kThreads, 0, stream>>>(x, y, n);
  CUDA_CHECK_LAUNCH();
}

void Scale(float* x, float s, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  ScaleKernel<<<Blocks(n), kThreads, 0, stream>>>(x, s, n);
  CUDA_CHECK_LAUNCH();
}

void SoftmaxRows(float* x, int64_t n_rows, int64_t n, cudaStream_t stream) {
  if (n_rows <= 0) return;
  SoftmaxKernel<<<static_cast<unsigned>(n_rows), kThreads, 0, stream>>>(x, n);
  CUDA_CHECK_LAUNCH();
}

void F32ToF16(const float* x, uint16_t* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  F32ToF16Kernel<<<Blocks(n), kThreads, 0, stream>>>(x, reinterpret_cast<__half*>(y), n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
