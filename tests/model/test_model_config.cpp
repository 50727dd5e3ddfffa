// ModelConfig and Weights from GGUF metadata: the values read, and the clear errors for missing or
// inconsistent keys and tensors.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "golden_util.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace ember {
namespace {

// A minimal llama-shaped file: 1 layer, width 64, 2 heads, 1 KV head, vocab 10, F32 tensors,
// its keys under `arch` (other families then lack their own tensors), without the tensors in `skip`.
GgufWriter Tiny(const std::string& arch, const std::set<std::string>& skip = {}) {
  GgufWriter w;
  w.Set("general.architecture", GgufValue::String(arch));
  w.Set(arch + ".block_count", GgufValue::U32(1));
  w.Set(arch + ".context_length", GgufValue::U32(128));
  w.Set(arch + ".embedding_length", GgufValue::U32(64));
  w.Set(arch + ".feed_forward_length", GgufValue::U32(96));
  w.Set(arch + ".attention.head_count", GgufValue::U32(2));
  w.Set(arch + ".attention.head_count_kv", GgufValue::U32(1));
  w.Set(arch + ".attention.layer_norm_rms_epsilon", GgufValue::F32(1e-6f));
  w.Set(arch + ".rope.freq_base", GgufValue::F32(50000.0f));
  auto add = [&](const std::string& name, std::vector<uint64_t> shape) {
    if (skip.count(name)) return;
    w.AddTensor(name, GgmlType::F32, shape, [](std::span<uint8_t> d) { std::fill(d.begin(), d.end(), 0); });
  };
  add("token_embd.weight", {64, 10});
  add("output_norm.weight", {64});
  add("blk.0.attn_norm.weight", {64});
  add("blk.0.attn_q.weight", {64, 64});
  add("blk.0.attn_k.weight", {64, 32});
  add("blk.0.attn_v.weight", {64, 32});
  add("blk.0.attn_output.weight", {64, 64});
  add("blk.0.ffn_norm.weight", {64});
  add("blk.0.ffn_gate.weight", {64, 96});
  add("blk.0.ffn_up.weight", {64, 96});
  add("blk.0.ffn_down.weight", {96, 64});
  return w;
}

GgufWriter TinyLlama() { return Tiny("llama"); }

std::string ErrorOf(const GgufWriter& w) {
  const std::vector<uint8_t> bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "tiny.gguf");
  try {
    const ModelConfig c = ModelConfig::FromGguf(f);
    Weights::FromGguf(f, c);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelConfig, ReadsLlamaHyperParameters) {
  const std::vector<uint8_t> bytes = TinyLlama().WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "tiny.gguf");
  const ModelConfig c = ModelConfig::FromGguf(f);
  EXPECT_EQ(c.n_layer, 1);
  EXPECT_EQ(c.n_embd, 64);
  EXPECT_EQ(c.n_head, 2);
  EXPECT_EQ(c.n_head_kv, 1);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.rope_dims, 32);  // defaults to the head dimension
  EXPECT_EQ(c.n_ff, 96);
  EXPECT_EQ(c.n_vocab, 10);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope_freq_base, 50000.0f);
  EXPECT_EQ(c.rope_style, RopeStyle::kNormal);
  EXPECT_TRUE(c.tied_output);
  EXPECT_FLOAT_EQ(c.attn_scale, 1.0f / std::sqrt(32.0f));
  const Weights w = Weights::FromGguf(f, c);
  EXPECT_EQ(w.output.data, w.token_embd.data);  // tied: logits read token_embd
  EXPECT_EQ(w.layers[0].wk.n_out, 32);
}

TEST(ModelConfig, LinearRopeScalingBecomesFrequencyScale) {
  GgufWriter w = TinyLlama();
  w.Set("llama.rope.scaling.type", GgufValue::String("linear"));
  w.Set("llama.rope.scaling.factor", GgufValue::F32(4.0f));
  const std::vector<uint8_t> bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "tiny.gguf");
  EXPECT_FLOAT_EQ(ModelConfig::FromGguf(f).rope_freq_scale, 0.25f);
}

TEST(ModelConfig, MissingKeyIsAnErrorNamingIt) {
  GgufWriter w = TinyLlama();
  w.Remove("llama.block_count");
  EXPECT_NE(ErrorOf(w).find("llama.block_count"), std::string::npos) << ErrorOf(w);
}

TEST(ModelConfig, HeadsNotAMultipleOfKvHeadsIsAnError) {
  GgufWriter w = TinyLlama();
  w.Set("llama.attention.head_count_kv", GgufValue::U32(3));
  EXPECT_NE(ErrorOf(w).find("head_count_kv"), std::string::npos) << ErrorOf(w);
}

TEST(ModelConfig, VocabSizeDisagreeingWithEmbeddingIsAnError) {
  GgufWriter w = TinyLlama();
  w.Set("llama.vocab_size", GgufValue::U32(11));
  EXPECT_NE(ErrorOf(w).find("vocab_size"), std::string::npos) << ErrorOf(w);
}

