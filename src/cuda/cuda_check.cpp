// Turns CUDA and cuBLAS failures into ember::Error with the call, the reason and file:line.
#include "cuda/cuda_check.h"

#include <cublas_v2.h>

#include "core/error.h"

namespace ember::cuda {

void CudaFail(const char* file, int line, const char* expr, cudaError_t err) {
  // Clear a sticky-free error so that a caller who catches and carries on is not re-reported.
  (void)cudaGetLastError();
  Fail("CUDA error at {}:{}: {} failed: {} ({})", file, line, expr, cudaGetErrorString(err),
       cudaGetErrorName(err));
}

void CublasFail(const char* file, int line, const char* expr, int status) {
  Fail("cuBLAS error at {}:{}: {} failed: {} ({})", file, line, expr,
       cublasGetStatusString(static_cast<cublasStatus_t>(status)), status);
}

void KernelFail(const char* file, int line, const char* what) {
  Fail("CUDA kernel launch refused at {}:{}: {}", file, line, what);
}

}  // namespace ember::cuda
