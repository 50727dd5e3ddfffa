// `ember fast-synth`: writes a random-weight llama GGUF of a well-known shape (TinyLlama-1.1B,
// Llama-2-7B, Llama-3-8B, or any given widths) in seconds, for speed benchmarks.
//
// Unlike `ember synth` (normal weights through the reference quantizer: realistic values, one
// core, minutes per billion weights), the quantized blocks here are random bytes whose f16
// scale fields are overwritten with small valid scales, so a multi-GB file costs little more than
// the disk write. Every value is finite and the model runs, but its outputs mean nothing: use it
// for tokens/s and GB/s, and `ember synth` for comparisons of numbers.
//
// Mixes: q4_k_m follows llama.cpp's Q4_K_M recipe (Q4_K matrices; attn_v and ffn_down Q6_K in
// the first and last eighth of the layers and every third layer between; output Q6_K). For the
// other types the output matrix is Q6_K (F16 / Q8_0 models: itself), as llama.cpp's quantizer.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "fast_synth.h"
#include "core/error.h"
#include "core/half.h"
#include "gguf/ggml_type.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace ember::cli {
namespace {

using Shape = FastSynthShape;

Shape ShapeByName(const std::string& name, const Shape& custom) {
  // Llama-architecture hyper-parameters of the published models (their config.json files).
  if (name == "tinyllama" || name == "tinyllama-1.1b") return {2048, 22, 32, 4, 5632, 2048, 10000.0f};
  if (name == "llama2-7b") return {4096, 32, 32, 32, 11008, 4096, 10000.0f};
  if (name == "mistral-7b") return {4096, 32, 32, 8, 14336, 32768, 10000.0f};  // v0.1
  if (name == "llama3-8b") return {4096, 32, 32, 8, 14336, 8192, 500000.0f};
  if (name == "smollm2-135m") return {576, 30, 9, 3, 1536, 8192, 100000.0f};
  if (name == "custom") {
    if (custom.n_embd <= 0 || custom.n_layer <= 0 || custom.n_head <= 0 || custom.n_head_kv <= 0 ||
        custom.n_ff <= 0) {
      Fail("--shape custom needs --embd, --layers, --heads, --kv-heads and --ff");
    }
    return custom;
  }
  Fail("shape '{}' is not one of {} (or custom)", name, kFastSynthShapes);
}

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Offsets of the f16 scale fields in one block of `type` (random bytes there could be NaN/inf).
std::vector<int> ScaleOffsets(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: case GgmlType::IQ4_NL:
    case GgmlType::IQ4_XS: return {0};
    case GgmlType::Q4_1: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K:
      return {0, 2};
    case GgmlType::Q2_K: return {80, 82};
    case GgmlType::Q3_K: return {108};
    case GgmlType::Q6_K: return {208};
    default: Fail("fast-synth: type {} is not supported", GgmlTypeName(type));
  }
}

void FillRandom(GgmlType type, std::span<uint8_t> dst, uint64_t seed) {
  uint64_t s = seed;
  if (type == GgmlType::F32) {
    for (size_t i = 0; i + 4 <= dst.size(); i += 4) {
      const float v = 0.9f + 0.2f * static_cast<float>(SplitMix(s) >> 40) * 0x1.0p-24f;
      std::memcpy(dst.data() + i, &v, 4);
    }
    return;
  }
  if (type == GgmlType::F16 || type == GgmlType::BF16) {
    // Values in [-0.03, 0.03): four per random draw from a 4096-entry table.
    std::vector<uint16_t> table(4096);
    for (size_t i = 0; i < table.size(); ++i) {
      const float v = (static_cast<float>(i) / 4096.0f - 0.5f) * 0.06f;
      table[i] = type == GgmlType::F16 ? FloatToHalf(v) : FloatToBf16(v);
    }
    for (size_t i = 0; i + 8 <= dst.size(); i += 8) {
      const uint64_t r = SplitMix(s);
      uint16_t h[4];
      for (int j = 0; j < 4; ++j) h[j] = table[(r >> (16 * j)) & 4095];
      std::memcpy(dst.data() + i, h, 8);
    }
    return;
  }
  for (size_t i = 0; i + 8 <= dst.size(); i += 8) {
    const uint64_t r = SplitMix(s);
    std::memcpy(dst.data() + i, &r, 8);
  }
  const auto& t = TraitsOf(type);
  const std::vector<int> offsets = ScaleOffsets(type);
  const uint16_t scale = FloatToHalf(type == GgmlType::Q8_0 ? 2e-4f : 2e-3f);
  for (size_t b = 0; b + t.bytes_per_block <= dst.size(); b += t.bytes_per_block) {
    for (int off : offsets) std::memcpy(dst.data() + b + off, &scale, 2);
  }
}

}  // namespace

