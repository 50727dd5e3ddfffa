// CudaModel: LlamaForward on the GPU. See cuda_model.h for the offload rules; each step below is
// the same op, in the same order, as model/llama.cpp, so traces line up name for name.
#include "cuda/cuda_model.h"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/progress.h"
#include "cuda/cuda_check.h"
#include "cuda/device.h"
#include "cuda/kernels.h"
#include "model/cpu_backend.h"

namespace ember::cuda {
namespace {

// A weight tensor in device memory, laid out exactly as in the GGUF file.
struct DevWeight {
  GgmlType type = GgmlType::F32;
  int64_t n_in = 0, n_out = 0;
  uint64_t row_bytes = 0;
  const uint8_t* data = nullptr;
  uint64_t bytes() const { return row_bytes * static_cast<uint64_t>(n_out); }
  const float* f32() const { return reinterpret_cast<const float*>(data); }
};

struct DevLayer {
  DevWeight attn_norm, wq, wk, wv, wo, ffn_norm, ffn_gate, ffn_up, ffn_down;
  KvLayerView kv;
};

constexpr uint64_t kAlign = 256;
uint64_t AlignUp(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

struct CudaModel::Impl {
  const Model& model;
  const ModelConfig& c;
  CudaModelOptions opt;
  Context ctx;
  int64_t n_ctx;
  int64_t first_gpu;   // layers [first_gpu, n_layer) run on the GPU
  bool output_gpu;
  DeviceBuffer weight_buf, kv_buf;
  uint64_t weight_bytes = 0;
  std::vector<DevLayer> layers;  // index il - first_gpu
  DevWeight token_embd, output_norm, output;
  const float* rope_freqs = nullptr;
  uint64_t max_matrix_elems = 0, max_n_in = 0;

  // Activations, sized for `cap` tokens. A captured graph refers to these addresses.
  int64_t cap = 0;
  DeviceBuffer d_x, d_h, d_q, d_k, d_v, d_att, d_o, d_gate, d_up, d_ids, d_logits, d_partial;
  DeviceBuffer d_w16, d_x16;
  int32_t* h_io = nullptr;  // pinned: token ids then positions
  cudaGraphExec_t graph = nullptr;
  std::unique_ptr<CpuBackend> cpu;
  double bandwidth = 0.0;

  Impl(const Model& m, int64_t ctx_size, const CudaModelOptions& o)
      : model(m), c(m.config()), opt(o), ctx(o.device), n_ctx(ctx_size) {
    if (o.n_gpu_layers < 0) Fail("-ngl must not be negative (got {})", o.n_gpu_layers);
    // The GPU pass repeats the Llama steps only; another family would give wrong numbers.
    if (const std::string beyond = c.BeyondLlama(); !beyond.empty()) {
      Fail("{}: the CUDA backend runs Llama-style models only; this {} model needs {} "
           "(use --device cpu)", c.name.empty() ? c.arch : c.name, c.arch, beyond);
    }
    const int64_t gpu_layers = std::min<int64_t>(o.n_gpu_layers, c.n_layer);
    first_gpu = c.n_layer - gpu_layers;
    output_gpu = o.n_gpu_layers > c.n_layer;
    if (first_gpu > 0 || !output_gpu) cpu = std::make_unique<CpuBackend>();
    if (gpu_layers > 0) {
      if (c.head_dim % 8 != 0 || c.head_dim > 256 || c.head_dim_v > 256) {
        Fail("{}: head dimension {} is not supported on CUDA (a multiple of 8, at most 256)",
             c.name, c.head_dim);
      }
    }
    Upload();
    AllocateKv();
    CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&h_io), 2 * sizeof(int32_t) * 65536));
  }

  ~Impl() {
    if (graph != nullptr) (void)cudaGraphExecDestroy(graph);
    if (h_io != nullptr) (void)cudaFreeHost(h_io);
  }

