// Model families: what one architecture (GGUF `general.architecture`) does differently from the
// Llama baseline, as a row of switches. The forward pass (model/forward.h) is written once and
// reads these switches; adding a family is adding a row (family.cpp), plus any tensor or key the
// row needs in model_config.cpp / weights.cpp -- never a copy of the pass. What llama.cpp accepts
// in every family is not a switch but read from the file: a fused attn_qkv.weight in place of
// Q, K and V, and biases on them (Qwen 2 files have them, Phi-3 files fuse QKV).
//
// The facts per family are llama.cpp's (src/models/<arch>.cpp and its converter), because GGUF
// files are written by that converter: e.g. Gemma's RMSNorm multiplies by (1 + w) in Hugging Face,
// but the converter stores w + 1, so every family multiplies by the stored weight as it is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ember {

// How RoPE pairs the dimensions of a head. GGUF 'llama' files have Q/K rows permuted by the
// converter so that rotation acts on ADJACENT pairs (x[2i], x[2i+1]) -- ggml's rope mode 0.
// NeoX-style families (qwen2, gemma3, phi3...) rotate x[i] with x[i + n_rot/2] -- ggml mode 2.
enum class RopeStyle { kNormal, kNeox };
enum class Activation { kSilu, kGeluTanh };

struct Family {
  std::string_view arch;           // general.architecture
  RopeStyle rope_style = RopeStyle::kNormal;
  Activation activation = Activation::kSilu;  // gated feed-forward: act(gate) * up
  bool fused_gate_up = false;      // blk.N.ffn_up.weight holds gate then up, 2 * n_ff rows (phi3)
  bool qk_norm = false;            // RMSNorm of each Q and K head before RoPE (gemma3)
  bool post_norms = false;         // RMSNorm of the attention and FFN outputs before each add (gemma3)
  bool embedding_scale_sqrt = false;  // token embeddings times sqrt(n_embd) (gemma)
  bool scale_q = false;            // Q is scaled before attention, not the scores (gemma, phi3):
                                   // the same maths, but llama.cpp rounds the scaled Q to F16
  // Sliding-window attention from <arch>.attention.sliding_window. llama.cpp reads that key only
  // for some families: for llama (Mistral files carry it), qwen2 and phi3 it attends over the
  // whole context, and so does ember, since agreeing with llama.cpp is the contract.
  bool sliding_window = false;
  // With a window: 0 = every layer slides; n = layer il slides unless il % n == n - 1 (gemma3:
  // five local layers, then one global), overridable by <arch>.attention.sliding_window_pattern.
  int64_t swa_pattern = 0;
};

// The family of `arch`, or null when ember does not run it.
const Family* FindFamily(std::string_view arch);
// "llama, gemma3, qwen2, phi3" (for messages).
std::string SupportedFamilies();

}  // namespace ember
