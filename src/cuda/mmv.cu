// Quantized matrix-vector product for decode: y = W x, W read in its GGUF blocks directly.
//
// One warp computes kRows consecutive rows; lane i takes chunks (32 elements) i, i + 32, ...,
// decodes them to registers (Chunk<T>::Decode) and dots them with the matching 32 floats of x,
// which it loads once per chunk as 16-byte loads and reuses for all kRows rows. A warp's lanes read
// consecutive chunks, so each load instruction of the warp covers one contiguous span of the row:
// the weight stream is coalesced, and every weight byte is read exactly once.
#include "cuda/common.cuh"
#include "cuda/cuda_check.h"
#include "cuda/dequant.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRows = 2;  // rows per warp: x is loaded once for both

template <GgmlType T>
__global__ void __launch_bounds__(kWarps * 32)
    MatVecKernel(const uint8_t* __restrict__ w, uint64_t row_bytes, int64_t n_in, int64_t n_out,
                 const float* __restrict__ x, float* __restrict__ y) {
  const int lane = threadIdx.x % 32;
  const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32) * kRows;
  if (row0 >= n_out) return;
  const int64_t n_chunks = n_in / 32;
  float acc[kRows] = {};
  for (int64_t c = lane; c < n_chunks; c += 32) {
    float xv[32];
    const float4* xp = reinterpret_cast<const float4*>(x) + c * 8;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const float4 f = xp[i];
      xv[4 * i] = f.x, xv[4 * i + 1] = f.y, xv[4 * i + 2] = f.z, xv[4 * i + 3] = f.w;
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      if (row0 + r < n_out) {
        float v[32];
        Chunk<T>::Decode(w + (row0 + r) * row_bytes, c, v);
        float s = 0.0f;
#pragma unroll
        for (int j = 0; j < 32; ++j) s = fmaf(v[j], xv[j], s);
        acc[r] += s;
      }
    }
  }
  if constexpr (kIsFloatType<T>) {
    // Float formats allow any width: the last n_in % 32 elements one per lane.
    const int64_t i = n_chunks * 32 + lane;
    if (i < n_in) {
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        if (row0 + r < n_out) acc[r] += Chunk<T>::One(w + (row0 + r) * row_bytes, i) * x[i];
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const float s = WarpSum(acc[r]);
    if (lane == 0 && row0 + r < n_out) y[row0 + r] = s;
  }
}

}  // namespace

bool SupportsWeightType(GgmlType type) {
  switch (type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q4_0:
    case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q8_0:
    case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: case GgmlType::Q5_K:
    case GgmlType::Q6_K: case GgmlType::IQ4_NL: case GgmlType::IQ4_XS:
      return true;
    default:
      return false;
  }
}

void MatVec(GgmlType type, const void* w, uint64_t row_bytes, int64_t n_in, int64_t n_out,
            const float* x, float* y, cudaStream_t stream) {
  const int64_t rows_per_block = kWarps * kRows;
  const dim3 grid(static_cast<unsigned>(CeilDiv(n_out, rows_per_block)));
  const bool ok = DispatchType(type, [&]<GgmlType T>() {
    MatVecKernel<T><<<grid, kWarps * 32, 0, stream>>>(static_cast<const uint8_t*>(w), row_bytes,
                                                       n_in, n_out, x, y);
  });
  if (!ok) KernelFail(__FILE__, __LINE__, "MatVec: unsupported weight type");
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