  void Upload() {
    const Weights& w = model.weights();
    std::vector<std::pair<const WeightView*, DevWeight*>> todo;
    layers.resize(static_cast<size_t>(c.n_layer - first_gpu));
    for (int64_t il = first_gpu; il < c.n_layer; ++il) {
      const LayerWeights& L = w.layers[static_cast<size_t>(il)];
      DevLayer& D = layers[static_cast<size_t>(il - first_gpu)];
      for (auto [src, dst] : {std::pair{&L.attn_norm, &D.attn_norm}, {&L.wq, &D.wq}, {&L.wk, &D.wk},
                              {&L.wv, &D.wv}, {&L.wo, &D.wo}, {&L.ffn_norm, &D.ffn_norm},
                              {&L.ffn_gate, &D.ffn_gate}, {&L.ffn_up, &D.ffn_up},
                              {&L.ffn_down, &D.ffn_down}}) {
        todo.emplace_back(src, dst);
      }
    }
    if (first_gpu == 0) todo.emplace_back(&w.token_embd, &token_embd);
    const bool tied_shared = output_gpu && first_gpu == 0 && w.output.data == w.token_embd.data;
    if (output_gpu) {
      todo.emplace_back(&w.output_norm, &output_norm);
      if (!tied_shared) todo.emplace_back(&w.output, &output);
    }
    DevWeight freqs;
    if (w.rope_freqs.valid() && !layers.empty()) todo.emplace_back(&w.rope_freqs, &freqs);

    uint64_t total = 0;
    for (auto& [src, dst] : todo) total += AlignUp(src->bytes());
    weight_buf.Reserve(std::max<uint64_t>(total, kAlign));
    ProgressBar bar("uploading weights to the GPU", total, opt.show_progress);
    uint64_t off = 0;
    for (auto& [src, dst] : todo) {
      uint8_t* p = weight_buf.as<uint8_t>() + off;
      // Copy in slices so the bar moves on multi-GB matrices.
      constexpr uint64_t kSlice = uint64_t{64} << 20;
      for (uint64_t done = 0; done < src->bytes(); done += kSlice) {
        const uint64_t n = std::min(kSlice, src->bytes() - done);
        CUDA_CHECK(cudaMemcpy(p + done, src->data + done, n, cudaMemcpyHostToDevice));
        bar.Update(off + done + n);
      }
      *dst = DevWeight{src->type, src->n_in, src->n_out, src->row_bytes, p};
      if (src->n_out > 1) {
        if (!SupportsWeightType(src->type)) {
          Fail("tensor '{}' has type {}, which the CUDA backend does not read", src->name,
               GgmlTypeName(src->type));
        }
        max_matrix_elems = std::max<uint64_t>(max_matrix_elems, static_cast<uint64_t>(src->n_in * src->n_out));
        max_n_in = std::max<uint64_t>(max_n_in, static_cast<uint64_t>(src->n_in));
      }
      off += AlignUp(src->bytes());
    }
    // A copy from pageable memory may return before its DMA lands, and the forward pass runs
    // on a non-blocking stream that does not wait for the legacy one.
    CUDA_CHECK(cudaDeviceSynchronize());
    bar.Finish();
    weight_bytes = total;
    if (tied_shared) output = token_embd;
    if (freqs.data != nullptr) rope_freqs = freqs.f32();
  }

  void AllocateKv() {
    const uint64_t k_row = static_cast<uint64_t>(c.kv_width()) * 2, v_row = static_cast<uint64_t>(c.v_width()) * 2;
    const uint64_t per_layer = AlignUp(k_row * n_ctx) + AlignUp(v_row * n_ctx);
    kv_buf.Reserve(std::max<uint64_t>(per_layer * layers.size(), kAlign));
    for (size_t i = 0; i < layers.size(); ++i) {
      uint8_t* base = kv_buf.as<uint8_t>() + per_layer * i;
      layers[i].kv = KvLayerView{reinterpret_cast<uint16_t*>(base),
                                 reinterpret_cast<uint16_t*>(base + AlignUp(k_row * n_ctx)),
                                 c.kv_width(), c.v_width(), n_ctx};
    }
  }

