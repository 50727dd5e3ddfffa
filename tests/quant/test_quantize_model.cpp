// `ember quantize` (QuantizeModel): llama.cpp's per-tensor type choices for every supported file
// type on the test models, byte-identical output tensors to llama.cpp's llama_model_quantize
// (tests/data/quant/quantize_model.json, made by scripts/golden/make_quantize_model_golden.py),
// and the behaviour on small synthetic models: metadata, fallbacks, thread-count independence,
// refusals and clean failures.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "quant/golden_file.h"  // tests/quant/golden_file.h
#include "quant/quantize_model.h"

namespace ember {
namespace {

namespace fs = std::filesystem;

std::string ModelsDir() {
  const char* env = std::getenv("EMBER_MODELS");
  return env && *env ? env : std::string(EMBER_SOURCE_DIR) + "/models";
}

const nlohmann::json& Golden() {
  static const nlohmann::json golden = [] {
    std::ifstream in(test::QuantDataDir() + "quantize_model.json");
    return nlohmann::json::parse(in);
  }();
  return golden;
}

// The checksum of make_quantize_model_golden.py: sum of little-endian u64 words (zero-padded)
// times 2i + 1, mod 2^64.
std::string WordSum64(std::span<const uint8_t> bytes) {
  uint64_t total = 0;
  for (size_t i = 0, w = 0; i < bytes.size(); i += 8, ++w) {
    uint64_t word = 0;
    for (size_t k = 0; k < 8 && i + k < bytes.size(); ++k) word |= uint64_t{bytes[i + k]} << (8 * k);
    total += word * (2 * w + 1);
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(total));
  return buf;
}

fs::path TempPath(const std::string& name) {
  return fs::temp_directory_path() / ("ember_quant_test_" + std::to_string(::getpid()) + "_" + name);
}

TEST(QuantizeModel, PicksLlamaCppTypeForEveryTensorInEveryFileType) {
  int checked = 0;
  for (const auto& [model, plans] : Golden()["plans"].items()) {
    const std::string path = ModelsDir() + "/" + model;
    if (!fs::exists(path)) continue;
    for (const auto& [ftype_name, plan] : plans.items()) {
      QuantizeModelOptions o;
      o.input = path;
      o.dry_run = true;
      o.progress = false;
      o.plan.ftype = ParseFileType(ftype_name)->ftype;
      const QuantizeModelReport r = QuantizeModel(o);
      ASSERT_EQ(r.tensors.size(), plan.size()) << model << " " << ftype_name;
      int wrong = 0;
      for (const auto& t : r.tensors) {
        const std::string want = plan.at(t.name).get<std::string>();
        if (std::string(GgmlTypeName(t.to)) != want && ++wrong <= 3) {
          ADD_FAILURE() << model << " " << ftype_name << ": " << t.name << " -> " << GgmlTypeName(t.to)
                        << ", llama.cpp: " << want;
        }
      }
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "test models not found in " << ModelsDir() << " (scripts/fetch-models)";
}

class QuantizeModelBytes : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(QuantizeModelBytes, AreIdenticalToLlamaCpp) {
  const auto [model, ftype_name] = GetParam();
  const std::string path = ModelsDir() + "/" + model;
  if (!fs::exists(path)) GTEST_SKIP() << "test model " << path << " not found (scripts/fetch-models)";
  const auto& want = Golden()["outputs"][model][ftype_name];
  const fs::path out = TempPath(std::string(ftype_name) + ".gguf");
  QuantizeModelOptions o;
  o.input = path;
  o.output = out.string();
  o.allow_requantize = true;
  o.progress = false;
  o.threads = 2;
  o.plan.ftype = ParseFileType(ftype_name)->ftype;
  QuantizeModel(o);
  {
    const GgufFile f = GgufFile::Open(out.string());
    EXPECT_EQ(f.GetU32("general.file_type"), want["file_type"].get<uint32_t>());
    EXPECT_EQ(f.GetU32("general.quantization_version"), 2u);
    std::vector<std::string> keys;
    for (const auto& [k, v] : f.metadata()) keys.push_back(k);
    EXPECT_EQ(keys, want["metadata_keys"].get<std::vector<std::string>>());
    ASSERT_EQ(f.tensors().size(), want["tensors"].size());
    int wrong = 0;
    for (size_t i = 0; i < f.tensors().size(); ++i) {
      const auto& t = f.tensors()[i];
      const auto& w = want["tensors"][i];
      const bool same = t.name == w["name"].get<std::string>() &&
                        std::string(GgmlTypeName(t.type)) == w["type"].get<std::string>() &&
                        WordSum64(t.bytes()) == w["wsum64"].get<std::string>();
      if (!same && ++wrong <= 5) {
        ADD_FAILURE() << "tensor " << i << " " << t.name << " (" << GgmlTypeName(t.type) << ") differs from llama.cpp's "
                      << w["name"] << " (" << w["type"] << ")";
      }
    }
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(f.file_size(), want["size"].get<uint64_t>());
  }
  fs::remove(out);
}

INSTANTIATE_TEST_SUITE_P(TestModels, QuantizeModelBytes,
                         ::testing::Values(std::pair{"SmolLM2-135M-Instruct.Q4_1.gguf", "Q8_0"},
                                           std::pair{"SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_K_M"},
                                           std::pair{"gemma-3-270m-q4_k_m.gguf", "Q4_K_M"}),
                         [](const auto& p) {
                           std::string s = std::string(p.param.first).substr(0, 5) + "_" + p.param.second;
                           for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return s;
                         });

// A small F32 llama-like model: norms (1-D), attention and FFN weights, tied embeddings, and a
// weight whose rows (96) fit no 256-element block.
std::vector<float> Ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i)) * (1.0f + 0.001f * (i % 97));
  return v;
}

struct Synthetic {
  std::vector<std::vector<float>> data;
  GgufWriter writer;
  void Add(const std::string& name, std::vector<uint64_t> shape, float scale) {
    size_t n = 1;
    for (auto d : shape) n *= d;
    data.push_back(Ramp(n, scale));
    const auto& v = data.back();
    writer.AddTensor(name, GgmlType::F32, shape,
                     std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), n * sizeof(float)));
  }
};

