// `ember gpu-bench`: the CUDA backend measured and checked on one model -- prompt processing
// (pp, one batch) and generation (tg, one token per step) in tokens/s, the GB/s of weights read
// per generated token against the device's measured copy bandwidth, and, with --compare-cpu, the
// GPU's logits and greedy continuation against the CPU backend's on the same tokens.
// Output: human-readable lines plus one machine-readable "RESULT key=value ..." line.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "model/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/llama.h"
#include "model/model.h"
#include "runtime/model_path.h"
#ifdef EMBER_HAS_CUDA
#include "cuda/cuda_model.h"
#endif

namespace ember::cli {
namespace {

struct GpuBenchOptions {
  std::string model;
  int n_prompt = 512;
  int n_gen = 128;
  int reps = 3;
  int n_gpu_layers = 99;
  bool compare_cpu = false;
  int compare_tokens = 32;
  int compare_gen = 16;
  bool no_graph = false;
};

#ifdef EMBER_HAS_CUDA
double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int32_t> RandomTokens(int64_t n, int64_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(n_vocab - 1));
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = dist(rng);
  return t;
}

int32_t Argmax(const float* v, int64_t n) {
  return static_cast<int32_t>(std::max_element(v, v + n) - v);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// GPU vs CPU on the same random prompt: NMSE of all prompt logits, top-1 agreement, and whether
// the greedy continuations are identical.
void CompareWithCpu(const Model& model, const GpuBenchOptions& o, std::string& result) {
  const ModelConfig& c = model.config();
  const int64_t n_ctx = o.compare_tokens + o.compare_gen + 1;
  const std::vector<int32_t> prompt = RandomTokens(o.compare_tokens, c.n_vocab, 7);
  ForwardOptions all;
  all.all_logits = true;
  auto greedy = [&](auto&& forward, std::vector<float>& prompt_logits) {
    forward(std::span<const int32_t>(prompt), int64_t{0}, all, prompt_logits);
    std::vector<int32_t> out;
    int32_t tok = Argmax(prompt_logits.data() + (prompt.size() - 1) * c.n_vocab, c.n_vocab);
    std::vector<float> logits;
    for (int i = 0; i < o.compare_gen; ++i) {
      out.push_back(tok);
      forward(std::span<const int32_t>(&tok, 1), static_cast<int64_t>(prompt.size()) + i,
              ForwardOptions{}, logits);
      tok = Argmax(logits.data(), c.n_vocab);
    }
    return out;
  };
  CpuBackend cpu;
  KvCache cpu_cache(c, n_ctx, GgmlType::F16);
  std::vector<float> cpu_logits, gpu_logits;
  const auto cpu_tokens = greedy(
      [&](std::span<const int32_t> t, int64_t p, const ForwardOptions& fo, std::vector<float>& l) {
        LlamaForward(model, cpu, cpu_cache, t, p, fo, l);
      },
      cpu_logits);
  cuda::CudaModelOptions mo;
  mo.n_gpu_layers = o.n_gpu_layers;
  mo.cuda_graph = !o.no_graph;
  cuda::CudaModel gpu(model, n_ctx, mo);
  KvCache host_cache(c, n_ctx, GgmlType::F16);
  const auto gpu_tokens = greedy(
      [&](std::span<const int32_t> t, int64_t p, const ForwardOptions& fo, std::vector<float>& l) {
        gpu.Forward(host_cache, t, p, fo, l);
      },
      gpu_logits);
  double num = 0.0, den = 0.0, max_abs = 0.0;
  int64_t top1_same = 0;
  const int64_t rows = static_cast<int64_t>(prompt.size());
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = gpu_logits.data() + r * c.n_vocab;
    const float* b = cpu_logits.data() + r * c.n_vocab;
    top1_same += Argmax(a, c.n_vocab) == Argmax(b, c.n_vocab);
    for (int64_t i = 0; i < c.n_vocab; ++i) {
      const double d = static_cast<double>(a[i]) - b[i];
      num += d * d;
      den += static_cast<double>(b[i]) * b[i];
      max_abs = std::max(max_abs, std::fabs(d));
    }
  }
  const double nmse = den > 0.0 ? num / den : num;
  const bool same = cpu_tokens == gpu_tokens;
  int first_diff = -1;
  for (size_t i = 0; i < cpu_tokens.size() && first_diff < 0; ++i) {
    if (cpu_tokens[i] != gpu_tokens[i]) first_diff = static_cast<int>(i);
  }
  std::printf("compare: GPU vs CPU logits over %lld prompt tokens: NMSE %.3g, max |diff| %.4g, "
              "top-1 agree %lld/%lld; greedy %d tokens %s%s\n",
              static_cast<long long>(rows), nmse, max_abs, static_cast<long long>(top1_same),
              static_cast<long long>(rows), o.compare_gen, same ? "identical" : "DIFFER",
              same ? "" : fmt::format(" (first at {})", first_diff).c_str());
  result += fmt::format(" nmse={:.3g} top1={}/{} greedy={}", nmse, top1_same, rows,
                        same ? "same" : fmt::format("differ@{}", first_diff));
}

void Run(const GpuBenchOptions& o) {
  const std::string path = ResolveModelPath(o.model);
  auto model = Model::Load(path, false);
  const ModelConfig& c = model->config();
  if (o.n_prompt < 1 || o.n_gen < 0 || o.reps < 1) Fail("-p must be >= 1, -n >= 0, -r >= 1");
  std::printf("model: %s\n%s\n", path.c_str(), c.Summary().c_str());
  const int64_t n_ctx = std::max<int64_t>(o.n_prompt, o.n_gen + 1);
  cuda::CudaModelOptions mo;
  mo.n_gpu_layers = o.n_gpu_layers;
  mo.cuda_graph = !o.no_graph;
  mo.show_progress = true;
  auto t_load = std::chrono::steady_clock::now();
  cuda::CudaModel gpu(*model, n_ctx, mo);
  std::printf("%s (upload %.2f s)\n", gpu.Summary().c_str(), Seconds(t_load));
  const double bw = gpu.copy_bandwidth_gbs();
  std::printf("device copy bandwidth: %.0f GB/s (read + write)\n", bw);
  KvCache host_cache(c, gpu.gpu_layers() == c.n_layer ? 1 : n_ctx, GgmlType::F16);

  std::vector<float> logits;
  const std::vector<int32_t> prompt = RandomTokens(o.n_prompt, c.n_vocab, 1);
  gpu.Forward(host_cache, prompt, 0, ForwardOptions{}, logits);  // warm-up (cuBLAS, caches)
  std::vector<double> pp_s;
  for (int r = 0; r < o.reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    gpu.Forward(host_cache, prompt, 0, ForwardOptions{}, logits);
    pp_s.push_back(Seconds(t0));
  }
  const double pp_tps = o.n_prompt / Median(pp_s);
  std::printf("pp%d: %.1f tokens/s (median of %d, %.2f ms)\n", o.n_prompt, pp_tps, o.reps,
              1e3 * Median(pp_s));

  double tg_tps = 0.0, tg_gbs = 0.0;
  if (o.n_gen > 0) {
    std::vector<double> tg_s;
    for (int r = 0; r < o.reps; ++r) {
      int32_t tok = prompt[0];
      gpu.Forward(host_cache, std::span<const int32_t>(&tok, 1), 0, ForwardOptions{}, logits);
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < o.n_gen; ++i) {
        gpu.Forward(host_cache, std::span<const int32_t>(&tok, 1), i, ForwardOptions{}, logits);
        tok = Argmax(logits.data(), c.n_vocab);
      }
      tg_s.push_back(Seconds(t0));
    }
    tg_tps = o.n_gen / Median(tg_s);
    tg_gbs = tg_tps * static_cast<double>(gpu.gpu_bytes_per_token()) / 1e9;
    std::printf("tg%d: %.1f tokens/s, %.0f GB/s of weights (%.1f MB/token) = %.0f%% of the copy "
                "bandwidth\n",
                o.n_gen, tg_tps, tg_gbs, static_cast<double>(gpu.gpu_bytes_per_token()) / 1e6,
                100.0 * tg_gbs / bw);
  }
  std::string result = fmt::format(
      "RESULT model={} ngl={} pp{}={:.1f} tg{}={:.1f} tg_gbs={:.0f} copy_gbs={:.0f} bw_pct={:.0f}",
      path.substr(path.find_last_of('/') + 1), o.n_gpu_layers, o.n_prompt, pp_tps, o.n_gen, tg_tps,
      tg_gbs, bw, bw > 0 ? 100.0 * tg_gbs / bw : 0.0);
  if (o.compare_cpu) CompareWithCpu(*model, o, result);
  std::printf("%s\n", result.c_str());
}
#else
void Run(const GpuBenchOptions&) {
  Fail("this ember was built without CUDA (configure with -DEMBER_CUDA=ON where nvcc is installed)");
}
#endif

}  // namespace