  void EnsureCapacity(int64_t T) {
    if (T <= cap) return;
    if (graph != nullptr) {
      CUDA_CHECK(cudaGraphExecDestroy(graph));
      graph = nullptr;
    }
    cap = std::max<int64_t>(T, 1);
    auto f = [&](DeviceBuffer& b, int64_t per_token) { b.Reserve(sizeof(float) * per_token * cap); };
    f(d_x, c.n_embd);
    f(d_h, c.n_embd);
    f(d_q, c.q_width());
    f(d_k, c.kv_width());
    f(d_v, c.v_width());
    f(d_att, c.n_head * c.head_dim_v);
    f(d_o, c.n_embd);
    f(d_gate, c.n_ff);
    f(d_up, c.n_ff);
    f(d_ids, 2);
    f(d_logits, output_gpu ? c.n_vocab : 1);
    AttentionShape s = Shape();
    d_partial.Reserve(sizeof(float) * AttentionScratchFloats(s, cap, n_ctx));
    if (cap >= kGemmMinTokens) {
      d_w16.Reserve(2 * max_matrix_elems);
      d_x16.Reserve(2 * max_n_in * cap);
    }
  }

  AttentionShape Shape() const {
    return AttentionShape{c.n_head, c.n_head_kv, c.head_dim, c.head_dim_v, c.attn_scale,
                          c.attn_logit_softcap, c.sliding_window};
  }

  static constexpr int64_t kGemmMinTokens = 4;

  // y (T, n_out) = x (T, n_in) W^T: matrix-vector kernels for a few tokens, else tensor cores.
  void MatMul(const DevWeight& w, const float* x, int64_t T, float* y) {
    const cudaStream_t s = ctx.stream();
    if (T < kGemmMinTokens && (T == 1 || w.n_in % 4 == 0)) {
      for (int64_t t = 0; t < T; ++t) {
        MatVec(w.type, w.data, w.row_bytes, w.n_in, w.n_out, x + t * w.n_in, y + t * w.n_out, s);
      }
      return;
    }
    d_w16.Reserve(2 * static_cast<uint64_t>(w.n_in * w.n_out));
    d_x16.Reserve(2 * static_cast<uint64_t>(w.n_in * T));
    DequantizeToF16(w.type, w.data, w.row_bytes, w.n_in, w.n_out, d_w16.as<uint16_t>(), s);
    GemmF16(ctx.cublas(), d_w16.as<uint16_t>(), w.n_in, w.n_out, x, T, d_x16.as<uint16_t>(), y, s);
  }

  void Trace(const ForwardOptions& o, const char* name, int64_t layer, const DeviceBuffer& b,
             int64_t rows, int64_t cols, int64_t row0 = 0) {
    if (!o.trace) return;
    std::vector<float> host(static_cast<size_t>(rows * cols));
    ctx.Download(host.data(), b.as<float>() + row0 * cols, host.size() * sizeof(float));
    o.trace(name, layer, host.data(), rows, cols);
  }