void WriteSynthetic(const fs::path& path, float poison = 0.0f) {
  Synthetic s;
  s.writer.Set("general.architecture", GgufValue::String("llama"));
  s.writer.Set("general.name", GgufValue::String("synthetic"));
  s.writer.Set("llama.block_count", GgufValue::U32(2));
  s.writer.Set("llama.attention.head_count", GgufValue::U32(4));
  s.writer.Set("llama.attention.head_count_kv", GgufValue::U32(1));
  s.writer.Set("general.file_type", GgufValue::U32(0));
  s.Add("token_embd.weight", {256, 64}, 0.5f);
  s.Add("output_norm.weight", {256}, 1.0f);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    s.Add(p + "attn_norm.weight", {256}, 1.0f);
    s.Add(p + "attn_q.weight", {256, 256}, 0.05f);
    s.Add(p + "attn_k.weight", {256, 64}, 0.05f);
    s.Add(p + "attn_v.weight", {256, 64}, 0.05f);
    s.Add(p + "attn_output.weight", {256, 256}, 0.05f);
    s.Add(p + "ffn_norm.weight", {256}, 1.0f);
    s.Add(p + "ffn_up.weight", {256, 96}, 0.05f);
    s.Add(p + "ffn_gate.weight", {256, 96}, 0.05f);
    s.Add(p + "ffn_down.weight", {96, 256}, 0.05f);  // rows of 96: K-quants fall back
  }
  if (poison != 0.0f) s.data[3][5] = poison;  // blk.0.attn_q.weight
  s.writer.Write(path.string());
}

QuantizeModelOptions Options(const fs::path& in, const fs::path& out, const char* ftype, int threads = 2) {
  QuantizeModelOptions o;
  o.input = in.string();
  o.output = out.string();
  o.progress = false;
  o.threads = threads;
  o.plan.ftype = ParseFileType(ftype)->ftype;
  return o;
}

