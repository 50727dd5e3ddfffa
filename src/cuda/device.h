// The CUDA device as ember uses it: discovery, a stream, a cuBLAS handle, owned device memory.
//
// Nothing here runs at static-initialisation time, so programs linked with ember_cuda start
// (and list their tests) on machines without a GPU; DeviceCount() answers 0 there.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

struct cublasContext;

namespace ember::cuda {

// Usable CUDA devices; 0 when there is no driver, no device, or the runtime refuses.
int DeviceCount();
// "NVIDIA H100 80GB HBM3, cc 9.0, 132 SMs, 79.1 GiB".
std::string DeviceSummary(int device = 0);

// Owns a cudaMalloc'd allocation.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }
  // Grows (never shrinks) to at least `bytes`; contents are not kept.
  void Reserve(size_t bytes);

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// A device, a non-blocking stream on it and a cuBLAS handle bound to that stream.
class Context {
 public:
  explicit Context(int device = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasContext* cublas() const { return cublas_; }
  int sm_count() const { return sm_count_; }
  void Synchronize() const;

  // Host <-> device copies on the stream (synchronous for the host side when sync is true).
  void Upload(void* dst, const void* src, size_t bytes, bool sync = false) const;
  void Download(void* dst, const void* src, size_t bytes) const;

 private:
  int device_;
  int sm_count_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasContext* cublas_ = nullptr;
};

// Device-to-device copy bandwidth in GB/s (bytes read + bytes written per second), the ceiling
// against which ember reports achieved bandwidth. Copies `bytes` a few times and takes the best.
double MeasureCopyBandwidth(const Context& ctx, size_t bytes = size_t{1} << 30);

}  // namespace ember::cuda
