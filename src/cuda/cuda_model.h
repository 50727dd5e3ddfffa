// CudaModel: the Llama forward pass (model/llama.h's LlamaForward, step for step) with weights,
// activations and the KV cache on an NVIDIA GPU.
//
// The Backend interface passes host pointers op by op; a GPU pass that copied every activation
// across PCIe would be slower than the CPU, so the CUDA path runs the whole pass here over
// device buffers and only the tokens go in and the logits come out. Partial offload follows
// llama.cpp's -ngl: the LAST n_gpu_layers layers run on the GPU, the earlier ones on the CPU
// backend (with the host KV cache), and the output projection joins the GPU when n_gpu_layers
// exceeds the layer count (-ngl 99 = everything). A decode step that runs wholly on the GPU is
// captured once as a CUDA graph and replayed: positions are read on the device, so one graph
// serves every position.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "model/llama.h"
#include "model/model.h"

namespace ember::cuda {

struct CudaModelOptions {
  int n_gpu_layers = 999;     // -ngl; >= n_layer + 1 puts everything on the GPU
  int device = 0;
  bool show_progress = false; // progress bar while uploading weights
  bool cuda_graph = true;     // replay decode steps from a captured graph
};

class CudaModel {
 public:
  // Uploads the GPU layers' weights (once) and allocates the device KV cache of n_ctx positions.
  CudaModel(const Model& model, int64_t n_ctx, const CudaModelOptions& options);
  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  // LlamaForward's contract. host_cache holds the keys/values of the layers on the CPU (it must
  // have at least n_ctx positions); the GPU layers' live on the device.
  void Forward(KvCache& host_cache, std::span<const int32_t> tokens, int64_t pos0,
               const ForwardOptions& options, std::vector<float>& logits);

  int64_t gpu_layers() const;        // layers on the GPU
  bool output_on_gpu() const;
  uint64_t gpu_weight_bytes() const;  // bytes of weights uploaded
  // Bytes of weights a decode step reads on the GPU (for GB/s reports).
  uint64_t gpu_bytes_per_token() const;
  std::string Summary() const;        // device, offload split, memory
  // Measured device-to-device copy bandwidth (GB/s, read + write), measured once on first use.
  double copy_bandwidth_gbs();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::cuda
