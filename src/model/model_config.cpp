#include "model/model_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"

namespace ember {
namespace {

int64_t PositiveKey(const GgufFile& f, const std::string& key) {
  const uint64_t v = f.GetUnsigned(key);
  if (v == 0 || v > (1ull << 31)) Fail("{}: metadata key '{}' = {} is out of range", f.path(), key, v);
  return static_cast<int64_t>(v);
}

// The switches of `family`, and the keys only some families have.
void ReadFamilySwitches(const GgufFile& f, const Family& family, ModelConfig& c) {
  const std::string p = c.arch + ".";
  c.activation = family.activation;
  // What every family may have, as llama.cpp: read from the tensors present.
  c.attn_bias = f.FindTensor("blk.0.attn_q.bias") != nullptr ||
                f.FindTensor("blk.0.attn_qkv.bias") != nullptr;
  c.fused_qkv = f.FindTensor("blk.0.attn_qkv.weight") != nullptr;
  c.fused_gate_up = family.fused_gate_up;
  c.qk_norm = family.qk_norm;
  c.post_norms = family.post_norms;
  c.scale_q = family.scale_q;
  // llama.cpp: ggml_scale(embeddings, sqrtf(n_embd)).
  if (family.embedding_scale_sqrt) c.embedding_scale = std::sqrt(static_cast<float>(c.n_embd));
  // Gemma 3 27B (62 layers) scales by 1/sqrt(n_embd / n_head), not the head dimension (llama.cpp,
  // after gemma_pytorch's config).
  if (c.arch == "gemma3" && c.n_layer == 62) {
    c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_head));
  }
  // Phi-3's long-context files choose per-dimension RoPE factors by context length; not done.
  if (f.FindTensor("rope_factors_long.weight") != nullptr ||
      f.FindTensor("rope_factors_short.weight") != nullptr) {
    Fail("{}: long-context RoPE factors (rope_factors_long/short.weight) are not supported yet",
         f.path());
  }
  c.final_logit_softcap = static_cast<float>(f.GetFloatOr(p + "final_logit_softcapping", 0.0));
  c.attn_logit_softcap = static_cast<float>(f.GetFloatOr(p + "attn_logit_softcapping", 0.0));
  if (c.final_logit_softcap < 0.0f || c.attn_logit_softcap < 0.0f) {
    Fail("{}: a negative logit soft-capping value", f.path());
  }
  if (family.sliding_window && f.Has(p + "attention.sliding_window")) {
    c.sliding_window = static_cast<int64_t>(f.GetUnsigned(p + "attention.sliding_window"));
    c.swa_pattern = family.swa_pattern;
    if (c.sliding_window > 0 && c.swa_pattern > 0) {
      if (f.Has(p + "attention.sliding_window_pattern")) {
        c.swa_pattern = PositiveKey(f, p + "attention.sliding_window_pattern");
      }
      c.rope_freq_base_swa = static_cast<float>(f.GetFloatOr(p + "rope.freq_base_swa", 10000.0));
    }
  }
}

}  // namespace