  // The GPU part of a pass over T tokens whose ids and positions are in d_ids. max_keys bounds
  // the attended keys (n_ctx inside a captured graph).
  void EnqueueLayers(int64_t T, int64_t max_keys, const ForwardOptions& o) {
    const cudaStream_t s = ctx.stream();
    const int32_t* ids = d_ids.as<int32_t>();
    const int32_t* pos = ids + cap;
    float *x = d_x.as<float>(), *h = d_h.as<float>(), *q = d_q.as<float>(), *k = d_k.as<float>();
    float *v = d_v.as<float>(), *att = d_att.as<float>(), *out = d_o.as<float>();
    float *gate = d_gate.as<float>(), *up = d_up.as<float>();
    if (first_gpu == 0) {
      GetRows(token_embd.type, token_embd.data, token_embd.row_bytes, token_embd.n_in, ids, T, x, s);
      Trace(o, "embd", -1, d_x, T, c.n_embd);
    }
    const bool neox = c.rope_style == RopeStyle::kNeox;
    const AttentionShape shape = Shape();
    for (int64_t il = first_gpu; il < c.n_layer; ++il) {
      const DevLayer& L = layers[static_cast<size_t>(il - first_gpu)];
      RmsNorm(x, L.attn_norm.f32(), T, c.n_embd, c.norm_eps, h, s);
      Trace(o, "attn_norm", il, d_h, T, c.n_embd);
      MatMul(L.wq, h, T, q);
      MatMul(L.wk, h, T, k);
      MatMul(L.wv, h, T, v);
      Rope(q, T, c.n_head, c.head_dim, c.rope_dims, pos, c.rope_freq_base, c.rope_freq_scale, neox,
           rope_freqs, s);
      Rope(k, T, c.n_head_kv, c.head_dim, c.rope_dims, pos, c.rope_freq_base, c.rope_freq_scale,
           neox, rope_freqs, s);
      Trace(o, "q", il, d_q, T, c.q_width());
      Trace(o, "k", il, d_k, T, c.kv_width());
      Trace(o, "v", il, d_v, T, c.v_width());
      StoreKv(L.kv, pos, T, k, v, s);
      Attention(L.kv, pos, T, max_keys, q, shape, att, d_partial.as<float>(), s);
      Trace(o, "kqv", il, d_att, T, c.n_head * c.head_dim_v);
      MatMul(L.wo, att, T, out);
      Trace(o, "attn_out", il, d_o, T, c.n_embd);
      Add(x, out, T * c.n_embd, s);
      Trace(o, "ffn_inp", il, d_x, T, c.n_embd);
      RmsNorm(x, L.ffn_norm.f32(), T, c.n_embd, c.norm_eps, h, s);
      Trace(o, "ffn_norm", il, d_h, T, c.n_embd);
      MatMul(L.ffn_gate, h, T, gate);
      MatMul(L.ffn_up, h, T, up);
      if (c.activation == Activation::kGeluTanh) {
        GeGlu(gate, up, T * c.n_ff, gate, s);
      } else {
        SwiGlu(gate, up, T * c.n_ff, gate, s);
      }
      MatMul(L.ffn_down, gate, T, out);
      Trace(o, "ffn_out", il, d_o, T, c.n_embd);
      Add(x, out, T * c.n_embd, s);
      Trace(o, "l_out", il, d_x, T, c.n_embd);
    }
  }

  void EnqueueOutput(int64_t T, int64_t first, const ForwardOptions& o) {
    const int64_t n_out = T - first;
    RmsNorm(d_x.as<float>() + first * c.n_embd, output_norm.f32(), n_out, c.n_embd, c.norm_eps,
            d_h.as<float>(), ctx.stream());
    Trace(o, "result_norm", -1, d_h, n_out, c.n_embd);
    MatMul(output, d_h.as<float>(), n_out, d_logits.as<float>());
    Trace(o, "result_output", -1, d_logits, n_out, c.n_vocab);
  }

