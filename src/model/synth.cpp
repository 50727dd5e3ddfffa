#include "model/synth.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "quant/quant.h"

namespace ember {
namespace {

// Deterministic standard normals (Box-Muller on a 64-bit Mersenne twister): std::normal_distribution
// is implementation-defined, and the files must be identical everywhere.
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}
  float Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(rng_() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(2.0 * M_PI * u2));
  }

 private:
  std::mt19937_64 rng_;
  float spare_ = 0.0f;
  bool has_spare_ = false;
};

uint64_t TensorSeed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

void CheckBlock(GgmlType type, int64_t n, const char* what) {
  if (!RowBytes(type, static_cast<uint64_t>(n))) {
    Fail("synth: {} = {} is not a multiple of {}'s block size {}", what, n, GgmlTypeName(type),
         TraitsOf(type).block_size);
  }
}

}  // namespace

void WriteSynthModel(const SynthSpec& s, const std::string& path) {
  if (s.vocab_from.empty()) Fail("synth: a vocabulary source GGUF is needed (--vocab-from)");
  const GgufFile vocab = GgufFile::Open(s.vocab_from);
  const int64_t n_vocab =
      static_cast<int64_t>(vocab.GetArray("tokenizer.ggml.tokens").size());
  if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ff <= 0) {
    Fail("synth: widths, layers and heads must be positive");
  }
  if (s.n_head % s.n_head_kv != 0) {
    Fail("synth: heads {} is not a multiple of KV heads {}", s.n_head, s.n_head_kv);
  }
  const int64_t head_dim = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head;
  if (s.head_dim == 0 && s.n_embd % s.n_head != 0) {
    Fail("synth: width {} is not a multiple of heads {}", s.n_embd, s.n_head);
  }
  if (head_dim % 2 != 0) Fail("synth: head dimension {} must be even", head_dim);
  const int64_t q_width = s.n_head * head_dim;
  const int64_t kv_width = s.n_head_kv * head_dim;
  CheckBlock(s.type, s.n_embd, "width");
  CheckBlock(s.type, q_width, "heads x head dim");
  CheckBlock(s.type, s.n_ff, "feed-forward width");
  CheckBlock(s.embd_type, s.n_embd, "width");
  if (!s.tied) CheckBlock(s.output_type, s.n_embd, "width");

  const std::string& a = s.arch;
  if (a != "llama" && a != "qwen2" && a != "phi3" && a != "gemma3") {
    Fail("synth: architecture '{}' is not one synth writes (llama, qwen2, phi3, gemma3)", a);
  }
  const std::string p = a + ".";
  GgufWriter w;
  w.Set("general.architecture", GgufValue::String(a));
  w.Set("general.name", GgufValue::String("ember synthetic"));
  w.Set(p + "block_count", GgufValue::U32(static_cast<uint32_t>(s.n_layer)));
  w.Set(p + "context_length", GgufValue::U32(static_cast<uint32_t>(s.n_ctx)));
  w.Set(p + "embedding_length", GgufValue::U32(static_cast<uint32_t>(s.n_embd)));
  w.Set(p + "feed_forward_length", GgufValue::U32(static_cast<uint32_t>(s.n_ff)));
  w.Set(p + "attention.head_count", GgufValue::U32(static_cast<uint32_t>(s.n_head)));
  w.Set(p + "attention.head_count_kv", GgufValue::U32(static_cast<uint32_t>(s.n_head_kv)));
  if (s.sliding_window > 0) {
    w.Set(p + "attention.sliding_window", GgufValue::U32(static_cast<uint32_t>(s.sliding_window)));
  }
  if (head_dim * s.n_head != s.n_embd || a == "gemma3") {
    w.Set(p + "attention.key_length", GgufValue::U32(static_cast<uint32_t>(head_dim)));
    w.Set(p + "attention.value_length", GgufValue::U32(static_cast<uint32_t>(head_dim)));
  }
  w.Set(p + "rope.freq_base", GgufValue::F32(s.rope_base));
  w.Set(p + "rope.dimension_count", GgufValue::U32(static_cast<uint32_t>(head_dim)));
  if (s.rope_linear > 0.0f && s.rope_yarn > 0.0f) Fail("synth: choose linear or YaRN RoPE scaling, not both");
  if (s.rope_yarn > 0.0f) {
    w.Set(p + "rope.scaling.type", GgufValue::String("yarn"));
    w.Set(p + "rope.scaling.factor", GgufValue::F32(s.rope_yarn));
    if (s.yarn_orig_ctx > 0) {
      w.Set(p + "rope.scaling.original_context_length", GgufValue::U32(static_cast<uint32_t>(s.yarn_orig_ctx)));
    }
  }
  if (s.rope_linear > 0.0f) {
    w.Set(p + "rope.scaling.type", GgufValue::String("linear"));
    w.Set(p + "rope.scaling.factor", GgufValue::F32(s.rope_linear));
  }
  w.Set(p + "attention.layer_norm_rms_epsilon", GgufValue::F32(s.norm_eps));
  w.Set(p + "vocab_size", GgufValue::U32(static_cast<uint32_t>(n_vocab)));
  for (const auto& [key, value] : vocab.metadata()) {
    if (key.rfind("tokenizer.", 0) == 0) w.Set(key, value);
  }

  // A random matrix (n_out rows of n_in), N(0, gain^2 / n_in), quantized to `type`.
  auto matrix = [&](const std::string& name, GgmlType type, int64_t n_in, int64_t n_out, float gain) {
    w.AddTensor(name, type, {static_cast<uint64_t>(n_in), static_cast<uint64_t>(n_out)},
                [=, seed = TensorSeed(s.seed, name)](std::span<uint8_t> dst) {
                  Normal rng(seed);
                  const float scale = gain / std::sqrt(static_cast<float>(n_in));
                  const uint64_t row_bytes = RowBytes(type, static_cast<uint64_t>(n_in)).value();
                  std::vector<float> row(static_cast<size_t>(n_in));
                  for (int64_t r = 0; r < n_out; ++r) {
                    for (float& v : row) v = rng.Next() * scale;
                    QuantizeRow(type, row.data(), dst.data() + static_cast<uint64_t>(r) * row_bytes, n_in);
                  }
                });
  };
  auto vector = [&](const std::string& name, int64_t n, float mean, float spread) {
    w.AddTensor(name, GgmlType::F32, {static_cast<uint64_t>(n)},
                [=, seed = TensorSeed(s.seed, name)](std::span<uint8_t> dst) {
                  Normal rng(seed);
                  for (int64_t i = 0; i < n; ++i) {
                    const float v = mean + spread * rng.Next();
                    std::memcpy(dst.data() + 4 * i, &v, 4);
                  }
                });
  };
  // Embeddings of unit scale; the tied/untied output has a larger gain so that logits spread
  // (std ~4) and the top-1 choice is rarely a near-tie.
  matrix("token_embd.weight", s.embd_type, s.n_embd, n_vocab, std::sqrt(static_cast<float>(s.n_embd)));
  vector("output_norm.weight", s.n_embd, 1.0f, 0.1f);
  if (!s.tied) matrix("output.weight", s.output_type, s.n_embd, n_vocab, 4.0f);
  if (s.rope_freqs) {
    // Llama 3.1's factors: 1 for high frequencies, up to 8 for the lowest.
    w.AddTensor("rope_freqs.weight", GgmlType::F32, {static_cast<uint64_t>(head_dim / 2)},
                [half = head_dim / 2](std::span<uint8_t> dst) {
                  for (int64_t i = 0; i < half; ++i) {
                    const float f = 1.0f + 7.0f * static_cast<float>(i) / static_cast<float>(half - 1 > 0 ? half - 1 : 1);
                    std::memcpy(dst.data() + 4 * i, &f, 4);
                  }
                });
  }
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    vector(b + "attn_norm.weight", s.n_embd, 1.0f, 0.1f);
    if (a == "phi3") {
      matrix(b + "attn_qkv.weight", s.type, s.n_embd, q_width + 2 * kv_width, 1.0f);
    } else {
      matrix(b + "attn_q.weight", s.type, s.n_embd, q_width, 1.0f);
      matrix(b + "attn_k.weight", s.type, s.n_embd, kv_width, 1.0f);
      matrix(b + "attn_v.weight", s.type, s.n_embd, kv_width, 1.0f);
    }
    if (a == "qwen2") {
      vector(b + "attn_q.bias", q_width, 0.0f, 0.5f);
      vector(b + "attn_k.bias", kv_width, 0.0f, 0.5f);
      vector(b + "attn_v.bias", kv_width, 0.0f, 0.5f);
    }
    if (a == "gemma3") {
      vector(b + "attn_q_norm.weight", head_dim, 1.0f, 0.1f);
      vector(b + "attn_k_norm.weight", head_dim, 1.0f, 0.1f);
    }
    matrix(b + "attn_output.weight", s.type, q_width, s.n_embd, 1.0f);
    if (a == "gemma3") vector(b + "post_attention_norm.weight", s.n_embd, 1.0f, 0.1f);
    vector(b + "ffn_norm.weight", s.n_embd, 1.0f, 0.1f);
    if (a == "phi3") {
      matrix(b + "ffn_up.weight", s.type, s.n_embd, 2 * s.n_ff, 1.0f);
    } else {
      matrix(b + "ffn_gate.weight", s.type, s.n_embd, s.n_ff, 1.0f);
      matrix(b + "ffn_up.weight", s.type, s.n_embd, s.n_ff, 1.0f);
    }
    matrix(b + "ffn_down.weight", s.type, s.n_ff, s.n_embd, 1.0f);
    if (a == "gemma3") vector(b + "post_ffw_norm.weight", s.n_embd, 1.0f, 0.1f);
  }
  w.Write(path);
}

}  // namespace ember