ModelConfig ModelConfig::FromGguf(const GgufFile& f) {
  ModelConfig c;
  c.arch = f.architecture();
  c.name = f.GetStringOr("general.name", "");
  if (c.arch.empty()) Fail("{}: metadata key 'general.architecture' is missing", f.path());
  const Family* family = FindFamily(c.arch);
  if (family == nullptr) {
    Fail("{}: architecture '{}' is not supported (supported: {})", f.path(), c.arch,
         SupportedFamilies());
  }
  const std::string p = c.arch + ".";
  c.n_embd = PositiveKey(f, p + "embedding_length");
  c.n_layer = PositiveKey(f, p + "block_count");
  c.n_head = PositiveKey(f, p + "attention.head_count");
  c.n_head_kv = f.Has(p + "attention.head_count_kv") ? PositiveKey(f, p + "attention.head_count_kv")
                                                      : c.n_head;
  c.n_ff = PositiveKey(f, p + "feed_forward_length");
  c.n_ctx_train = PositiveKey(f, p + "context_length");
  if (c.n_head % c.n_head_kv != 0) {
    Fail("{}: '{}attention.head_count' = {} is not a multiple of '{}attention.head_count_kv' = {}",
         f.path(), p, c.n_head, p, c.n_head_kv);
  }
  if (f.Has(p + "attention.key_length")) {
    c.head_dim = PositiveKey(f, p + "attention.key_length");
  } else {
    if (c.n_embd % c.n_head != 0) {
      Fail("{}: '{}embedding_length' = {} is not a multiple of '{}attention.head_count' = {}",
           f.path(), p, c.n_embd, p, c.n_head);
    }
    c.head_dim = c.n_embd / c.n_head;
  }
  c.head_dim_v = f.Has(p + "attention.value_length") ? PositiveKey(f, p + "attention.value_length")
                                                     : c.head_dim;
  if (c.head_dim_v != c.head_dim) {
    Fail("{}: '{}attention.value_length' = {} differs from the key length {} (not supported)",
         f.path(), p, c.head_dim_v, c.head_dim);
  }
  c.norm_eps = static_cast<float>(f.GetFloat(p + "attention.layer_norm_rms_epsilon"));
  if (!(c.norm_eps > 0.0f) || c.norm_eps > 0.1f) {
    Fail("{}: '{}attention.layer_norm_rms_epsilon' = {} is out of range", f.path(), p, c.norm_eps);
  }

  c.rope_style = family->rope_style;
  c.rope_dims = f.Has(p + "rope.dimension_count") ? PositiveKey(f, p + "rope.dimension_count")
                                                  : c.head_dim;
  if (c.rope_dims > c.head_dim || c.rope_dims % 2 != 0) {
    Fail("{}: '{}rope.dimension_count' = {} must be even and at most the head dimension {}",
         f.path(), p, c.rope_dims, c.head_dim);
  }
  c.rope_freq_base = static_cast<float>(f.GetFloatOr(p + "rope.freq_base", 10000.0));
  if (!(c.rope_freq_base > 1.0f) || !std::isfinite(c.rope_freq_base)) {
    Fail("{}: '{}rope.freq_base' = {} is out of range", f.path(), p, c.rope_freq_base);
  }
  // Linear RoPE scaling: the new key pair, or the older single key llama.cpp still reads.
  const std::string scaling = f.GetStringOr(p + "rope.scaling.type", "");
  double factor = f.GetFloatOr(p + "rope.scaling.factor", 0.0);
  if (factor == 0.0) factor = f.GetFloatOr(p + "rope.scale_linear", 0.0);
  if (scaling == "" || scaling == "none" || scaling == "linear" || scaling == "llama3") {
    // "llama3" scaling is carried by the rope_freqs tensor, not by a factor.
    if (scaling != "llama3" && factor != 0.0 && factor != 1.0) {
      if (!(factor > 0.0)) Fail("{}: '{}rope.scaling.factor' = {} is out of range", f.path(), p, factor);
      c.rope_freq_scale = static_cast<float>(1.0 / factor);
    }
  } else if (scaling == "yarn") {
    if (!(factor > 0.0)) Fail("{}: '{}rope.scaling.factor' = {} is out of range for YaRN", f.path(), p, factor);
    c.rope_freq_scale = static_cast<float>(1.0 / factor);
    // llama_context's YaRN set-up, in the same float steps (see docs/design.md, RoPE scaling).
    const float fac = 1.0f / c.rope_freq_scale;
    auto get_mscale = [](float scale, float mscale) {
      return scale <= 1.0f ? 1.0f : (0.1f * mscale * std::log(scale) + 1.0f);
    };
    const float log_mul = static_cast<float>(f.GetFloatOr(p + "rope.scaling.yarn_log_multiplier", 0.0));
    c.rope_ext_factor = 1.0f;
    c.rope_attn_factor = log_mul != 0.0f ? get_mscale(fac, 1.0f) / get_mscale(fac, log_mul) : get_mscale(fac, 1.0f);
    c.rope_attn_factor *= 1.0f / (1.0f + 0.1f * std::log(fac));
  } else {
    Fail("{}: '{}rope.scaling.type' = '{}' is not supported yet (supported: none, linear, yarn)",
         f.path(), p, scaling);
  }
  c.rope_attn_factor *= static_cast<float>(f.GetFloatOr(p + "rope.scaling.attn_factor", 1.0));
  c.rope_n_ctx_orig = static_cast<int64_t>(f.GetFloatOr(p + "rope.scaling.original_context_length", 0.0));
  if (c.rope_n_ctx_orig <= 0) c.rope_n_ctx_orig = c.n_ctx_train;
  c.has_rope_freqs = f.FindTensor("rope_freqs.weight") != nullptr;

  const GgufTensorInfo& embd = f.GetTensor("token_embd.weight");
  if (embd.shape.size() != 2 || embd.ne(0) != static_cast<uint64_t>(c.n_embd)) {
    Fail("{}: tensor 'token_embd.weight' has shape [{}], expected [{}, n_vocab]", f.path(),
         fmt::join(embd.shape, ", "), c.n_embd);
  }
  c.n_vocab = static_cast<int64_t>(embd.ne(1));
  if (f.Has(p + "vocab_size") && f.GetUnsigned(p + "vocab_size") != embd.ne(1)) {
    Fail("{}: '{}vocab_size' = {} but 'token_embd.weight' has {} rows", f.path(), p,
         f.GetUnsigned(p + "vocab_size"), embd.ne(1));
  }
  c.tied_output = f.FindTensor("output.weight") == nullptr;
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ReadFamilySwitches(f, *family, c);
  return c;
}

std::string ModelConfig::BeyondLlama() const {
  std::vector<std::string> what;
  if (rope_style != RopeStyle::kNormal) what.push_back("NeoX RoPE");
  if (activation != Activation::kSilu) what.push_back("GeGLU");
  if (attn_bias) what.push_back("Q/K/V biases");
  if (fused_qkv || fused_gate_up) what.push_back("fused matrices");
  if (qk_norm) what.push_back("Q/K norms");
  if (post_norms) what.push_back("post-attention/FFN norms");
  if (scale_q) what.push_back("Q pre-scaling");
  if (embedding_scale != 1.0f) what.push_back("embedding scale");
  if (attn_logit_softcap != 0.0f || final_logit_softcap != 0.0f) what.push_back("logit soft-capping");
  if (sliding_window > 0) what.push_back("sliding-window attention");
  if (rope_ext_factor != 0.0f || rope_attn_factor != 1.0f) what.push_back("YaRN RoPE scaling");
  return fmt::format("{}", fmt::join(what, ", "));
}

std::string ModelConfig::Summary() const {
  return fmt::format(
      "{}, {} layers, width {}, {} heads ({} KV), head dim {}, ff {}, vocab {}, ctx {}, rope base {}{}",
      arch, n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx_train,
      rope_freq_base, tied_output ? ", tied output" : "");
}

}  // namespace ember
