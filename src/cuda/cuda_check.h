// CUDA_CHECK / CUBLAS_CHECK: every CUDA runtime and cuBLAS call in ember goes through one of these.
//
// A failing call throws ember::Error naming the call, the CUDA error string and file:line, so a
// GPU failure (out of memory, no device, a kernel fault surfacing at the next sync) is one clear
// line at the CLI boundary instead of a crash. CUDA_CHECK_LAUNCH checks the last launch error.
// This header is light (no fmt): it is included by .cu files compiled with nvcc.
#pragma once

#include <cuda_runtime_api.h>

namespace ember::cuda {

[[noreturn]] void CudaFail(const char* file, int line, const char* expr, cudaError_t err);
[[noreturn]] void CublasFail(const char* file, int line, const char* expr, int status);
// A launcher asked for something its kernels do not do (an unsupported type or size).
[[noreturn]] void KernelFail(const char* file, int line, const char* what);

}  // namespace ember::cuda

#define CUDA_CHECK(expr)                                                              \
  do {                                                                                \
    const cudaError_t ember_cuda_err_ = (expr);                                       \
    if (ember_cuda_err_ != cudaSuccess) [[unlikely]]                                  \
      ::ember::cuda::CudaFail(__FILE__, __LINE__, #expr, ember_cuda_err_);            \
  } while (0)

#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#define CUBLAS_CHECK(expr)                                                            \
  do {                                                                                \
    const int ember_cublas_status_ = static_cast<int>(expr);                          \
    if (ember_cublas_status_ != 0) [[unlikely]]                                       \
      ::ember::cuda::CublasFail(__FILE__, __LINE__, #expr, ember_cublas_status_);     \
  } while (0)
