// --device and --ngl / --n-gpu-layers for the commands that run a model (run, bench, logits...),
// meaning what they mean in llama.cpp: --ngl N puts the LAST N layers on the GPU (more than the
// layer count also the output; 99 = everything), the rest stay on the CPU backend.
//
//   --device auto  (default) the GPU with every layer when ember has CUDA and a device is present
//                  (as current llama.cpp), else the CPU; --ngl 0 keeps everything on the CPU
//   --device cuda  the GPU (an error without one); --device cpu  the CPU
//
// Use: DeviceFlags flags; AddDeviceFlags(cmd, flags); ... auto gpu = UseDevice(flags, model,
// session_options); -- keep `gpu` alive as long as the Session. llama.cpp's spelling `-ngl`
// (a multi-letter short flag CLI11 refuses) is rewritten to --ngl by NormalizeLlamaCppFlags().
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "core/error.h"
#include "model/model.h"
#include "runtime/session.h"
#ifdef EMBER_HAS_CUDA
#include "cuda/cuda_model.h"
#include "cuda/device.h"
#endif

namespace ember::cli {

struct DeviceFlags {
  std::string device = "auto";
  int n_gpu_layers = -1;  // -1: not given
};

inline void AddDeviceFlags(CLI::App* cmd, DeviceFlags& f) {
  cmd->add_option("--device", f.device, "auto, cuda or cpu")
      ->check(CLI::IsMember({"auto", "cuda", "cpu"}))
      ->capture_default_str();
  cmd->add_option("--ngl,--n-gpu-layers", f.n_gpu_layers,
                  "Layers on the GPU, the last ones (99: all, with the output); 0: CPU only");
}

// llama.cpp's multi-letter short flags, which CLI11 refuses, rewritten before CLI11 sees them:
// `-ngl 99` -> `--ngl 99`, `-tb 4` -> `--tb 4`.
inline void NormalizeLlamaCppFlags(int argc, char** argv) {
  static char kNgl[] = "--ngl";
  static char kTb[] = "--tb";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-ngl") == 0) argv[i] = kNgl;
    if (std::strcmp(argv[i], "-tb") == 0) argv[i] = kTb;
  }
}

// For reports on the GPU: the bytes of weights a decode step reads there and the device's
// measured copy bandwidth (GB/s, read + write; measured once). {0, 0} on the CPU.
struct GpuRoofline {
  uint64_t bytes_per_token = 0;
  double copy_gbs = 0.0;
};
inline GpuRoofline GpuRooflineOf(const std::shared_ptr<void>& gpu) {
#ifdef EMBER_HAS_CUDA
  if (gpu) {
    auto* m = static_cast<cuda::CudaModel*>(gpu.get());
    return {m->gpu_bytes_per_token(), m->copy_bandwidth_gbs()};
  }
#else
  (void)gpu;
#endif
  return {};
}

// Sets options.forward to the GPU pass when the flags (and the machine) ask for it; returns the
// object that owns the GPU state (null on the CPU).
inline std::shared_ptr<void> UseDevice(const DeviceFlags& f, const Model& model,
                                       SessionOptions& options, bool show_progress = true) {
  const bool want_cpu = f.device == "cpu" || f.n_gpu_layers == 0;
  if (want_cpu) return nullptr;
#ifdef EMBER_HAS_CUDA
  if (f.device == "auto" && cuda::DeviceCount() == 0) return nullptr;
  // --device auto keeps a family the GPU pass does not run on the CPU (--device cuda refuses it).
  if (f.device == "auto" && f.n_gpu_layers < 0 && !model.config().BeyondLlama().empty()) {
    std::fprintf(stderr, "note: the CUDA backend runs Llama-style models only; %s runs on the CPU\n",
                 model.config().arch.c_str());
    return nullptr;
  }
  cuda::CudaModelOptions o;
  o.n_gpu_layers = f.n_gpu_layers < 0 ? 999 : f.n_gpu_layers;
  o.show_progress = show_progress;
  const int64_t n_ctx = ResolveContextSize(model.config(), options.n_ctx);
  auto gpu = std::make_shared<cuda::CudaModel>(model, n_ctx, o);
  std::fprintf(stderr, "%s\n", gpu->Summary().c_str());
  options.forward = [g = gpu.get()](KvCache& cache, std::span<const int32_t> tokens, int64_t pos0,
                                    const ForwardOptions& fo, std::vector<float>& logits) {
    g->Forward(cache, tokens, pos0, fo, logits);
  };
  return gpu;
#else
  (void)model;
  (void)options;
  (void)show_progress;
  if (f.device == "cuda" || f.n_gpu_layers > 0) {
    Fail("this ember was built without CUDA: --device cuda / --ngl need -DEMBER_CUDA=ON");
  }
  return nullptr;
#endif
}

}  // namespace ember::cli