  // LlamaForward's steps for layers [0, first_gpu) on the CPU backend, host buffers.
  void CpuLayers(KvCache& cache, std::span<const int32_t> tokens, int64_t pos0,
                 const std::vector<int32_t>& pos, const ForwardOptions& o, std::vector<float>& x) {
    const Weights& w = model.weights();
    const int64_t T = static_cast<int64_t>(tokens.size());
    const size_t rows = static_cast<size_t>(T);
    std::vector<float> h(rows * c.n_embd), q(rows * c.q_width()), k(rows * c.kv_width()),
        v(rows * c.v_width()), att(rows * c.q_width()), out(rows * c.n_embd), gate(rows * c.n_ff),
        up(rows * c.n_ff);
    RopeParams rope{c.head_dim, c.rope_dims, c.rope_freq_base, c.rope_freq_scale, c.rope_style,
                    w.rope_freqs.valid() ? w.rope_freqs.f32() : nullptr};
    AttentionParams ap{c.n_head, c.n_head_kv, c.head_dim, c.attn_scale, c.attn_logit_softcap,
                       c.sliding_window};
    Backend& be = *cpu;
    be.GetRows(w.token_embd, tokens.data(), T, x.data());
    if (o.trace) o.trace("embd", -1, x.data(), T, c.n_embd);
    for (int64_t il = 0; il < first_gpu; ++il) {
      const LayerWeights& L = w.layers[static_cast<size_t>(il)];
      be.RmsNorm(x.data(), L.attn_norm.f32(), T, c.n_embd, c.norm_eps, h.data());
      be.MatMul(L.wq, h.data(), T, q.data());
      be.MatMul(L.wk, h.data(), T, k.data());
      be.MatMul(L.wv, h.data(), T, v.data());
      be.Rope(q.data(), T, c.n_head, pos.data(), rope);
      be.Rope(k.data(), T, c.n_head_kv, pos.data(), rope);
      be.StoreKv(cache, il, pos0, T, k.data(), v.data());
      be.Attention(cache, il, pos0, T, q.data(), ap, att.data());
      be.MatMul(L.wo, att.data(), T, out.data());
      be.Add(x.data(), out.data(), T * c.n_embd);
      be.RmsNorm(x.data(), L.ffn_norm.f32(), T, c.n_embd, c.norm_eps, h.data());
      be.MatMul(L.ffn_gate, h.data(), T, gate.data());
      be.MatMul(L.ffn_up, h.data(), T, up.data());
      be.SwiGlu(gate.data(), up.data(), T * c.n_ff, gate.data());
      be.MatMul(L.ffn_down, gate.data(), T, out.data());
      be.Add(x.data(), out.data(), T * c.n_embd);
      if (o.trace) o.trace("l_out", il, x.data(), T, c.n_embd);
    }
  }

  void Forward(KvCache& cache, std::span<const int32_t> tokens, int64_t pos0,
               const ForwardOptions& o, std::vector<float>& logits) {
    const int64_t T = static_cast<int64_t>(tokens.size());
    if (T == 0) Fail("no tokens to evaluate");
    if (pos0 < 0 || pos0 + T > n_ctx) {
      Fail("{} tokens at position {} do not fit the context of {} tokens", T, pos0, n_ctx);
    }
    if (first_gpu > 0 && pos0 + T > cache.n_ctx()) {
      Fail("{} tokens at position {} do not fit the host context of {} tokens", T, pos0, cache.n_ctx());
    }
    if (T > 65535) Fail("{} tokens in one batch: the CUDA backend takes at most 65535", T);
    for (int64_t t = 0; t < T; ++t) {
      if (tokens[t] < 0 || tokens[t] >= c.n_vocab) {
        Fail("token id {} is outside the vocabulary (0..{})", tokens[t], c.n_vocab - 1);
      }
    }
    EnsureCapacity(T);
    const cudaStream_t s = ctx.stream();
    std::vector<int32_t> pos(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) pos[t] = static_cast<int32_t>(pos0 + t);
    const int64_t first = o.all_logits ? 0 : T - 1;
    const int64_t n_out = T - first;
    std::vector<float> x;
    if (first_gpu > 0) {
      x.resize(static_cast<size_t>(T * c.n_embd));
      CpuLayers(cache, tokens, pos0, pos, o, x);
      if (!layers.empty()) ctx.Upload(d_x.get(), x.data(), x.size() * sizeof(float));
    }
    if (!layers.empty() || output_gpu) {
      // ids at [0, cap), positions at [cap, 2 cap) of d_ids; staged through pinned memory.
      std::memcpy(h_io, tokens.data(), sizeof(int32_t) * T);
      std::memcpy(h_io + T, pos.data(), sizeof(int32_t) * T);
      CUDA_CHECK(cudaMemcpyAsync(d_ids.get(), h_io, sizeof(int32_t) * T, cudaMemcpyHostToDevice, s));
      CUDA_CHECK(cudaMemcpyAsync(d_ids.as<int32_t>() + cap, h_io + T, sizeof(int32_t) * T,
                                 cudaMemcpyHostToDevice, s));
    }
    const bool graphable = T == 1 && opt.cuda_graph && !o.trace && first_gpu == 0 && output_gpu;
    if (graphable) {
      if (graph == nullptr) {
        cudaGraph_t g = nullptr;
        CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
        try {
          EnqueueLayers(1, n_ctx, o);
          EnqueueOutput(1, 0, o);
        } catch (...) {
          (void)cudaStreamEndCapture(s, &g);
          if (g != nullptr) (void)cudaGraphDestroy(g);
          throw;
        }
        CUDA_CHECK(cudaStreamEndCapture(s, &g));
        const cudaError_t err = cudaGraphInstantiate(&graph, g, 0);
        (void)cudaGraphDestroy(g);
        CUDA_CHECK(err);
      }
      CUDA_CHECK(cudaGraphLaunch(graph, s));
    } else if (!layers.empty()) {
      EnqueueLayers(T, pos0 + T, o);
      if (output_gpu) EnqueueOutput(T, first, o);
    }
    logits.resize(static_cast<size_t>(n_out * c.n_vocab));
    if (output_gpu) {
      ctx.Download(logits.data(), d_logits.get(), logits.size() * sizeof(float));
      return;
    }
    // Output on the CPU: bring the residual stream back (when layers ran on the GPU).
    if (!layers.empty()) {
      x.resize(static_cast<size_t>(T * c.n_embd));
      ctx.Download(x.data(), d_x.get(), x.size() * sizeof(float));
    }
    const Weights& w = model.weights();
    std::vector<float> h(static_cast<size_t>(n_out * c.n_embd));
    cpu->RmsNorm(x.data() + first * c.n_embd, w.output_norm.f32(), n_out, c.n_embd, c.norm_eps, h.data());
    if (o.trace) o.trace("result_norm", -1, h.data(), n_out, c.n_embd);
    cpu->MatMul(w.output, h.data(), n_out, logits.data());
    if (o.trace) o.trace("result_output", -1, logits.data(), n_out, c.n_vocab);
  }
};

