// ModelConfig: the hyper-parameters of a decoder-only transformer, read from GGUF metadata.
//
// Keys are looked up under the file's architecture prefix ("<arch>.block_count", ...), so one
// reader serves every family. Besides the Llama baseline, the config carries the switches of the
// file's family (model/family.h: RoPE style, activation, biases, fused matrices, extra norms,
// embedding scale, soft-capping, sliding window); it describes a model, it does not implement one.
#pragma once

#include <cstdint>
#include <string>

#include "model/family.h"

namespace ember {

class GgufFile;

enum class NormType { kRmsNorm, kLayerNorm };

struct ModelConfig {
  std::string arch;   // general.architecture
  std::string name;   // general.name (for messages)
  int64_t n_vocab = 0;
  int64_t n_embd = 0;       // model width
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;    // grouped-query attention: n_head % n_head_kv == 0
  int64_t head_dim = 0;     // per-head width of Q and K
  int64_t head_dim_v = 0;   // per-head width of V
  int64_t n_ff = 0;         // feed-forward width
  int64_t n_ctx_train = 0;  // context length the model was trained with
  float norm_eps = 1e-5f;
  NormType norm = NormType::kRmsNorm;
  Activation activation = Activation::kSilu;  // gated: act(gate) * up

  RopeStyle rope_style = RopeStyle::kNormal;
  int64_t rope_dims = 0;         // dimensions rotated per head (<= head_dim)
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / linear scaling factor
  bool has_rope_freqs = false;   // per-dimension factors tensor rope_freqs.weight (Llama 3.1+)
  // YaRN (rope.scaling.type = yarn), as llama.cpp's context parameters: ext_factor 1 blends the
  // interpolated and original frequencies across the correction dimensions; attn_factor scales
  // cos/sin. 0 and 1 without YaRN.
  float rope_ext_factor = 0.0f;
  float rope_attn_factor = 1.0f;
  int64_t rope_n_ctx_orig = 0;    // rope.scaling.original_context_length (else n_ctx_train)
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;

  // Switches of other families (model/family.h); all off for llama.
  bool attn_bias = false;             // biases on Q/K/V projections (the file has them)
  bool fused_qkv = false;             // attn_qkv.weight: Q, K and V rows in one matrix (ditto)
  bool fused_gate_up = false;         // ffn_up.weight: gate rows then up rows
  bool qk_norm = false;               // RMSNorm on Q and K heads
  bool post_norms = false;            // RMSNorm on the attention / FFN outputs before each add
  bool scale_q = false;               // attn_scale applied to Q, the scores then taken as they are
  float embedding_scale = 1.0f;       // multiply token embeddings (gemma: sqrt(n_embd))
  float attn_logit_softcap = 0.0f;    // 0 = none
  float final_logit_softcap = 0.0f;   // 0 = none
  int64_t sliding_window = 0;         // 0 = full attention
  int64_t swa_pattern = 0;            // see Family::swa_pattern
  float rope_freq_base_swa = 10000.0f;  // RoPE base of the sliding layers when swa_pattern > 0
  bool tied_output = false;           // no output.weight: logits use token_embd.weight

  float attn_scale = 0.0f;  // 1/sqrt(head_dim)

  // Whether layer il attends through the sliding window (then with rope_freq_base_swa when the
  // family interleaves local and global layers).
  bool IsSlidingLayer(int64_t il) const {
    if (sliding_window <= 0) return false;
    return swa_pattern <= 0 || il % swa_pattern < swa_pattern - 1;
  }
  // What this config asks of a forward pass beyond the Llama baseline ("Q/K norms, GeGLU, ..."),
  // empty for a plain Llama model: lets a backend that only runs Llama refuse the rest by name.
  std::string BeyondLlama() const;

  int64_t q_width() const { return n_head * head_dim; }
  int64_t kv_width() const { return n_head_kv * head_dim; }
  int64_t v_width() const { return n_head_kv * head_dim_v; }

  // Reads and checks the config. A missing, mistyped or inconsistent key is an ember::Error
  // naming the file and the key; an architecture ember does not run yet is refused by name.
  static ModelConfig FromGguf(const GgufFile& file);

  // One line: "llama, 30 layers, width 576, 9 heads (3 KV), head dim 64, ff 1536, ..."
  std::string Summary() const;
};

}  // namespace ember
