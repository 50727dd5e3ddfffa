// Device discovery, owned device memory, stream + cuBLAS context, copy-bandwidth measurement.
#include "cuda/device.h"

#include <cublas_v2.h>
#include <fmt/format.h>

#include <utility>

#include "core/error.h"
#include "cuda/cuda_check.h"

namespace ember::cuda {

int DeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver / no device: not an error for the caller
    return 0;
  }
  return n;
}

std::string DeviceSummary(int device) {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return fmt::format("{}, cc {}.{}, {} SMs, {:.1f} GiB", prop.name, prop.major, prop.minor,
                     prop.multiProcessorCount,
                     static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
}

DeviceBuffer::DeviceBuffer(size_t bytes) { Reserve(bytes); }

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ != nullptr) (void)cudaFree(ptr_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_ != nullptr) (void)cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::Reserve(size_t bytes) {
  if (bytes <= bytes_) return;
  if (ptr_ != nullptr) {
    CUDA_CHECK(cudaFree(ptr_));
    ptr_ = nullptr;
    bytes_ = 0;
  }
  const cudaError_t err = cudaMalloc(&ptr_, bytes);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    ptr_ = nullptr;
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    Fail("cannot allocate {:.1f} MiB on the GPU ({}); {:.1f} MiB free of {:.1f} MiB",
         static_cast<double>(bytes) / 1048576.0, cudaGetErrorString(err),
         static_cast<double>(free_b) / 1048576.0, static_cast<double>(total_b) / 1048576.0);
  }
  bytes_ = bytes;
}

Context::Context(int device) : device_(device) {
  const int n = DeviceCount();
  if (n == 0) Fail("no CUDA device is available (check the driver and CUDA_VISIBLE_DEVICES)");
  if (device < 0 || device >= n) Fail("CUDA device {} does not exist ({} available)", device, n);
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  cublasHandle_t handle = nullptr;
  CUBLAS_CHECK(cublasCreate(&handle));
  cublas_ = handle;
  CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
}

Context::~Context() {
  if (cublas_ != nullptr) (void)cublasDestroy(cublas_);
  if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
}

void Context::Synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void Context::Upload(void* dst, const void* src, size_t bytes, bool sync) const {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
  if (sync) Synchronize();
}

void Context::Download(void* dst, const void* src, size_t bytes) const {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  Synchronize();
}

double MeasureCopyBandwidth(const Context& ctx, size_t bytes) {
  DeviceBuffer a(bytes), b(bytes);
  CUDA_CHECK(cudaMemsetAsync(a.get(), 1, bytes, ctx.stream()));
  cudaEvent_t start = nullptr, stop = nullptr;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  double best_ms = 1e30;
  for (int i = 0; i < 6; ++i) {  // the first is a warm-up
    CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
    CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
    CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (i > 0 && ms < best_ms) best_ms = ms;
  }
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  return 2.0 * static_cast<double>(bytes) / (best_ms * 1e-3) / 1e9;
}

}  // namespace ember::cuda
