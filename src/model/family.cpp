#include "model/family.h"

#include <array>

namespace ember {
namespace {

// One row per family, in llama.cpp's terms (src/models/<arch>.cpp).
constexpr std::array kFamilies = {
    // Llama, Mistral (whose llama.attention.sliding_window llama.cpp does not apply).
    Family{.arch = "llama"},
    // Gemma 3: GeGLU (tanh GELU), Q/K norms, post-attention and post-FFN norms, sqrt(n_embd)
    // embedding scale, Q scaled before attention, 5 local (sliding) layers then 1 global.
    Family{.arch = "gemma3",
           .rope_style = RopeStyle::kNeox,
           .activation = Activation::kGeluTanh,
           .qk_norm = true,
           .post_norms = true,
           .embedding_scale_sqrt = true,
           .scale_q = true,
           .sliding_window = true,
           .swa_pattern = 6},
    // Qwen 2 / 2.5 (and DeepSeek-R1-Distill-Qwen): NeoX RoPE (their Q/K/V biases are tensors).
    Family{.arch = "qwen2", .rope_style = RopeStyle::kNeox},
    // Phi-3: fused gate/up matrix, NeoX RoPE, Q scaled before attention (its fused QKV is a
    // tensor; llama.cpp disables Phi-3's sliding window).
    Family{.arch = "phi3", .rope_style = RopeStyle::kNeox, .fused_gate_up = true, .scale_q = true},
};

}  // namespace

const Family* FindFamily(std::string_view arch) {
  for (const Family& f : kFamilies) {
    if (f.arch == arch) return &f;
  }
  return nullptr;
}

std::string SupportedFamilies() {
  std::string out;
  for (const Family& f : kFamilies) {
    if (!out.empty()) out += ", ";
    out += f.arch;
  }
  return out;
}

}  // namespace ember