TEST(QuantizeModel, KeepsNormsF32AndFallsBackOnOddRowLengths) {
  const fs::path in = TempPath("syn.gguf");
  const fs::path out = TempPath("syn_q4km.gguf");
  WriteSynthetic(in);
  const QuantizeModelReport r = QuantizeModel(Options(in, out, "Q4_K_M"));
  const GgufFile f = GgufFile::Open(out.string());
  EXPECT_EQ(f.GetU32("general.file_type"), 15u);
  EXPECT_EQ(f.GetString("general.name"), "synthetic");
  EXPECT_EQ(f.GetTensor("output_norm.weight").type, GgmlType::F32);
  EXPECT_EQ(f.GetTensor("blk.1.ffn_norm.weight").type, GgmlType::F32);
  EXPECT_EQ(f.GetTensor("token_embd.weight").type, GgmlType::Q6_K);    // tied: output's type
  EXPECT_EQ(f.GetTensor("blk.0.attn_q.weight").type, GgmlType::Q4_K);
  // Q4_K_M gives attn_v / ffn_down Q6_K in llama.cpp's "more bits" layers (here layer 1 of 2).
  EXPECT_EQ(f.GetTensor("blk.0.attn_v.weight").type, GgmlType::Q4_K);
  EXPECT_EQ(f.GetTensor("blk.1.attn_v.weight").type, GgmlType::Q6_K);
  EXPECT_EQ(f.GetTensor("blk.0.ffn_down.weight").type, GgmlType::Q5_0);  // Q4_K, rows of 96 -> Q5_0
  EXPECT_EQ(f.GetTensor("blk.1.ffn_down.weight").type, GgmlType::Q8_0);  // Q6_K, rows of 96 -> Q8_0
  EXPECT_EQ(f.GetTensor("blk.0.ffn_up.weight").type, GgmlType::Q4_K);
  EXPECT_EQ(r.n_fallback, 2);
  // The first tensors in llama.cpp's order: non-layer tensors by name, then layer 0.
  EXPECT_EQ(f.tensors()[0].name, "output_norm.weight");
  EXPECT_EQ(f.tensors()[1].name, "token_embd.weight");
  EXPECT_EQ(f.tensors()[2].name, "blk.0.attn_k.weight");
  EXPECT_GT(r.bpw_in(), 31.9);
  EXPECT_LT(r.bpw_out(), 7.0);
  fs::remove(in);
  fs::remove(out);
}

TEST(QuantizeModel, OutputDoesNotDependOnTheThreadCount) {
  const fs::path in = TempPath("syn_t.gguf");
  WriteSynthetic(in);
  std::vector<std::vector<uint8_t>> files;
  for (int threads : {1, 3}) {
    const fs::path out = TempPath("syn_t" + std::to_string(threads) + ".gguf");
    QuantizeModel(Options(in, out, "Q5_K_M", threads));
    std::ifstream f(out, std::ios::binary);
    files.emplace_back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    fs::remove(out);
  }
  EXPECT_EQ(files[0], files[1]);
  fs::remove(in);
}

TEST(QuantizeModel, RefusesAlreadyQuantizedInputUnlessAllowed) {
  const fs::path in = TempPath("syn_rq.gguf");
  const fs::path q8 = TempPath("syn_rq_q8.gguf");
  const fs::path out = TempPath("syn_rq_q4.gguf");
  WriteSynthetic(in);
  QuantizeModel(Options(in, q8, "Q8_0"));
  try {
    QuantizeModel(Options(q8, out, "Q4_0"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--allow-requantize"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
  auto o = Options(q8, out, "Q4_0");
  o.allow_requantize = true;
  QuantizeModel(o);
  EXPECT_EQ(GgufFile::Open(out.string()).GetTensor("blk.0.attn_q.weight").type, GgmlType::Q4_0);
  fs::remove(in);
  fs::remove(q8);
  fs::remove(out);
}

TEST(QuantizeModel, FailsCleanlyOnNonFiniteWeights) {
  const fs::path in = TempPath("syn_nan.gguf");
  const fs::path out = TempPath("syn_nan_q4.gguf");
  WriteSynthetic(in, std::numeric_limits<float>::quiet_NaN());
  try {
    QuantizeModel(Options(in, out, "Q4_0"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  fs::remove(in);
}

TEST(QuantizeModel, ParsesLlamaQuantizeTypeNamesAndIds) {
  EXPECT_EQ(ParseFileType("q4_k_m")->ftype, LlamaFileType::MOSTLY_Q4_K_M);
  EXPECT_EQ(ParseFileType("Q4_K")->ftype, LlamaFileType::MOSTLY_Q4_K_M);
  EXPECT_EQ(ParseFileType("15")->ftype, LlamaFileType::MOSTLY_Q4_K_M);
  EXPECT_EQ(ParseFileType("7")->ftype, LlamaFileType::MOSTLY_Q8_0);
  EXPECT_FALSE(ParseFileType("Q4_K_X").has_value());
  EXPECT_FALSE(ParseFileType("").has_value());
  EXPECT_FALSE(ParseFileType("IQ2_XXS")->supported);
  EXPECT_FALSE(ParseFileType("Q2_K_S")->supported);  // needs an importance matrix
}

}  // namespace
}  // namespace ember
