// The writer behind `ember fast-synth` and `ember synth --like`: a random-weight llama GGUF of a
// well-known shape in seconds (random quantized blocks with small valid scales), for speed
// measurements only (its outputs mean nothing).
#pragma once

#include <cstdint>
#include <string>

namespace ember::cli {

struct FastSynthShape {
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx = 4096;
  float rope_base = 10000.0f;
};

struct FastSynthOptions {
  std::string out, vocab_from;
  // tinyllama-1.1b (or tinyllama), llama2-7b, mistral-7b, llama3-8b, smollm2-135m, or custom.
  std::string shape = "tinyllama";
  std::string type = "q4_0";  // a ggml type name, or q4_k_m (llama.cpp's mix)
  FastSynthShape custom;
  uint64_t seed = 1;
};

// The shape names accepted, for help texts and errors.
inline constexpr const char* kFastSynthShapes = "tinyllama-1.1b, llama2-7b, mistral-7b, llama3-8b, smollm2-135m";

void WriteFastSynth(const FastSynthOptions& o);

}  // namespace ember::cli
