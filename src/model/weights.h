// Weights: typed views of the tensors of a GGUF model, pointing into the file's memory map.
//
// Nothing is copied or dequantized at load: a matrix product reads the quantized rows in place
// (or, for some types, a re-laid-out copy the backend makes on first use: WeightPack).
// A GGUF matrix with ne = {n_in, n_out} is n_out rows of n_in contiguous elements (ne[0] is the
// contiguous axis), i.e. PyTorch's (n_out, n_in) Linear weight; y = W x is one dot product per row.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gguf/ggml_type.h"
#include "model/model_config.h"

namespace ember {

class GgufFile;

// A copy of a matrix in the layout a backend's kernels prefer (the CPU's interleaved row groups,
// cpu/repack.h), made by the backend on first use. Every copy of a view shares it, so it lives
// as long as the model's weights; `source` records what it was made from, and a view whose data
// is elsewhere does not use it.
struct WeightPack {
  std::mutex mu;
  std::atomic<bool> ready{false};
  const uint8_t* source = nullptr;
  int layout = 0;  // the backend's own numbering
  std::unique_ptr<uint8_t[]> bytes;
};

struct WeightView {
  std::string name;
  GgmlType type = GgmlType::F32;
  int64_t n_in = 0;        // ne[0]: elements per row (contiguous)
  int64_t n_out = 0;       // ne[1]: rows
  uint64_t row_bytes = 0;  // bytes per row in `type`
  const uint8_t* data = nullptr;
  std::shared_ptr<WeightPack> pack;  // matrices only (null for vectors)

  const uint8_t* Row(int64_t r) const { return data + static_cast<uint64_t>(r) * row_bytes; }
  uint64_t bytes() const { return row_bytes * static_cast<uint64_t>(n_out); }
  bool valid() const { return data != nullptr; }
  // F32 vector weights (norms, biases) read as floats.
  const float* f32() const { return reinterpret_cast<const float*>(data); }
};

// A view is invalid (data == nullptr) where the family has no such tensor.
struct LayerWeights {
  WeightView attn_norm;    // (n_embd) F32
  WeightView wq;           // (n_embd -> n_head * head_dim)
  WeightView wk;           // (n_embd -> n_head_kv * head_dim)
  WeightView wv;           // (n_embd -> n_head_kv * head_dim)
  WeightView wqkv;         // (n_embd -> q + k + v widths), fused_qkv instead of wq, wk, wv
  WeightView bqkv;         // (q + k + v widths) F32, a fused bias (attn_bias with wqkv)
  WeightView bq, bk, bv;   // (q / kv / v width) F32, attn_bias
  WeightView q_norm;       // (head_dim) F32, qk_norm
  WeightView k_norm;       // (head_dim) F32, qk_norm
  WeightView wo;           // (n_head * head_dim -> n_embd)
  WeightView attn_post_norm;  // (n_embd) F32, post_norms
  WeightView ffn_norm;     // (n_embd) F32
  WeightView ffn_gate;     // (n_embd -> n_ff); invalid with fused_gate_up
  WeightView ffn_up;       // (n_embd -> n_ff), or (n_embd -> 2 n_ff): gate rows then up rows
  WeightView ffn_down;     // (n_ff -> n_embd)
  WeightView ffn_post_norm;   // (n_embd) F32, post_norms
};

struct Weights {
  WeightView token_embd;   // (n_embd -> n_vocab): n_vocab rows of n_embd
  WeightView output_norm;  // (n_embd) F32
  WeightView output;       // (n_embd -> n_vocab); token_embd itself when tied
  WeightView rope_freqs;   // (rope_dims / 2) F32, optional per-frequency divisors (Llama 3.1+)
  std::vector<LayerWeights> layers;

  // Resolves and checks every tensor the config needs: name present, shape and type as
  // expected. Reads no weight. Missing tensors are an ember::Error listing them (all of them, up
  // to a dozen names); a misshapen one an error naming it and both shapes.
  static Weights FromGguf(const GgufFile& file, const ModelConfig& config);
  // Every matrix of the model once (the output only when it is not token_embd).
  std::vector<const WeightView*> Matrices() const;
  // Bytes of weights read to produce one token (every matrix once; the embedding row is tiny).
  uint64_t BytesPerToken() const;
};

}  // namespace ember