void WriteFastSynth(const FastSynthOptions& o) {
  if (o.out.empty()) Fail("give the output file with -o FILE.gguf");
  if (o.vocab_from.empty()) Fail("give a GGUF whose vocabulary is copied with --vocab-from");
  const Shape s = ShapeByName(o.shape, o.custom);
  const std::string type_name = o.type;
  const bool q4_k_m = type_name == "q4_k_m" || type_name == "Q4_K_M";
  GgmlType type = GgmlType::Q4_K;
  if (!q4_k_m) {
    auto t = GgmlTypeFromName(type_name);
    if (!t) Fail("--type '{}' is not a ggml type name (or q4_k_m)", type_name);
    type = *t;
  }
  const GgmlType output_type =
      type == GgmlType::F16 || type == GgmlType::F32 || type == GgmlType::Q8_0 ? type : GgmlType::Q6_K;
  const GgufFile vocab = GgufFile::Open(o.vocab_from);
  const int64_t n_vocab = static_cast<int64_t>(vocab.GetArray("tokenizer.ggml.tokens").size());

  GgufWriter w;
  w.Set("general.architecture", GgufValue::String("llama"));
  w.Set("general.name", GgufValue::String(fmt::format("ember fast-synth {} {}", o.shape, o.type)));
  w.Set("llama.block_count", GgufValue::U32(static_cast<uint32_t>(s.n_layer)));
  w.Set("llama.context_length", GgufValue::U32(static_cast<uint32_t>(s.n_ctx)));
  w.Set("llama.embedding_length", GgufValue::U32(static_cast<uint32_t>(s.n_embd)));
  w.Set("llama.feed_forward_length", GgufValue::U32(static_cast<uint32_t>(s.n_ff)));
  w.Set("llama.attention.head_count", GgufValue::U32(static_cast<uint32_t>(s.n_head)));
  w.Set("llama.attention.head_count_kv", GgufValue::U32(static_cast<uint32_t>(s.n_head_kv)));
  w.Set("llama.rope.freq_base", GgufValue::F32(s.rope_base));
  w.Set("llama.rope.dimension_count", GgufValue::U32(static_cast<uint32_t>(s.n_embd / s.n_head)));
  w.Set("llama.attention.layer_norm_rms_epsilon", GgufValue::F32(1e-5f));
  w.Set("llama.vocab_size", GgufValue::U32(static_cast<uint32_t>(n_vocab)));
  for (const auto& [key, value] : vocab.metadata()) {
    if (key.rfind("tokenizer.", 0) == 0) w.Set(key, value);
  }
  uint64_t seed = o.seed * 1000003ull;
  auto tensor = [&](const std::string& name, GgmlType t, std::vector<uint64_t> shape) {
    if (!RowBytes(t, shape[0])) {
      // llama.cpp's quantizer's fallbacks for rows that are not whole 256-element super-blocks
      // (SmolLM2's 576-wide matrices).
      switch (t) {
        case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::IQ4_XS: t = GgmlType::IQ4_NL; break;
        case GgmlType::Q4_K: t = GgmlType::Q5_0; break;
        case GgmlType::Q5_K: t = GgmlType::Q5_1; break;
        case GgmlType::Q6_K: t = GgmlType::Q8_0; break;
        default: break;
      }
    }
    if (!RowBytes(t, shape[0])) {
      Fail("fast-synth: {} has rows of {}, not a multiple of {}'s block size", name, shape[0], GgmlTypeName(t));
    }
    w.AddTensor(name, t, std::move(shape), [t, sd = ++seed](std::span<uint8_t> dst) { FillRandom(t, dst, sd); });
  };
  const uint64_t embd = static_cast<uint64_t>(s.n_embd), ff = static_cast<uint64_t>(s.n_ff);
  const uint64_t kv = static_cast<uint64_t>(s.n_embd / s.n_head * s.n_head_kv);
  tensor("token_embd.weight", type, {embd, static_cast<uint64_t>(n_vocab)});
  tensor("output_norm.weight", GgmlType::F32, {embd});
  tensor("output.weight", output_type, {embd, static_cast<uint64_t>(n_vocab)});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const int64_t eighth = s.n_layer / 8;
    const bool more_bits = l < eighth || l >= 7 * s.n_layer / 8 || (l - eighth) % 3 == 2;
    const GgmlType vd = q4_k_m && more_bits ? GgmlType::Q6_K : type;
    tensor(b + "attn_norm.weight", GgmlType::F32, {embd});
    tensor(b + "attn_q.weight", type, {embd, embd});
    tensor(b + "attn_k.weight", type, {embd, kv});
    tensor(b + "attn_v.weight", vd, {embd, kv});
    tensor(b + "attn_output.weight", type, {embd, embd});
    tensor(b + "ffn_norm.weight", GgmlType::F32, {embd});
    tensor(b + "ffn_gate.weight", type, {embd, ff});
    tensor(b + "ffn_up.weight", type, {embd, ff});
    tensor(b + "ffn_down.weight", vd, {ff, embd});
  }
  w.Write(o.out);
  std::fprintf(stderr, "wrote %s (%s, %s)\n", o.out.c_str(), o.shape.c_str(), o.type.c_str());
}

void RegisterFastSynth(CLI::App& app) {
  auto o = std::make_shared<FastSynthOptions>();
  CLI::App* cmd = app.add_subcommand(
      "fast-synth", "Write a random-weight model of a well-known shape in seconds (speed benchmarks only)");
  cmd->add_option("-o,--output", o->out, "Output GGUF file")->required();
  cmd->add_option("--vocab-from", o->vocab_from, "GGUF whose vocabulary is copied")->required();
  cmd->add_option("--shape", o->shape, std::string(kFastSynthShapes) + " or custom")->capture_default_str();
  cmd->add_option("--type", o->type, "Matrix type (q4_0, q4_k_m, q8_0, f16, ...)")->capture_default_str();
  cmd->add_option("--embd", o->custom.n_embd, "custom: width");
  cmd->add_option("--layers", o->custom.n_layer, "custom: layers");
  cmd->add_option("--heads", o->custom.n_head, "custom: heads");
  cmd->add_option("--kv-heads", o->custom.n_head_kv, "custom: KV heads");
  cmd->add_option("--ff", o->custom.n_ff, "custom: feed-forward width");
  cmd->add_option("--seed", o->seed, "Seed")->capture_default_str();
  cmd->callback([o] { WriteFastSynth(*o); });
}

}  // namespace ember::cli
