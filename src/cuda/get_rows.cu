// Row dequantization: embedding lookup (GetRows, to F32) and whole-matrix dequantization to F16
// (the tensor-core GEMM's operand). One thread decodes one 32-element chunk and writes it with
// 16-byte stores; float formats' tails (n % 32) are written one element per thread.
#include <cuda_fp16.h>

#include "cuda/common.cuh"
#include "cuda/cuda_check.h"
#include "cuda/dequant.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {
namespace {

constexpr int kThreads = 128;

template <GgmlType T>
__global__ void GetRowsKernel(const uint8_t* __restrict__ w, uint64_t row_bytes, int64_t n_in,
                              const int32_t* __restrict__ ids, float* __restrict__ out) {
  const int64_t r = blockIdx.y;
  const uint8_t* row = w + static_cast<uint64_t>(ids[r]) * row_bytes;
  float* dst = out + r * n_in;
  const int64_t n_chunks = n_in / 32;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (c < n_chunks) {
    float v[32];
    Chunk<T>::Decode(row, c, v);
    // dst + 32c is 16-byte aligned only when n_in % 4 == 0 (always for quantized rows).
    if (n_in % 4 == 0) {
      float4* o = reinterpret_cast<float4*>(dst + c * 32);
#pragma unroll
      for (int i = 0; i < 8; ++i) o[i] = make_float4(v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]);
    } else {
#pragma unroll
      for (int i = 0; i < 32; ++i) dst[c * 32 + i] = v[i];
    }
  }
  if constexpr (kIsFloatType<T>) {
    const int64_t i = n_chunks * 32 + c;
    if (c < 32 && i < n_in) dst[i] = Chunk<T>::One(row, i);
  }
}

template <GgmlType T>
__global__ void ToF16Kernel(const uint8_t* __restrict__ w, uint64_t row_bytes, int64_t n_in,
                            __half* __restrict__ out) {
  const int64_t r = blockIdx.y;
  const uint8_t* row = w + static_cast<uint64_t>(r) * row_bytes;
  __half* dst = out + r * n_in;
  const int64_t n_chunks = n_in / 32;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (c < n_chunks) {
    float v[32];
    Chunk<T>::Decode(row, c, v);
    if (n_in % 8 == 0) {
      uint4* o = reinterpret_cast<uint4*>(dst + c * 32);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        __half2 h[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) h[j] = __floats2half2_rn(v[8 * i + 2 * j], v[8 * i + 2 * j + 1]);
        o[i] = *reinterpret_cast<uint4*>(h);
      }
    } else {
#pragma unroll
      for (int i = 0; i < 32; ++i) dst[c * 32 + i] = __float2half_rn(v[i]);
    }
  }
  if constexpr (kIsFloatType<T>) {
    const int64_t i = n_chunks * 32 + c;
    if (c < 32 && i < n_in) dst[i] = __float2half_rn(Chunk<T>::One(row, i));
  }
}

// Enough threads for every chunk and, for float formats, the up-to-31 tail elements.
dim3 ChunkGrid(int64_t n_in, int64_t n_rows) {
  const int64_t n_chunks = n_in / 32;
  const int64_t threads = n_chunks > 32 ? n_chunks : 32;
  return dim3(static_cast<unsigned>(CeilDiv(threads, kThreads)), static_cast<unsigned>(n_rows));
}

}  // namespace

void GetRows(GgmlType type, const void* w, uint64_t row_bytes, int64_t n_in, const int32_t* ids,
             int64_t n, float* out, cudaStream_t stream) {
  if (n <= 0) return;
  if (n > 65535) KernelFail(__FILE__, __LINE__, "GetRows: more than 65535 rows in one call");
  const dim3 grid = ChunkGrid(n_in, n);
  const bool ok = DispatchType(type, [&]<GgmlType T>() {
    GetRowsKernel<T><<<grid, kThreads, 0, stream>>>(static_cast<const uint8_t*>(w), row_bytes,
                                                    n_in, ids, out);
  });
  if (!ok) KernelFail(__FILE__, __LINE__, "GetRows: unsupported weight type");
  CUDA_CHECK_LAUNCH();
}

void DequantizeToF16(GgmlType type, const void* w, uint64_t row_bytes, int64_t n_in,
                     int64_t n_rows, uint16_t* out, cudaStream_t stream) {
  // gridDim.y is limited to 65535 rows: walk taller matrices (the output matrix) in slabs.
  constexpr int64_t kSlab = 65535;
  for (int64_t r0 = 0; r0 < n_rows; r0 += kSlab) {
    const int64_t rows = n_rows - r0 < kSlab ? n_rows - r0 : kSlab;
    const dim3 grid = ChunkGrid(n_in, rows);
    const uint8_t* src = static_cast<const uint8_t*>(w) + static_cast<uint64_t>(r0) * row_bytes;
    __half* dst = reinterpret_cast<__half*>(out) + r0 * n_in;
    const bool ok = DispatchType(type, [&]<GgmlType T>() {
      ToF16Kernel<T><<<grid, kThreads, 0, stream>>>(src, row_bytes, n_in, dst);
    });
    if (!ok) KernelFail(__FILE__, __LINE__, "DequantizeToF16: unsupported weight type");
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace ember::cuda
