// Synthetic models: random-weight GGUF files of any shape and weight type in the llama, qwen2
// (with Q/K/V biases), phi3 (fused QKV and gate/up) or gemma3 (Q/K norms, post-norms, a sliding
// window) layout, for tests and benchmarks. The vocabulary (every tokenizer.* key) is copied from a real GGUF so
// llama.cpp loads the file too; the weights come from a seeded generator, so the same spec always
// gives the same bytes.
#pragma once

#include <cstdint>
#include <string>

#include "gguf/ggml_type.h"

namespace ember {

struct SynthSpec {
  std::string vocab_from;   // GGUF whose tokenizer.* metadata is copied (its vocab size is used)
  std::string arch = "llama";  // llama, qwen2, phi3 or gemma3: keys and tensors as llama.cpp names them
  int64_t sliding_window = 0;  // <arch>.attention.sliding_window (0: none)
  int64_t n_embd = 256;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 4;
  int64_t head_dim = 0;     // 0: n_embd / n_head
  int64_t n_ff = 512;
  int64_t n_ctx = 2048;
  float rope_base = 10000.0f;
  float rope_linear = 0.0f;  // linear RoPE scaling factor (0 = none)
  float rope_yarn = 0.0f;    // YaRN scaling factor (0 = none)
  int64_t yarn_orig_ctx = 0; // rope.scaling.original_context_length with YaRN (0: not written)
  bool rope_freqs = false;   // add a rope_freqs.weight tensor (Llama 3.1 style factors)
  float norm_eps = 1e-5f;
  bool tied = true;          // no output.weight
  GgmlType type = GgmlType::F32;         // attention and feed-forward matrices
  GgmlType embd_type = GgmlType::F32;    // token_embd.weight
  GgmlType output_type = GgmlType::F32;  // output.weight when untied
  uint64_t seed = 1;
};

// Writes the model to `path`. Throws ember::Error for an impossible spec (a width not a multiple
// of a type's block size, heads not dividing, ...), naming the field.
void WriteSynthModel(const SynthSpec& spec, const std::string& path);

}  // namespace ember