CudaModel::CudaModel(const Model& model, int64_t n_ctx, const CudaModelOptions& options)
    : impl_(std::make_unique<Impl>(model, n_ctx, options)) {}

CudaModel::~CudaModel() = default;

void CudaModel::Forward(KvCache& host_cache, std::span<const int32_t> tokens, int64_t pos0,
                        const ForwardOptions& options, std::vector<float>& logits) {
  impl_->Forward(host_cache, tokens, pos0, options, logits);
}

int64_t CudaModel::gpu_layers() const { return static_cast<int64_t>(impl_->layers.size()); }
bool CudaModel::output_on_gpu() const { return impl_->output_gpu; }
uint64_t CudaModel::gpu_weight_bytes() const { return impl_->weight_bytes; }

uint64_t CudaModel::gpu_bytes_per_token() const {
  uint64_t n = 0;
  for (const DevLayer& l : impl_->layers) {
    for (const DevWeight* w : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.ffn_gate,
                               &l.ffn_up, &l.ffn_down}) {
      n += w->bytes();
    }
  }
  if (impl_->output_gpu) n += impl_->output.bytes() + impl_->output_norm.bytes();
  return n;
}

std::string CudaModel::Summary() const {
  const Impl& m = *impl_;
  return fmt::format("CUDA {}: {}/{} layers{} on the GPU, {:.1f} MiB of weights, KV cache {:.1f} MiB F16",
                     DeviceSummary(m.opt.device), m.layers.size(), m.c.n_layer,
                     m.output_gpu ? " + output" : "", static_cast<double>(m.weight_bytes) / 1048576.0,
                     static_cast<double>(m.kv_buf.bytes()) / 1048576.0);
}

double CudaModel::copy_bandwidth_gbs() {
  if (impl_->bandwidth == 0.0) impl_->bandwidth = MeasureCopyBandwidth(impl_->ctx);
  return impl_->bandwidth;
}

}  // namespace ember::cuda