void RegisterGpuBench(CLI::App& app) {
  auto o = std::make_shared<GpuBenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "gpu-bench", "Measure the CUDA backend (pp/tg tokens/s, GB/s vs copy bandwidth), compare with the CPU");
  cmd->add_option("-m,--model", o->model, "GGUF model (default: the default model)");
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens (pp)")->capture_default_str();
  cmd->add_option("-n,--n-gen", o->n_gen, "Generated tokens (tg)")->capture_default_str();
  cmd->add_option("-r,--repetitions", o->reps, "Repetitions (median reported)")->capture_default_str();
  // CLI11 takes one-letter short names only: llama.cpp's -ngl is spelled --ngl here.
  cmd->add_option("--ngl,--n-gpu-layers", o->n_gpu_layers,
                  "Layers on the GPU (the last ones; > layer count also the output)")->capture_default_str();
  cmd->add_flag("--compare-cpu", o->compare_cpu, "Also compare logits and greedy tokens with the CPU");
  cmd->add_option("--compare-tokens", o->compare_tokens, "Prompt tokens for --compare-cpu")->capture_default_str();
  cmd->add_option("--compare-gen", o->compare_gen, "Greedy tokens for --compare-cpu")->capture_default_str();
  cmd->add_flag("--no-graph", o->no_graph, "Launch decode kernels one by one (no CUDA graph)");
  cmd->callback([o] { Run(*o); });
}

}  // namespace ember::cli