TEST(ModelConfig, UnsupportedArchitectureIsRefusedByName) {
  GgufWriter w = TinyLlama();
  w.Set("general.architecture", GgufValue::String("mamba"));
  const std::string e = ErrorOf(w);
  EXPECT_NE(e.find("'mamba' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("supported: llama, gemma3, qwen2, phi3"), std::string::npos) << e;
}

// A known family whose file lacks the tensors only that family has: every missing one is named
// in one error, raised while tensor names are resolved (Weights::FromGguf reads no weight).
TEST(Weights, KnownFamilyMissingItsOwnTensorsIsRefusedNamingThem) {
  const std::string e = ErrorOf(Tiny("gemma3"));
  EXPECT_NE(e.find("this gemma3 model lacks 4 tensors it needs"), std::string::npos) << e;
  for (const char* name : {"blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight",
                           "blk.0.post_attention_norm.weight", "blk.0.post_ffw_norm.weight"}) {
    EXPECT_NE(e.find(name), std::string::npos) << name << ": " << e;
  }
}

// Several missing tensors: all named in one error (here a whole layer's attention is gone).
TEST(Weights, EveryMissingTensorIsNamedInOneError) {
  const std::string e =
      ErrorOf(Tiny("qwen2", {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}));
  EXPECT_NE(e.find("this qwen2 model lacks 3 tensors it needs: blk.0.attn_q.weight, "
                   "blk.0.attn_k.weight, blk.0.attn_v.weight"), std::string::npos) << e;
}

TEST(ModelConfig, Phi3LongContextRopeFactorsAreRefusedByName) {
  GgufWriter w = Tiny("phi3");
  w.AddTensor("rope_factors_long.weight", GgmlType::F32, {16},
              [](std::span<uint8_t> d) { std::fill(d.begin(), d.end(), 0); });
  EXPECT_NE(ErrorOf(w).find("rope_factors_long/short.weight"), std::string::npos) << ErrorOf(w);
}

TEST(ModelConfig, MissingKeyOfAKnownFamilyIsAnErrorNamingIt) {
  GgufWriter w = Tiny("qwen2");
  w.Remove("qwen2.attention.layer_norm_rms_epsilon");
  EXPECT_NE(ErrorOf(w).find("qwen2.attention.layer_norm_rms_epsilon"), std::string::npos) << ErrorOf(w);
}

TEST(ModelConfig, UnknownRopeScalingIsRefused) {
  GgufWriter w = TinyLlama();
  w.Set("llama.rope.scaling.type", GgufValue::String("longrope"));
  EXPECT_NE(ErrorOf(w).find("rope.scaling.type"), std::string::npos) << ErrorOf(w);
}

TEST(ModelConfig, YarnWithoutAFactorIsRefusedNamingTheKey) {
  GgufWriter w = TinyLlama();
  w.Set("llama.rope.scaling.type", GgufValue::String("yarn"));
  EXPECT_NE(ErrorOf(w).find("rope.scaling.factor"), std::string::npos) << ErrorOf(w);
}

TEST(Weights, MisshapenTensorIsAnErrorNamingIt) {
  GgufWriter w = TinyLlama();
  w.Set("llama.feed_forward_length", GgufValue::U32(128));
  const std::string e = ErrorOf(w);
  EXPECT_NE(e.find("blk.0.ffn_gate.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("[64, 128]"), std::string::npos) << e;
}

TEST(KvCache, SizedFromContextLayersAndKvWidth) {
  const std::vector<uint8_t> bytes = TinyLlama().WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "tiny.gguf");
  const ModelConfig c = ModelConfig::FromGguf(f);
  EXPECT_EQ(KvCache(c, 100, GgmlType::F16).bytes(), 1u * 100 * (32 + 32) * 2);
  EXPECT_EQ(KvCache(c, 100, GgmlType::F32).bytes(), 1u * 100 * (32 + 32) * 4);
  EXPECT_THROW(KvCache(c, 100, GgmlType::Q8_0), Error);
}

TEST(ModelConfig, ReadsSmolLM2) {
  const std::string path = test::ModelsDir() + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found (run scripts/fetch-models)";
  const GgufFile f = GgufFile::Open(path);
  const ModelConfig c = ModelConfig::FromGguf(f);
  EXPECT_EQ(c.n_layer, 30);
  EXPECT_EQ(c.n_embd, 576);
  EXPECT_EQ(c.n_head, 9);
  EXPECT_EQ(c.n_head_kv, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.n_vocab, 49152);
  EXPECT_FLOAT_EQ(c.rope_freq_base, 100000.0f);
  EXPECT_TRUE(c.tied_output);
  const Weights w = Weights::FromGguf(f, c);
  EXPECT_EQ(w.output.type, GgmlType::Q8_0);
  EXPECT_EQ(w.layers[0].wq.type, GgmlType::Q4_1);
}

}  // namespace
}  // namespace ember
